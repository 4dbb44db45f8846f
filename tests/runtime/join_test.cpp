// join and join_all. Ports tokio's tests/macros_join.rs where it applies:
//   sync_one_lit_expr_*, sync_two_lit_expr_*  -> ImmediateBranchesGiveATupleWithoutSuspending
//   two_await                                 -> BranchesWaitingOnDifferentEventsBothComplete
//   join_size                                 left out: Rust future sizes, no C++ analogue
//   join_does_not_allow_tasks_to_starve       left out: needs semaphore and the cooperative
//                                             budget (later issues)
//   a_different_future_is_polled_first_every_time_poll_fn_is_polled
//                                             left out: kyoto does not poll; it resumes the
//                                             branches that were woken, in wake order (FIFO),
//                                             which is fair by construction
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

namespace {

kyoto::task<int> immediate(int v) {
  co_return v;
}

kyoto::task<std::string> immediate_str(std::string s) {
  co_return s;
}

kyoto::task<> nothing() {
  co_return;
}

KYOTO_TEST(Join, ImmediateBranchesGiveATupleWithoutSuspending) {
  auto [a] = co_await kyoto::join(immediate(1));
  EXPECT_EQ(a, 1);
  auto t = co_await kyoto::join(immediate(1), immediate_str("two"));
  EXPECT_EQ(t, std::make_tuple(1, std::string("two")));
}

KYOTO_TEST(Join, VoidBranchesGiveMonostate) {
  auto t = co_await kyoto::join(nothing(), immediate(3));
  static_assert(std::is_same_v<decltype(t), std::tuple<std::monostate, int>>);
  EXPECT_EQ(std::get<1>(t), 3);
}

KYOTO_TEST(Join, BranchesWaitingOnDifferentEventsBothComplete) {
  auto [tx1, rx1] = kyoto::sync::oneshot::channel<std::string>();
  auto [tx2, rx2] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<std::string> r1,
         kyoto::sync::oneshot::receiver<int> r2) -> kyoto::task<std::tuple<std::string, int>> {
        auto [a, b] = co_await kyoto::join(std::move(r1), std::move(r2));
        co_return std::make_tuple(a.value(), b.value());
      },
      std::move(rx1), std::move(rx2));
  co_await kyoto::yield_now();
  EXPECT_FALSE(h.is_finished());
  tx2.send(123).value();
  co_await kyoto::yield_now();
  EXPECT_FALSE(h.is_finished());  // still waiting for the first branch
  tx1.send("hello").value();
  EXPECT_EQ(co_await h, std::make_tuple(std::string("hello"), 123));
}

// The branches run concurrently inside one task: while one waits, the
// other runs (a ping-pong between two branches over two channels).
KYOTO_TEST(Join, WhileOneBranchWaitsTheOthersRun) {
  auto [to_b, from_a] = kyoto::sync::mpsc::channel<int>(1);
  auto [to_a, from_b] = kyoto::sync::mpsc::channel<int>(1);
  std::vector<std::string> log;
  auto a = [](kyoto::sync::mpsc::sender<int>& out, kyoto::sync::mpsc::receiver<int>& in,
              std::vector<std::string>& events) -> kyoto::task<int> {
    int v = 0;
    for (int i = 0; i < 3; ++i) {
      events.push_back("a sends " + std::to_string(v));
      (co_await out.send(v)).value();
      v = *co_await in.recv() + 1;
    }
    co_return v;
  };
  auto b = [](kyoto::sync::mpsc::receiver<int>& in, kyoto::sync::mpsc::sender<int>& out,
              std::vector<std::string>& events) -> kyoto::task<> {
    for (int i = 0; i < 3; ++i) {
      const int v = *co_await in.recv();
      events.push_back("b got " + std::to_string(v));
      (co_await out.send(v + 1)).value();
    }
  };
  auto [ra, rb] = co_await kyoto::join(a(to_b, from_b, log), b(from_a, to_a, log));
  EXPECT_EQ(ra, 6);
  EXPECT_EQ(log, (std::vector<std::string>{"a sends 0", "b got 0", "a sends 2", "b got 2",
                                           "a sends 4", "b got 4"}));
}

// The branches are resumed by the awaiting task, one at a time: never two
// at once, even on a multi_thread runtime where the task may move between
// workers from one suspension to the next.
KYOTO_TEST(Join, BranchesNeverRunAtTheSameTime) {
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  auto branch = [](std::atomic<int>& in, std::atomic<int>& over) -> kyoto::task<> {
    for (int i = 0; i < 200; ++i) {
      if (in.fetch_add(1) != 0) over.fetch_add(1);
      const auto until = std::chrono::steady_clock::now() + 2us;  // a little work
      while (std::chrono::steady_clock::now() < until) {
      }
      in.fetch_sub(1);
      co_await kyoto::yield_now();
    }
  };
  co_await kyoto::join(branch(inside, overlaps), branch(inside, overlaps),
                       branch(inside, overlaps));
  EXPECT_EQ(overlaps.load(), 0);
}

kyoto::task<int> fail_after_yield() {
  co_await kyoto::yield_now();
  throw std::runtime_error("branch failed");
}

kyoto::task<int> wait_forever(std::atomic<int>& dropped) {
  kyoto::test::drop_counter guard(dropped);
  co_await kyoto::time::sleep(1h);
  co_return 0;
}

KYOTO_TEST(Join, AThrowingBranchCancelsTheOthersAndRethrows) {
  std::atomic<int> dropped{0};
  co_await kyoto::test::expect_throws_async<std::runtime_error>(
      [&] { return kyoto::join(wait_forever(dropped), fail_after_yield(), wait_forever(dropped)); },
      kyoto::test::whole_message("branch failed"));
  EXPECT_EQ(dropped.load(), 2);
}

kyoto::task<int> fail_at_once() {
  throw std::runtime_error("failed at once");
  co_return 0;
}

KYOTO_TEST(Join, ABranchThrowingBeforeSuspendingSkipsTheRest) {
  bool third_ran = false;
  auto third = [](bool& ran) -> kyoto::task<int> {
    ran = true;
    co_return 3;
  };
  EXPECT_THROW(co_await kyoto::join(immediate(1), fail_at_once(), third(third_ran)),
               std::runtime_error);
  EXPECT_FALSE(third_ran);
}

KYOTO_TEST(Join, CancellingTheAwaitingTaskCancelsEveryBranch) {
  std::atomic<int> dropped{0};
  auto h = kyoto::spawn(
      [](std::atomic<int>& d) -> kyoto::task<> {
        co_await kyoto::join(wait_forever(d), wait_forever(d), wait_forever(d));
      },
      std::ref(dropped));
  co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), 0);
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 3);
}

// A branch woken (queued to resume) and then cancelled by a sibling's
// failure in the same run must never be resumed.
KYOTO_TEST(Join, ABranchWokenThenCancelledIsNeverResumed) {
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  bool resumed = false;
  auto waiter = [](kyoto::sync::mpsc::receiver<int>& in, bool& r) -> kyoto::task<int> {
    auto v = co_await in.recv();
    r = true;
    co_return *v;
  };
  auto trigger = [](kyoto::sync::mpsc::unbounded_sender<int>& out) -> kyoto::task<int> {
    co_await kyoto::yield_now();
    out.send(1).value();  // wakes the waiter branch of the same task
    throw std::runtime_error("then fails");
  };
  EXPECT_THROW(co_await kyoto::join(waiter(rx, resumed), trigger(tx)), std::runtime_error);
  EXPECT_FALSE(resumed);
  EXPECT_EQ(rx.try_recv().value(), 1);  // the value stayed in the channel
}

// Awaiters are movable until awaited, so operations pass to join directly.
KYOTO_TEST(Join, ChannelOperationsAndSleepsJoinDirectly) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  auto [sent, got, slept] = co_await kyoto::join(tx.send(7), rx.recv(), kyoto::time::sleep(1ms));
  EXPECT_TRUE(sent.has_value());
  EXPECT_EQ(got, std::optional<int>(7));
  (void)slept;
}

// A sleep passed to a join whose other branch fails is destroyed with its
// branch: its timer must not fire into the cancelled branch later.
KYOTO_TEST(Join, AnOperandOfACancelledBranchIsDestroyedWithIt) {
  EXPECT_THROW(co_await kyoto::join(kyoto::time::sleep(5ms), fail_after_yield()),
               std::runtime_error);
  co_await kyoto::time::sleep(20ms);  // past the cancelled timer's deadline
}

kyoto::task<int> sleep_then(std::atomic<int>& dropped, int v) {
  kyoto::test::drop_counter guard(dropped);
  co_await kyoto::time::sleep(5ms);
  co_return v;
}

// An lvalue task awaited by a branch that is cancelled is cancelled too
// (it could never return to the branch) and left empty.
KYOTO_TEST(Join, AnLvalueTaskOfACancelledBranchIsCancelledAndLeftEmpty) {
  std::atomic<int> dropped{0};
  kyoto::task<int> t = sleep_then(dropped, 1);
  EXPECT_THROW(co_await kyoto::join(t, fail_after_yield()), std::runtime_error);
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_FALSE(t.valid());
  co_await kyoto::time::sleep(20ms);  // past the cancelled task's timer
  EXPECT_THROW(co_await t, std::logic_error);
}

// A bare awaiter passed as an lvalue would stay registered with a cancelled
// branch, so join rejects it at compile time; rvalues and lvalues that make
// a fresh awaiter (tasks, join_handles, oneshot receivers) are accepted.
template <class... A>
concept joinable = requires(A&&... a) { kyoto::join(std::forward<A>(a)...); };
static_assert(!joinable<kyoto::time::sleep_awaiter&>);
static_assert(joinable<kyoto::time::sleep_awaiter>);
static_assert(joinable<kyoto::task<int>&>);
static_assert(joinable<kyoto::join_handle<int>&>);
static_assert(joinable<kyoto::sync::oneshot::receiver<int>&>);

KYOTO_TEST(Join, LvalueArgumentsAreAwaitedInPlace) {
  auto h1 = kyoto::spawn(immediate(1));
  auto h2 = kyoto::spawn(immediate(2));
  auto [a, b] = co_await kyoto::join(h1, h2);
  EXPECT_EQ(a + b, 3);
  EXPECT_THROW(co_await h1, std::logic_error);  // h1's result was taken
}

KYOTO_TEST(Join, JoinAllGivesResultsInInputOrder) {
  std::vector<kyoto::task<int>> tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back([](int v) -> kyoto::task<int> {
      for (int k = 0; k < 10 - v; ++k)
        co_await kyoto::yield_now();  // later ones finish first
      co_return v;
    }(i));
  }
  std::vector<int> out = co_await kyoto::join_all(std::move(tasks));
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

KYOTO_TEST(Join, JoinAllOfHandlesAwaitsSpawnedTasks) {
  std::vector<kyoto::join_handle<int>> handles;
  for (int i = 0; i < 100; ++i)
    handles.push_back(kyoto::spawn(immediate(i)));
  std::vector<int> out = co_await kyoto::join_all(handles);  // in place
  long sum = 0;
  for (int v : out)
    sum += v;
  EXPECT_EQ(sum, 99 * 100 / 2);
}

KYOTO_TEST(Join, JoinAllOfVoidTasksReturnsVoid) {
  int count = 0;
  std::vector<kyoto::task<>> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back([](int& c) -> kyoto::task<> {
      co_await kyoto::yield_now();
      ++c;
    }(count));
  }
  static_assert(std::is_void_v<decltype(kyoto::join_all(std::move(tasks)).await_resume())>);
  co_await kyoto::join_all(std::move(tasks));
  EXPECT_EQ(count, 5);
}

KYOTO_TEST(Join, JoinAllOfNothingCompletesAtOnce) {
  std::vector<kyoto::task<int>> none;
  EXPECT_TRUE((co_await kyoto::join_all(std::move(none))).empty());
}

KYOTO_TEST(Join, JoinAllRethrowsTheFirstFailure) {
  std::vector<kyoto::task<int>> tasks;
  tasks.push_back(immediate(1));
  tasks.push_back(fail_after_yield());
  EXPECT_THROW(co_await kyoto::join_all(std::move(tasks)), std::runtime_error);
}

}  // namespace
