// kyoto::task_local and kyoto::unconstrained (both run their awaitable as a
// nested task: detail/nested_run.hpp). Ports tokio's tests/task_local.rs:
//   local                                  -> ScopedValuesAreVisibleAcrossSuspensions
//   task_local_available_on_abort          -> TheValueIsVisibleInDestructorsWhenTheScopeIsAborted
//   task_local_available_on_completion_drop
//                                          ->
//                                          TheValueIsVisibleWhenTheAwaitableIsDestroyedAfterCompleting
// tokio has no test file for unconstrained (its coop tests live in the
// crate); the Unconstrained tests below check the behaviour directly.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

kyoto::task_local<int> REQ_ID;
kyoto::task_local<bool> FOO;
kyoto::task_local<std::string> NAME;

// tokio: local.
KYOTO_TEST(TaskLocal, ScopedValuesAreVisibleAcrossSuspensions) {
  auto j1 = kyoto::spawn(REQ_ID.scope(1, []() -> kyoto::task<> {
    EXPECT_EQ(REQ_ID.get(), 1);
    EXPECT_EQ(REQ_ID.get(), 1);
    co_return;
  }()));
  auto j2 = kyoto::spawn(REQ_ID.scope(2, []() -> kyoto::task<> {
    EXPECT_EQ(REQ_ID.get(), 2);
    co_await kyoto::time::sleep(10ms);
    EXPECT_EQ(REQ_ID.get(), 2);
  }()));
  auto j3 = kyoto::spawn(FOO.scope(true, []() -> kyoto::task<> {
    EXPECT_TRUE(FOO.get());
    EXPECT_EQ(REQ_ID.try_get(), nullptr);  // another key is not set
    co_return;
  }()));
  co_await j1;
  co_await j2;
  co_await j3;
}

/// An awaitable that never completes and reads REQ_ID when destroyed
/// (tokio's MyFuture in task_local_available_on_abort).
class reads_key_on_drop {
 public:
  reads_key_on_drop(kyoto::sync::oneshot::sender<int> on_suspend,
                    kyoto::sync::oneshot::sender<int> on_drop)
      : on_suspend_(std::move(on_suspend)), on_drop_(std::move(on_drop)) {}
  reads_key_on_drop(reads_key_on_drop&& o) noexcept
      : on_suspend_(std::exchange(o.on_suspend_, std::nullopt)),
        on_drop_(std::exchange(o.on_drop_, std::nullopt)) {}
  ~reads_key_on_drop() {
    if (on_drop_.has_value()) (void)on_drop_->send(REQ_ID.get());
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) {
    if (on_suspend_.has_value()) (void)std::exchange(on_suspend_, std::nullopt)->send(1);
  }
  void await_resume() const noexcept {}

 private:
  std::optional<kyoto::sync::oneshot::sender<int>> on_suspend_;
  std::optional<kyoto::sync::oneshot::sender<int>> on_drop_;
};

// tokio: task_local_available_on_abort.
KYOTO_TEST(TaskLocal, TheValueIsVisibleInDestructorsWhenTheScopeIsAborted) {
  auto [tx_drop, rx_drop] = kyoto::sync::oneshot::channel<int>();
  auto [tx_poll, rx_poll] = kyoto::sync::oneshot::channel<int>();
  auto h =
      kyoto::spawn(REQ_ID.scope(42, reads_key_on_drop(std::move(tx_poll), std::move(tx_drop))));
  (co_await rx_poll).value();
  h.abort();
  EXPECT_EQ((co_await rx_drop).value(), 42);
  if (const auto e = co_await kyoto::test::expect_throws_async<kyoto::join_error>(
          [&]() -> auto& { return h; })) {
    EXPECT_TRUE(e->is_cancelled());
  }
}

/// Completes at once and reads REQ_ID when destroyed (tokio's MyFuture in
/// task_local_available_on_completion_drop).
class ready_reads_key_on_drop {
 public:
  explicit ready_reads_key_on_drop(kyoto::sync::oneshot::sender<int> tx) : tx_(std::move(tx)) {}
  ready_reads_key_on_drop(ready_reads_key_on_drop&& o) noexcept
      : tx_(std::exchange(o.tx_, std::nullopt)) {}
  ~ready_reads_key_on_drop() {
    if (tx_.has_value()) (void)tx_->send(REQ_ID.get());
  }
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}

 private:
  std::optional<kyoto::sync::oneshot::sender<int>> tx_;
};

// tokio: task_local_available_on_completion_drop.
KYOTO_TEST(TaskLocal, TheValueIsVisibleWhenTheAwaitableIsDestroyedAfterCompleting) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(REQ_ID.scope(42, ready_reads_key_on_drop(std::move(tx))));
  EXPECT_EQ((co_await rx).value(), 42);
  co_await h;
}

KYOTO_TEST(TaskLocal, OutsideAScopeGetThrowsNamingTheOperationAndTryGetIsNull) {
  EXPECT_EQ(REQ_ID.try_get(), nullptr);
  kyoto::test::expect_throws<std::logic_error>([&] { (void)REQ_ID.get(); },
                                               "kyoto::task_local::get");
  // After a scope ended, the value is gone again.
  co_await REQ_ID.scope(5, []() -> kyoto::task<> {
    EXPECT_EQ(REQ_ID.get(), 5);
    co_await kyoto::yield_now();
  }());
  EXPECT_EQ(REQ_ID.try_get(), nullptr);
  co_return;
}

KYOTO_TEST(TaskLocal, ScopeGivesTheResultAndRethrows) {
  const int v = co_await REQ_ID.scope(3, []() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    co_return REQ_ID.get() * 2;
  }());
  EXPECT_EQ(v, 6);
  EXPECT_THROW(co_await REQ_ID.scope(3,
                                     []() -> kyoto::task<int> {
                                       co_await kyoto::yield_now();
                                       throw std::runtime_error("inside");
                                     }()),
               std::runtime_error);
}

KYOTO_TEST(TaskLocal, NestedScopesShadowAndRestore) {
  co_await REQ_ID.scope(1, []() -> kyoto::task<> {
    EXPECT_EQ(REQ_ID.get(), 1);
    co_await REQ_ID.scope(2, []() -> kyoto::task<> {
      EXPECT_EQ(REQ_ID.get(), 2);
      co_await kyoto::yield_now();
      EXPECT_EQ(REQ_ID.get(), 2);
      co_await NAME.scope("inner", []() -> kyoto::task<> {
        co_await kyoto::time::sleep(1ms);
        EXPECT_EQ(REQ_ID.get(), 2);
        EXPECT_EQ(NAME.get(), "inner");
      }());
    }());
    EXPECT_EQ(REQ_ID.get(), 1);
    EXPECT_EQ(NAME.try_get(), nullptr);
    co_await kyoto::yield_now();
    EXPECT_EQ(REQ_ID.get(), 1);
  }());
}

// The value never leaks to another task running on the same worker, while
// the scope is suspended or between its resumptions.
KYOTO_CT_TEST(TaskLocal, TheValueDoesNotLeakToOtherTasksOnTheWorker) {
  int leaks = 0;
  bool stop = false;
  auto observer = kyoto::spawn(
      [](int& l, bool& s) -> kyoto::task<> {
        while (!s) {
          if (REQ_ID.try_get() != nullptr) ++l;
          co_await kyoto::yield_now();
        }
      },
      std::ref(leaks), std::ref(stop));
  co_await REQ_ID.scope(7, []() -> kyoto::task<> {
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(REQ_ID.get(), 7);
      co_await kyoto::yield_now();
    }
  }());
  stop = true;
  co_await observer;
  EXPECT_EQ(leaks, 0);
}

// Nor to a sibling branch of a join that encloses the scope.
KYOTO_TEST(TaskLocal, TheValueDoesNotLeakToASiblingJoinBranch) {
  auto scoped = []() -> kyoto::task<int> {
    int seen = 0;
    for (int i = 0; i < 20; ++i) {
      if (REQ_ID.get() == 9) ++seen;
      co_await kyoto::yield_now();
    }
    co_return seen;
  };
  auto sibling = []() -> kyoto::task<int> {
    int leaks = 0;
    for (int i = 0; i < 20; ++i) {
      if (REQ_ID.try_get() != nullptr) ++leaks;
      co_await kyoto::yield_now();
    }
    co_return leaks;
  };
  auto [seen, leaks] = co_await kyoto::join(REQ_ID.scope(9, scoped()), sibling());
  EXPECT_EQ(seen, 20);
  EXPECT_EQ(leaks, 0);
}

// Tasks spawned inside a scope do not inherit it (as in tokio).
KYOTO_TEST(TaskLocal, SpawnedTasksDoNotInheritTheValue) {
  co_await REQ_ID.scope(1, []() -> kyoto::task<> {
    auto h = kyoto::spawn([]() -> kyoto::task<bool> { co_return REQ_ID.try_get() != nullptr; });
    EXPECT_FALSE(co_await h);
    EXPECT_EQ(REQ_ID.get(), 1);
  }());
}

// On a multi_thread runtime the scoped task moves between workers; its
// value follows it, and each of many concurrent scopes sees only its own.
KYOTO_TEST_WITH(TaskLocal, EachTaskSeesItsOwnValueAcrossWorkers,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr int tasks = 200;
  std::atomic<int> wrong{0};
  std::vector<kyoto::join_handle<void>> handles;
  for (int i = 0; i < tasks; ++i) {
    auto body = [](int me, std::atomic<int>& w) -> kyoto::task<> {
      for (int k = 0; k < 50; ++k) {
        if (REQ_ID.get() != me) w.fetch_add(1);
        if (k % 10 == 0) {
          co_await kyoto::time::sleep(1ms);
        } else {
          co_await kyoto::yield_now();
        }
      }
    };
    handles.push_back(kyoto::spawn(REQ_ID.scope(i, body(i, wrong))));
  }
  for (auto& h : handles)
    co_await h;
  EXPECT_EQ(wrong.load(), 0);
}

// Branches of a join inside the scope, waking each other through channels,
// all see the value.
KYOTO_TEST(TaskLocal, JoinBranchesInsideTheScopeSeeTheValue) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  auto producer = [](kyoto::sync::mpsc::sender<int> out) -> kyoto::task<int> {
    int ok = 0;
    for (int i = 0; i < 100; ++i) {
      if (REQ_ID.get() == 4) ++ok;
      (co_await out.send(i)).value();
    }
    {
      auto gone = std::move(out);
    }  // closes the channel (the frame outlives the branch)
    co_return ok;
  };
  auto consumer = [](kyoto::sync::mpsc::receiver<int> in) -> kyoto::task<int> {
    int ok = 0;
    while (auto v = co_await in.recv()) {
      if (REQ_ID.get() == 4) ++ok;
    }
    co_return ok;
  };
  auto [a, b] =
      co_await REQ_ID.scope(4, kyoto::join(producer(std::move(tx)), consumer(std::move(rx))));
  EXPECT_EQ(a, 100);
  EXPECT_EQ(b, 100);
}

// Any awaitable can be scoped: a join_handle, a channel operation.
KYOTO_TEST(TaskLocal, AnyAwaitableCanBeScoped) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> { co_return 11; });
  EXPECT_EQ(co_await REQ_ID.scope(1, h), 11);
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  tx.send(12).value();
  EXPECT_EQ((co_await REQ_ID.scope(1, std::move(rx))).value(), 12);
}

// A scope cancelled by a failing sibling branch runs its destructors with
// the value set, and the timer it waited on does not fire into it later.
KYOTO_TEST(TaskLocal, AScopeCancelledByASiblingFailureSeesItsValueInDestructors) {
  std::atomic<int> seen{0};
  struct reads_on_drop {
    std::atomic<int>* out;
    explicit reads_on_drop(std::atomic<int>* o) : out(o) {}
    reads_on_drop(reads_on_drop&& o) noexcept : out(std::exchange(o.out, nullptr)) {}
    ~reads_on_drop() {
      if (out != nullptr) out->store(REQ_ID.get());
    }
  };
  auto waits = [](std::atomic<int>& s) -> kyoto::task<> {
    reads_on_drop r(&s);
    co_await kyoto::time::sleep(5ms);
  };
  auto fails = []() -> kyoto::task<> {
    co_await kyoto::yield_now();
    throw std::runtime_error("sibling");
  };
  EXPECT_THROW(co_await kyoto::join(REQ_ID.scope(8, waits(seen)), fails()), std::runtime_error);
  EXPECT_EQ(seen.load(), 8);
  co_await kyoto::time::sleep(20ms);  // past the cancelled timer's deadline
}

KYOTO_TEST(TaskLocal, SyncScopeSetsTheValueForOneCall) {
  const int doubled = REQ_ID.sync_scope(21, [](int k) { return REQ_ID.get() * k; }, 2);
  EXPECT_EQ(doubled, 42);
  EXPECT_EQ(REQ_ID.try_get(), nullptr);
  co_return;
}

/// A coroutine type that runs eagerly on a plain thread: how a scope could
/// be awaited outside a runtime task.
struct eager {
  struct promise_type {
    std::exception_ptr* error;
    promise_type(std::exception_ptr& e) : error(&e) {}
    eager get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { *error = std::current_exception(); }
  };
};

eager await_scope_on_a_plain_thread(std::exception_ptr&) {
  (void)co_await REQ_ID.scope(1, []() -> kyoto::task<int> {
    co_return 1;
  }());
}

TEST(TaskLocal, AScopeAwaitedOutsideARuntimeTaskThrowsNamingTheOperation) {
  std::exception_ptr error;
  await_scope_on_a_plain_thread(error);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("kyoto::task_local::scope"), std::string::npos);
  }
  // block_on runs it as a task, and sync_scope works on any thread.
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  EXPECT_EQ(rt.block_on(REQ_ID.scope(1,
                                     []() -> kyoto::task<int> {
                                       co_return REQ_ID.get();
                                     }())),
            1);
  EXPECT_EQ(NAME.sync_scope("x", [] { return NAME.get(); }), "x");
}

// Stress: scoped tasks on 2 workers woken through channels by producers
// on any worker, while a plain thread aborts some of them mid-stream: every
// resumption sees its own value, and every aborted scope is destroyed
// (TSan/ASan check the nested task's handoffs between threads).
KYOTO_TEST_WITH(TaskLocal, StressScopesWokenAcrossWorkersAndAborted,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr int tasks = 200;
  constexpr int messages = 50;
  std::atomic<int> wrong{0};
  std::atomic<int> dropped{0};
  std::vector<kyoto::join_handle<int>> consumers;
  std::vector<kyoto::join_handle<void>> producers;
  std::vector<kyoto::abort_handle> aborts;
  for (int i = 0; i < tasks; ++i) {
    auto [tx, rx] = kyoto::sync::mpsc::channel<int>(2);
    auto consume = [](int me, kyoto::sync::mpsc::receiver<int> in, std::atomic<int>& w,
                      kyoto::test::drop_counter) -> kyoto::task<int> {
      int got = 0;
      while (auto v = co_await in.recv()) {
        if (REQ_ID.get() != me) w.fetch_add(1);
        ++got;
      }
      co_return got;
    };
    consumers.push_back(kyoto::spawn(
        REQ_ID.scope(i, consume(i, std::move(rx), wrong, kyoto::test::drop_counter(dropped)))));
    aborts.push_back(consumers.back().abort_handle());
    producers.push_back(kyoto::spawn(
        [](kyoto::sync::mpsc::sender<int> out) -> kyoto::task<> {
          for (int k = 0; k < messages; ++k) {
            if (!(co_await out.send(k)).has_value()) break;  // the consumer was aborted
          }
        },
        std::move(tx)));
  }
  std::thread aborter([aborts] {
    for (std::size_t i = 0; i < aborts.size(); i += 3)
      aborts[i].abort();
  });
  int completed = 0;
  for (auto& c : consumers) {
    try {
      EXPECT_EQ(co_await c, messages);
      ++completed;
    } catch (const kyoto::join_error&) {  // NOLINT(bugprone-empty-catch): aborted on purpose
    }
  }
  for (auto& p : producers)
    co_await p;
  aborter.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(dropped.load(), tasks);
  EXPECT_GE(completed, tasks - (tasks + 2) / 3);
}

// ---- unconstrained ----

/// A neighbour that counts how often it runs until told to stop.
kyoto::task<> ticker(int& ticks, bool& stop) {
  while (!stop) {
    ++ticks;
    co_await kyoto::yield_now();
  }
}

/// Receives `n` values that are all ready at once.
kyoto::task<int> drain(kyoto::sync::mpsc::unbounded_receiver<int>& rx, int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i)
    sum += *co_await rx.recv();
  co_return sum;
}

// The control case first: an always-ready loop yields to its neighbour
// every 128 operations. Inside unconstrained it does not.
KYOTO_CT_TEST(Unconstrained, AnAlwaysReadyLoopIsNotMadeToYield) {
  constexpr int n = 1000;
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  int ticks = 0;
  bool stop = false;
  auto t = kyoto::spawn(ticker, std::ref(ticks), std::ref(stop));
  co_await kyoto::yield_now();

  for (int i = 0; i < n; ++i)
    tx.send(1).value();
  int before = ticks;
  EXPECT_EQ(co_await drain(rx, n), n);
  EXPECT_GE(ticks - before, n / 128 - 1);  // constrained: it yielded

  for (int i = 0; i < n; ++i)
    tx.send(1).value();
  before = ticks;
  EXPECT_EQ(co_await kyoto::unconstrained(drain(rx, n)), n);
  EXPECT_EQ(ticks, before);  // unconstrained: it never yielded

  stop = true;
  co_await t;
}

// The unconstrained part spends none of the task's budget: after it, the
// task still has its budget for its own operations.
KYOTO_CT_TEST(Unconstrained, ItSpendsNoneOfTheTasksBudget) {
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  for (int i = 0; i < 1000; ++i)
    tx.send(1).value();
  co_await kyoto::yield_now();  // start a fresh run with a full budget
  const std::uint32_t before = kyoto::detail::current_context.budget;
  (void)co_await kyoto::unconstrained(drain(rx, 500));
  EXPECT_EQ(kyoto::detail::current_context.budget, before);
  co_return;
}

KYOTO_TEST(Unconstrained, GivesTheResultRethrowsAndCanBeCancelled) {
  EXPECT_EQ(co_await kyoto::unconstrained([]() -> kyoto::task<int> {
              co_await kyoto::yield_now();  // explicit yields still suspend
              co_return 3;
            }()),
            3);
  EXPECT_THROW(co_await kyoto::unconstrained([]() -> kyoto::task<> {
                 co_await kyoto::yield_now();
                 throw std::runtime_error("inside");
               }()),
               std::runtime_error);
  std::atomic<int> dropped{0};
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(kyoto::unconstrained(
      [](std::atomic<int>& d, kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
        kyoto::test::drop_counter guard(d);
        started.send(1).value();
        co_await kyoto::time::sleep(1h);
      }(dropped, std::move(started_tx))));
  (co_await started_rx).value();
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
}

// A task_local scope inside unconstrained sees its value, and is
// unconstrained too.
KYOTO_CT_TEST(Unconstrained, ComposesWithTaskLocalScopes) {
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  for (int i = 0; i < 1000; ++i)
    tx.send(1).value();
  int ticks = 0;
  bool stop = false;
  auto t = kyoto::spawn(ticker, std::ref(ticks), std::ref(stop));
  co_await kyoto::yield_now();
  const int before = ticks;
  auto scoped = [](kyoto::sync::mpsc::unbounded_receiver<int>& r) -> kyoto::task<int> {
    const int sum = co_await drain(r, 1000);
    co_return sum* REQ_ID.get();
  };
  EXPECT_EQ(co_await kyoto::unconstrained(REQ_ID.scope(2, scoped(rx))), 2000);
  EXPECT_EQ(ticks, before);
  stop = true;
  co_await t;
}

}  // namespace
