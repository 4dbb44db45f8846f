// kyoto::sync::mutex, ported from tokio 1.24 tests/sync_mutex.rs and
// tests/sync_mutex_owned.rs, plus fairness, cancellation, blocking_lock
// and a stress test across workers and plain threads.
//
// tokio's aborted_future_1/2 use time::timeout to drop a future; kyoto has
// no timeout() yet, so the ports drop it with join_handle::abort().
// Left out of tokio's files:
// lock (commented out in tokio itself)
// debug_format, mutex_debug: Rust's Debug formatting has no C++ counterpart
#include "ct_test.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/sync/mutex.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using kyoto::sync::mutex;
using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;

static_assert(!std::is_copy_constructible_v<mutex<int>>);
static_assert(!std::is_move_constructible_v<mutex<int>>);
static_assert(!std::is_copy_constructible_v<kyoto::sync::mutex_guard<int>>);
static_assert(std::is_nothrow_move_constructible_v<kyoto::sync::mutex_guard<int>>);

// ---- tokio tests/sync_mutex.rs ----

// tokio: straight_execution
KYOTO_TEST(Mutex, EachLockSeesThePreviousGuardsWrite) {
  mutex<int> l(100);
  {
    auto g = co_await l.lock();
    EXPECT_EQ(*g, 100);
    *g = 99;
  }
  {
    auto g = co_await l.lock();
    EXPECT_EQ(*g, 99);
    *g = 98;
  }
  {
    auto g = co_await l.lock();
    EXPECT_EQ(*g, 98);
  }
}

kyoto::task<> hold_lock(mutex<int>& m, std::atomic<bool>& locked) {
  auto g = co_await m.lock();
  locked = true;
}

// tokio: readiness
KYOTO_CT_TEST(Mutex, ASecondLockWaitsAndIsWokenByTheUnlock) {
  mutex<int> l(100);
  auto g = co_await l.lock();
  std::atomic<bool> locked{false};
  auto t2 = kyoto::spawn(hold_lock(l, locked));
  co_await let_others_run();
  EXPECT_FALSE(locked.load()) << "locked while the guard is held";
  {
    auto drop = std::move(g);
  }
  EXPECT_TRUE(co_await finishes_soon(t2));
  EXPECT_TRUE(locked.load());
}

// tokio: aborted_future_1 — a task cancelled while holding the guard
// unlocks the mutex.
KYOTO_CT_TEST(Mutex, ATaskCancelledWhileHoldingTheGuardUnlocks) {
  auto m = std::make_shared<mutex<int>>(0);
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto holder = kyoto::spawn(
      [](std::shared_ptr<mutex<int>> mx,
         kyoto::sync::oneshot::receiver<int> never) -> kyoto::task<> {
        auto g = co_await mx->lock();
        (void)co_await never;  // holds the guard until cancelled
      },
      m, std::move(rx));
  co_await let_others_run();
  EXPECT_FALSE(m->try_lock().has_value());
  holder.abort();
  EXPECT_TRUE(co_await finishes_soon(holder));
  EXPECT_TRUE(m->try_lock().has_value()) << "the cancelled holder left the mutex locked";
}

// tokio: aborted_future_2 — a task cancelled while waiting for the lock
// leaves nothing behind.
KYOTO_CT_TEST(Mutex, ATaskCancelledWhileWaitingLeavesTheMutexUsable) {
  mutex<int> m(0);
  std::atomic<bool> locked{false};
  {
    auto g = co_await m.lock();
    auto waiter = kyoto::spawn(hold_lock(m, locked));
    co_await let_others_run();
    waiter.abort();
    EXPECT_TRUE(co_await finishes_soon(waiter));
  }
  EXPECT_FALSE(locked.load());
  EXPECT_TRUE(m.try_lock().has_value()) << "the cancelled waiter left the mutex locked";
}

// tokio: try_lock
TEST(Mutex, TryLockFailsWhileAGuardIsAlive) {
  mutex<std::size_t> m(0);
  {
    auto g1 = m.try_lock();
    EXPECT_TRUE(g1.has_value());
    auto g2 = m.try_lock();
    EXPECT_FALSE(g2.has_value());
    EXPECT_STREQ(g2.error().what(), "operation would block");
  }
  EXPECT_TRUE(m.try_lock().has_value());
}

// ---- tokio tests/sync_mutex_owned.rs ----

// tokio: straight_execution (owned)
KYOTO_TEST(MutexOwned, EachOwnedLockSeesThePreviousGuardsWrite) {
  auto l = std::make_shared<mutex<int>>(100);
  {
    auto g = co_await mutex<int>::lock_owned(l);
    EXPECT_EQ(*g, 100);
    *g = 99;
  }
  {
    auto g = co_await mutex<int>::lock_owned(l);
    EXPECT_EQ(*g, 99);
    *g = 98;
  }
  auto g = co_await mutex<int>::lock_owned(l);
  EXPECT_EQ(*g, 98);
  EXPECT_EQ(g.mutex(), l);
}

// tokio: readiness (owned)
KYOTO_CT_TEST(MutexOwned, ASecondOwnedLockWaitsForTheUnlock) {
  auto l = std::make_shared<mutex<int>>(100);
  auto g = co_await mutex<int>::lock_owned(l);
  auto t2 = kyoto::spawn(
      [](std::shared_ptr<mutex<int>> m) -> kyoto::task<int> {
        auto g2 = co_await mutex<int>::lock_owned(m);
        co_return *g2;
      },
      l);
  co_await let_others_run();
  EXPECT_FALSE(t2.is_finished());
  *g = 7;
  {
    auto drop = std::move(g);
  }
  EXPECT_TRUE(co_await finishes_soon(t2));
  EXPECT_EQ(co_await t2, 7);
}

// tokio: aborted_future_1 (owned)
KYOTO_CT_TEST(MutexOwned, ATaskCancelledWhileHoldingAnOwnedGuardUnlocks) {
  auto m = std::make_shared<mutex<int>>(0);
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto holder = kyoto::spawn(
      [](std::shared_ptr<mutex<int>> mx,
         kyoto::sync::oneshot::receiver<int> never) -> kyoto::task<> {
        auto g = co_await mutex<int>::lock_owned(std::move(mx));
        (void)co_await never;
      },
      m, std::move(rx));
  co_await let_others_run();
  holder.abort();
  EXPECT_TRUE(co_await finishes_soon(holder));
  EXPECT_TRUE(mutex<int>::try_lock_owned(m).has_value());
}

// tokio: aborted_future_2 (owned)
KYOTO_CT_TEST(MutexOwned, ATaskCancelledWhileWaitingForAnOwnedLockLeavesItUsable) {
  auto m = std::make_shared<mutex<int>>(0);
  {
    auto g = co_await mutex<int>::lock_owned(m);
    auto waiter = kyoto::spawn(
        [](std::shared_ptr<mutex<int>> mx) -> kyoto::task<> {
          auto g2 = co_await mutex<int>::lock_owned(std::move(mx));
        },
        m);
    co_await let_others_run();
    waiter.abort();
    EXPECT_TRUE(co_await finishes_soon(waiter));
  }
  EXPECT_TRUE(mutex<int>::try_lock_owned(m).has_value());
}

// tokio: try_lock_owned
TEST(MutexOwned, TryLockOwnedFailsWhileAGuardIsAlive) {
  auto m = std::make_shared<mutex<std::size_t>>(0);
  {
    auto g1 = mutex<std::size_t>::try_lock_owned(m);
    EXPECT_TRUE(g1.has_value());
    EXPECT_FALSE(mutex<std::size_t>::try_lock_owned(m).has_value());
  }
  EXPECT_TRUE(mutex<std::size_t>::try_lock_owned(m).has_value());
}

// An owned guard keeps the mutex alive after every other owner is gone.
TEST(MutexOwned, AnOwnedGuardKeepsTheMutexAlive) {
  auto m = std::make_shared<mutex<std::string>>("kept");
  std::weak_ptr<mutex<std::string>> weak = m;
  auto g = mutex<std::string>::try_lock_owned(std::move(m)).value();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(*g, "kept");
  {
    auto drop = std::move(g);
  }
  EXPECT_TRUE(weak.expired());
}

// ---- kyoto's contracts ----

// The lock is handed out in the order it was asked for.
KYOTO_CT_TEST(Mutex, WaitersGetTheLockInFifoOrder) {
  mutex<std::vector<int>> m;
  auto g = co_await m.lock();
  std::vector<kyoto::join_handle<void>> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.push_back(kyoto::spawn([](mutex<std::vector<int>>& mx, int id) -> kyoto::task<> {
      auto gi = co_await mx.lock();
      gi->push_back(id);
    }(m, i)));
    co_await let_others_run(1);  // queues them in spawn order
  }
  {
    auto drop = std::move(g);
  }
  for (auto& w : waiters)
    co_await w;
  EXPECT_EQ(m.get_mut(), (std::vector<int>{0, 1, 2, 3, 4}));
}

// A waiter handed the lock but cancelled before it ran passes it on.
KYOTO_CT_TEST(Mutex, AWaiterCancelledAfterBeingHandedTheLockPassesItOn) {
  mutex<int> m(0);
  std::atomic<bool> first{false};
  std::atomic<bool> second{false};
  auto g = co_await m.lock();
  auto w1 = kyoto::spawn(hold_lock(m, first));
  co_await let_others_run();
  auto w2 = kyoto::spawn(hold_lock(m, second));
  co_await let_others_run();
  {
    auto drop = std::move(g);
  }  // w1 is handed the lock, not yet run
  w1.abort();
  EXPECT_TRUE(co_await finishes_soon(w2)) << "the lock w1 was handed did not pass on";
  EXPECT_FALSE(first.load());
  EXPECT_TRUE(second.load());
}

TEST(Mutex, UsingAMovedFromGuardThrows) {
  mutex<int> m(1);
  auto g = m.try_lock().value();
  auto moved = std::move(g);
  EXPECT_EQ(*moved, 1);
  EXPECT_THROW((void)*g, std::logic_error);  // NOLINT(bugprone-use-after-move)
}

TEST(Mutex, LockOwnedRejectsANullMutex) {
  EXPECT_THROW((void)mutex<int>::lock_owned(nullptr), std::invalid_argument);
}

KYOTO_TEST(Mutex, BlockingLockOnARuntimeThreadThrows) {
  mutex<int> m(0);
  EXPECT_THROW((void)m.blocking_lock(), std::logic_error);
  co_return;
}

// blocking_lock from a plain thread waits for a task's guard.
TEST(Mutex, BlockingLockWaitsForATasksGuard) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  mutex<int> m(0);
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto [locked_tx, locked_rx] = kyoto::sync::oneshot::channel<int>();
  auto holder = rt.spawn([](mutex<int>& mx, kyoto::sync::oneshot::receiver<int> go,
                            kyoto::sync::oneshot::sender<int> locked) -> kyoto::task<> {
    auto g = co_await mx.lock();
    (void)locked.send(1);
    (void)co_await go;
    *g = 42;
  }(m, std::move(rx), std::move(locked_tx)));
  EXPECT_TRUE(locked_rx.blocking_recv().has_value());
  kyoto::sync::oneshot::sender<int>& go = tx;
  std::thread releaser([&go] { (void)go.send(1); });
  {
    auto g = m.blocking_lock();  // waits for the holder's guard
    EXPECT_EQ(*g, 42);
  }
  releaser.join();
  rt.block_on(std::move(holder));
}

// The cooperative budget: an uncontended lock loop lets other tasks run.
KYOTO_CT_TEST(Mutex, AnUncontendedLockLoopYieldsToOtherTasks) {
  mutex<int> m(0);
  std::atomic<bool> other_ran{false};
  auto other = kyoto::spawn(kyoto::test::raise_flag(other_ran));
  for (int i = 0; i < 10'000 && !other_ran; ++i) {
    auto g = co_await m.lock();
    ++*g;
  }
  EXPECT_TRUE(other_ran.load());
  co_await other;
}

// ---- stress (ThreadSanitizer) ----

// Tasks on two workers and plain threads (blocking_lock) increment a
// non-atomic counter under the mutex: mutual exclusion makes it exact, and
// ThreadSanitizer checks the guard's happens-before.
TEST(MutexStress, IncrementsUnderTheLockAreExactAcrossWorkersAndThreads) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto m = std::make_shared<mutex<long>>(0);
  constexpr int tasks = 32;
  constexpr int per_task = 500;
  constexpr int threads = 2;
  constexpr int per_thread = 2000;
  std::vector<std::thread> plain;
  for (int t = 0; t < threads; ++t) {
    plain.emplace_back([m] {
      for (int i = 0; i < per_thread; ++i) {
        auto g = m->blocking_lock();
        ++*g;
      }
    });
  }
  rt.block_on([](std::shared_ptr<mutex<long>> mx) -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> hs;
    for (int t = 0; t < tasks; ++t) {
      hs.push_back(kyoto::spawn(
          [](std::shared_ptr<mutex<long>> shared, int k) -> kyoto::task<> {
            for (int i = 0; i < per_task; ++i) {
              auto g = co_await mutex<long>::lock_owned(shared);
              ++*g;
              if ((i + k) % 16 == 0) co_await kyoto::yield_now();  // hold it across a suspension
            }
          },
          mx, t));
    }
    for (auto& h : hs)
      co_await h;
  }(m));
  for (auto& t : plain)
    t.join();
  EXPECT_EQ(m->get_mut(), long{tasks} * per_task + long{threads} * per_thread);
}

}  // namespace
