// time::timeout and timeout_at. Ports tokio's tests/time_timeout.rs (tokio
// 1.24) and the examples of its timeout docs, then checks what kyoto's
// cancellation promises: a timed-out operation is destroyed before timeout
// returns. tokio's tests run on a paused clock; these run on the real one,
// so deadlines that must not pass are 10 s away (the tests never wait for
// them), and elapsed ones are only checked not to be early.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

using namespace std::chrono_literals;
namespace ktime = kyoto::time;
namespace oneshot = kyoto::sync::oneshot;
namespace mpsc = kyoto::sync::mpsc;
using kclock = kyoto::time::clock;

namespace {

constexpr auto never = 10s;  // a deadline no test waits for

kyoto::task<int> immediate(int v) {
  co_return v;
}

kyoto::task<> nothing() {
  co_return;
}

/// Waits forever (it keeps its receiver's sender), counting its drop.
kyoto::task<int> pending_forever(kyoto::test::drop_counter guard) {
  auto [tx, rx] = oneshot::channel<int>();
  auto r = co_await rx;
  (void)guard;
  co_return r.value();
}

/// Sets `*polled`, then waits forever.
kyoto::task<> mark_then_wait(bool* polled, kyoto::test::drop_counter guard) {
  *polled = true;
  co_await pending_forever(std::move(guard));
}

kyoto::task<int> throws_at_once() {
  throw std::runtime_error("inner failed");
  co_return 0;
}

kyoto::task<int> throws_after_yield() {
  co_await kyoto::yield_now();
  throw std::runtime_error("inner failed later");
  co_return 0;
}

/// An always-ready operation in a loop that never ends (tokio's read of
/// io::empty()): each receive completes at once, spending the budget.
kyoto::task<> spin_on_ready_channel() {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  for (;;) {
    (void)tx.send(1);
    std::optional<int> v = co_await rx.recv();
    (void)v;
  }
}

/// An awaiter whose await_suspend returns a coroutine to transfer to (a
/// no-op one: it suspends), wrapping a oneshot receive.
class transferring_recv {
 public:
  explicit transferring_recv(oneshot::receiver<int>& rx) : rx_(&rx) {}
  transferring_recv(transferring_recv&& o) noexcept : rx_(o.rx_) {}
  bool await_ready() { return inner().await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    inner().await_suspend(h);  // void: it always waits
    return std::noop_coroutine();
  }
  int await_resume() { return inner().await_resume().value(); }

 private:
  using inner_awaiter =
      decltype(kyoto::detail::get_awaiter(std::declval<oneshot::receiver<int>&>()));
  inner_awaiter& inner() {
    if (!aw_) aw_.emplace(kyoto::detail::get_awaiter(*rx_));
    return *aw_;
  }
  oneshot::receiver<int>* rx_;
  std::optional<inner_awaiter> aw_;
};

// ---- tokio's tests/time_timeout.rs ----

// tokio: simultaneous_deadline_future_completion
KYOTO_TEST(Timeout, ReadyOperationWinsOverADeadlineOfNow) {
  auto r = co_await ktime::timeout_at(kclock::now(), nothing());
  EXPECT_TRUE(r.has_value());
  auto v = co_await ktime::timeout_at(kclock::now(), immediate(7));
  KYOTO_ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 7);
}

// tokio: completed_future_past_deadline
KYOTO_TEST(Timeout, ReadyOperationWinsOverAPastDeadline) {
  auto r = co_await ktime::timeout_at(kclock::now() - 1s, immediate(1));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1);
}

// tokio: future_and_deadline_in_future
KYOTO_CT_TEST(Timeout, OperationCompletingBeforeTheDeadlineGivesItsValue) {
  auto [tx, rx] = oneshot::channel<int>();
  // Runs only once the timeout below waits.
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t) -> kyoto::task<> {
        (void)t.send(5);
        co_return;
      },
      std::move(tx));
  auto r = co_await ktime::timeout_at(kclock::now() + never, std::move(rx));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 5);
  co_await sender;
}

// tokio: future_and_timeout_in_future
KYOTO_CT_TEST(Timeout, OperationCompletingBeforeTheDurationGivesItsValue) {
  auto [tx, rx] = oneshot::channel<int>();
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t) -> kyoto::task<> {
        (void)t.send(6);
        co_return;
      },
      std::move(tx));
  auto r = co_await ktime::timeout(never, std::move(rx));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 6);
  co_await sender;
}

// tokio: very_large_timeout
KYOTO_CT_TEST(Timeout, DurationTooLongForTheClockNeverElapses) {
  auto bounded = ktime::timeout(std::chrono::hours::max(), nothing());
  EXPECT_EQ(bounded.deadline(), ktime::instant::max());
  auto r0 = co_await std::move(bounded);
  EXPECT_TRUE(r0.has_value());

  auto [tx, rx] = oneshot::channel<int>();
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t) -> kyoto::task<> {
        (void)t.send(8);
        co_return;
      },
      std::move(tx));
  auto r = co_await ktime::timeout(std::chrono::nanoseconds::max(), std::move(rx));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 8);
  co_await sender;
}

// tokio: deadline_now_elapses
KYOTO_TEST(Timeout, PendingOperationElapsesAtADeadlineOfNow) {
  std::atomic<int> drops{0};
  auto r =
      co_await ktime::timeout_at(kclock::now(), pending_forever(kyoto::test::drop_counter(drops)));
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_STREQ(r.error().what(), "deadline has elapsed");
  EXPECT_EQ(drops.load(), 1);
}

// tokio: deadline_future_elapses
KYOTO_TEST(Timeout, PendingOperationElapsesNoEarlierThanTheDeadline) {
  std::atomic<int> drops{0};
  const auto deadline = kclock::now() + 20ms;
  auto r = co_await ktime::timeout_at(deadline, pending_forever(kyoto::test::drop_counter(drops)));
  EXPECT_GE(kclock::now(), deadline);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(drops.load(), 1);
}

// tokio: timeout_is_not_exhausted_by_future
KYOTO_TEST(Timeout, ElapsesWhileTheOperationSpendsTheWholeBudget) {
  auto r = co_await ktime::timeout(1ms, spin_on_ready_channel());
  EXPECT_FALSE(r.has_value());
}

// ---- cancellation ----

KYOTO_TEST(Timeout, TimedOutOperationIsDestroyedBeforeTimeoutReturns) {
  std::atomic<int> drops{0};
  auto r = co_await ktime::timeout(5ms, pending_forever(kyoto::test::drop_counter(drops)));
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(drops.load(), 1);  // not later, with the awaiter: already
}

KYOTO_TEST(Timeout, NeverCompletingRecvElapsesAndLosesNoMessage) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto r = co_await ktime::timeout(5ms, rx.recv());
  EXPECT_FALSE(r.has_value());
  auto sent = co_await tx.send(3);
  KYOTO_ASSERT_TRUE(sent.has_value());
  auto again = co_await ktime::timeout(never, rx.recv());
  KYOTO_ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, std::optional<int>(3));
}

KYOTO_TEST(Timeout, ElapsedNotifiedKeepsTheNextPermit) {
  kyoto::sync::notify n;
  auto r = co_await ktime::timeout(5ms, n.notified());
  EXPECT_FALSE(r.has_value());
  n.notify_one();  // nobody waits: stored as the permit
  auto again = co_await ktime::timeout(never, n.notified());
  EXPECT_TRUE(again.has_value());
}

KYOTO_TEST(Timeout, CancellingTheAwaitingTaskCancelsOperationAndTimer) {
  std::atomic<int> drops{0};
  auto h = kyoto::spawn(
      [](kyoto::test::drop_counter guard) -> kyoto::task<> {
        auto r = co_await ktime::timeout(30ms, pending_forever(std::move(guard)));
        (void)r;
        ADD_FAILURE() << "the aborted task resumed";
      },
      kyoto::test::drop_counter(drops));
  co_await kyoto::yield_now();
  h.abort();
  const bool cancelled = co_await kyoto::test::was_cancelled(h);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(drops.load(), 1);
  co_await ktime::sleep(40ms);  // past the cancelled deadline: its timer must not fire
}

// ---- operands ----

KYOTO_TEST(Timeout, JoinHandleGivesTheTasksValue) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    co_return 11;
  });
  auto r = co_await ktime::timeout(never, h);
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 11);
}

KYOTO_TEST(Timeout, TimedOutJoinHandleLeavesTheTaskRunning) {
  auto [go_tx, go_rx] = oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](oneshot::receiver<int> go) -> kyoto::task<int> {
        auto v = co_await go;
        co_return v.value() + 1;
      },
      std::move(go_rx));
  auto r = co_await ktime::timeout(5ms, h);  // an lvalue: only this await is cancelled
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(h.is_finished());
  (void)go_tx.send(41);
  const int v = co_await h;
  EXPECT_EQ(v, 42);
}

KYOTO_TEST(Timeout, TimedOutJoinHandleRvalueDetachesTheTask) {
  auto [go_tx, go_rx] = oneshot::channel<int>();
  auto [done_tx, done_rx] = oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](oneshot::receiver<int> go, oneshot::sender<int> done) -> kyoto::task<> {
        auto v = co_await go;
        (void)done.send(v.value());
      },
      std::move(go_rx), std::move(done_tx));
  auto r = co_await ktime::timeout(5ms, std::move(h));  // the handle is dropped: detached
  EXPECT_FALSE(r.has_value());
  (void)go_tx.send(9);
  auto done = co_await done_rx;
  EXPECT_EQ(done.value(), 9);
}

KYOTO_TEST(Timeout, LvalueTaskKeepsItsProgressAcrossTimeouts) {
  auto [tx, rx] = oneshot::channel<int>();
  int starts = 0;
  auto body = [](oneshot::receiver<int> r, int* started) -> kyoto::task<int> {
    ++*started;
    auto v = co_await r;
    co_return v.value() * 2;
  };
  kyoto::task<int> t = body(std::move(rx), &starts);
  auto first = co_await ktime::timeout(5ms, t);
  EXPECT_FALSE(first.has_value());
  EXPECT_TRUE(t.valid());  // left running in place, not destroyed
  (void)tx.send(21);
  auto second = co_await ktime::timeout(never, t);
  KYOTO_ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, 42);
  EXPECT_EQ(starts, 1);
  EXPECT_FALSE(t.valid());  // finished: its value was taken
}

KYOTO_TEST(Timeout, LvalueSleepKeepsItsDeadline) {
  auto s = ktime::sleep(30ms);
  auto first = co_await ktime::timeout(1ms, s);
  EXPECT_FALSE(first.has_value());
  auto second = co_await ktime::timeout(never, s);
  EXPECT_TRUE(second.has_value());
  EXPECT_GE(kclock::now(), s.deadline());
}

KYOTO_TEST(Timeout, VoidOperationGivesAResultOfVoid) {
  auto r = co_await ktime::timeout(never, nothing());
  static_assert(std::is_same_v<decltype(r), kyoto::result<void, ktime::elapsed>>);
  EXPECT_TRUE(r.has_value());
  auto y = co_await ktime::timeout(never, kyoto::yield_now());
  EXPECT_TRUE(y.has_value());
}

KYOTO_TEST(Timeout, AwaiterReturningACoroutineToTransferTo) {
  auto [tx, rx] = oneshot::channel<int>();
  auto elapsed_at_once = co_await ktime::timeout(0ms, transferring_recv(rx));
  EXPECT_FALSE(elapsed_at_once.has_value());
  auto elapsed_later = co_await ktime::timeout(5ms, transferring_recv(rx));
  EXPECT_FALSE(elapsed_later.has_value());
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t) -> kyoto::task<> {
        (void)t.send(4);
        co_return;
      },
      std::move(tx));
  auto r = co_await ktime::timeout(never, transferring_recv(rx));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 4);
  co_await sender;
}

KYOTO_TEST(Timeout, AwaiterIsMovableUntilAwaited) {
  auto t = ktime::timeout(never, immediate(4));
  auto moved = std::move(t);
  auto r = co_await moved;
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 4);
}

// ---- deadlines and errors ----

KYOTO_CT_TEST(Timeout, ZeroDurationPollsTheOperationOnceWithoutSuspending) {
  bool other_ran = false;
  auto other = kyoto::spawn(
      [](bool* ran) -> kyoto::task<> {
        *ran = true;
        co_return;
      },
      &other_ran);
  auto ready = co_await ktime::timeout(0ms, immediate(3));
  KYOTO_ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(*ready, 3);

  std::atomic<int> drops{0};
  bool polled = false;
  auto r = co_await ktime::timeout(0ms, mark_then_wait(&polled, kyoto::test::drop_counter(drops)));
  EXPECT_FALSE(r.has_value());
  EXPECT_TRUE(polled);  // tokio polls the inner future once before the delay
  EXPECT_EQ(drops.load(), 1);

  polled = false;
  auto negative =
      co_await ktime::timeout(-5ms, mark_then_wait(&polled, kyoto::test::drop_counter(drops)));
  EXPECT_FALSE(negative.has_value());
  EXPECT_TRUE(polled);
  EXPECT_EQ(drops.load(), 2);
  EXPECT_FALSE(other_ran);  // none of the above suspended
  co_await other;
}

KYOTO_CT_TEST(Timeout, OperationCompletingAtTheDeadlineWins) {
  const auto deadline = kclock::now() + 10ms;
  auto r = co_await ktime::timeout_at(deadline, ktime::sleep_until(deadline));
  EXPECT_TRUE(r.has_value());
}

// The timer and a wake-up of the operation (by another task's timer of the
// same tick) both land before the task runs: the operation's value wins, as
// tokio polls the inner future first.
KYOTO_CT_TEST(Timeout, OperationWokenInTheSameTickAsTheTimerWins) {
  const auto deadline = kclock::now() + 10ms;
  auto [tx, rx] = oneshot::channel<int>();
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t, ktime::instant at) -> kyoto::task<> {
        co_await ktime::sleep_until(at);  // registered before the timeout's timer
        (void)t.send(12);
      },
      std::move(tx), deadline);
  co_await kyoto::yield_now();  // the sender registers its sleep
  auto r = co_await ktime::timeout_at(deadline, std::move(rx));
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 12);
  co_await sender;
}

KYOTO_TEST(Timeout, ExceptionFromTheOperationPropagates) {
  EXPECT_THROW((void)co_await ktime::timeout(never, throws_at_once()), std::runtime_error);
  EXPECT_THROW((void)co_await ktime::timeout(never, throws_after_yield()), std::runtime_error);
  co_await ktime::sleep(1ms);
}

KYOTO_TEST(Timeout, ElapsedDescribesItself) {
  EXPECT_STREQ(ktime::elapsed{}.what(), "deadline has elapsed");
  EXPECT_TRUE(ktime::elapsed{} == ktime::elapsed{});
  kyoto::result<int, ktime::elapsed> r = kyoto::unexpected<ktime::elapsed>(ktime::elapsed{});
  kyoto::test::expect_throws<kyoto::bad_result_access>([&] { (void)r.value(); },
                                                       "deadline has elapsed");
  co_return;
}

// ---- composition ----

KYOTO_TEST(Timeout, NestedTimeoutsEachKeepTheirOwnDeadline) {
  std::atomic<int> drops{0};
  // The inner one elapses first: the outer gives the inner's elapsed.
  auto inner_first = co_await ktime::timeout(
      never, ktime::timeout(5ms, pending_forever(kyoto::test::drop_counter(drops))));
  KYOTO_ASSERT_TRUE(inner_first.has_value());
  EXPECT_FALSE(inner_first->has_value());
  EXPECT_EQ(drops.load(), 1);

  // The outer one elapses first: it cancels the inner timeout, timer and all.
  auto outer_first = co_await ktime::timeout(
      5ms, ktime::timeout(30ms, pending_forever(kyoto::test::drop_counter(drops))));
  EXPECT_FALSE(outer_first.has_value());
  EXPECT_EQ(drops.load(), 2);

  auto all_ready =
      co_await ktime::timeout(never, ktime::timeout(never, ktime::timeout(never, immediate(1))));
  KYOTO_ASSERT_TRUE(all_ready.has_value() && all_ready->has_value() && (*all_ready)->has_value());
  EXPECT_EQ(**(*all_ready), 1);
  co_await ktime::sleep(40ms);  // past the cancelled inner deadline: its timer must not fire
}

KYOTO_TEST(Timeout, TimeoutInASelectLoop) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto [quiet_tx, quiet_rx] = mpsc::unbounded_channel<int>();
  for (int i = 1; i <= 3; ++i)
    (void)tx.send(i);
  std::vector<int> got;
  bool timed_out = false;
  while (!timed_out) {
    auto v = co_await kyoto::select_biased(ktime::timeout(5ms, rx.recv()), quiet_rx.recv());
    KYOTO_ASSERT_EQ(v.index(), 0u);
    auto& r = std::get<0>(v);
    if (r.has_value()) {
      got.push_back(r->value());
    } else {
      timed_out = true;  // nothing came within 5 ms
    }
  }
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));

  // A losing timeout branch is cancelled with its timer and its recv: the
  // quiet channel's next message is still there.
  (void)tx.send(4);
  auto w = co_await kyoto::select_biased(rx.recv(), ktime::timeout(30ms, quiet_rx.recv()));
  KYOTO_ASSERT_EQ(w.index(), 0u);
  EXPECT_EQ(std::get<0>(w), std::optional<int>(4));
  (void)quiet_tx.send(5);
  std::optional<int> five = co_await quiet_rx.recv();
  EXPECT_EQ(five, std::optional<int>(5));

  // A timeout around a select cancels the whole select.
  auto s = co_await ktime::timeout(5ms, kyoto::select(rx.recv(), quiet_rx.recv()));
  EXPECT_FALSE(s.has_value());
  co_await ktime::sleep(40ms);  // past the cancelled 30 ms deadline
}

KYOTO_TEST(Timeout, TimeoutsJoinedTogether) {
  std::atomic<int> drops{0};
  auto [a, b] =
      co_await kyoto::join(ktime::timeout(5ms, pending_forever(kyoto::test::drop_counter(drops))),
                           ktime::timeout(never, immediate(2)));
  EXPECT_FALSE(a.has_value());
  KYOTO_ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(drops.load(), 1);
}

// ---- every runtime flavour ----

class TimeoutFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

kyoto::task<> value_and_elapsed_and_budget(std::atomic<int>* drops) {
  auto ok = co_await ktime::timeout(never, immediate(5));
  EXPECT_TRUE(ok.has_value() && *ok == 5);
  auto [tx, rx] = oneshot::channel<int>();
  auto sender = kyoto::spawn(
      [](oneshot::sender<int> t) -> kyoto::task<> {
        co_await kyoto::yield_now();
        (void)t.send(6);
      },
      std::move(tx));
  auto later = co_await ktime::timeout(never, std::move(rx));
  EXPECT_TRUE(later.has_value() && later->value() == 6);
  co_await sender;
  const auto start = kclock::now();
  auto late = co_await ktime::timeout(10ms, pending_forever(kyoto::test::drop_counter(*drops)));
  EXPECT_FALSE(late.has_value());
  EXPECT_GE(kclock::now() - start, 10ms);
  EXPECT_EQ(drops->load(), 1);
  auto spun = co_await ktime::timeout(2ms, spin_on_ready_channel());
  EXPECT_FALSE(spun.has_value());
}

TEST_P(TimeoutFlavours, ValueElapsedAndBudget) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  std::atomic<int> drops{0};
  rt.block_on(value_and_elapsed_and_budget(&drops));
  EXPECT_EQ(drops.load(), 1);
}

KYOTO_INSTANTIATE_FLAVOURS(TimeoutFlavours);

}  // namespace
