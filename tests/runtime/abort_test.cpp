// join_handle::abort and kyoto::abort_handle. Ports tokio's tests/task_abort.rs
// and tests/join_handle_panic.rs where they apply:
//   test_abort_without_panic_3157        -> AbortingASleepingTaskCancelsIt
//   test_abort_without_panic_3662        -> AbortFromAForeignThreadCancelsAPendingTask
//   remote_abort_local_set_3929          -> DestructorsOfAnAbortedTaskRunOnTheRuntimeThread
//                                           (kyoto has no LocalSet; what the test guards, that
//                                           a remote abort runs no destructor on the aborting
//                                           thread, applies to every task)
//   test_abort_wakes_task_3964           -> AbortThenDroppingTheHandleStillCancels
//   test_abort_task_that_panics_on_drop_contained, test_abort_task_that_panics_on_drop_returned
//                                           left out: a C++ destructor that throws terminates
//                                           the program (destructors are noexcept); there is
//                                           no panic to contain or return
//   join_handle_panic.rs test_panics_do_not_propagate_when_dropping_join_handle
//                                        -> DroppingTheHandleOfAFailedTaskDoesNotThrow (a
//                                           throwing destructor terminates in C++, so the
//                                           port checks the failure that can happen: the
//                                           task's exception, which a dropped handle logs)
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
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Waits on `rx` forever (until cancelled), holding a drop_counter.
kyoto::task<int> park_on(kyoto::sync::oneshot::receiver<int> rx, std::atomic<int>& dropped) {
  kyoto::test::drop_counter guard(dropped);
  auto v = co_await rx;
  co_return v.value();
}

// tokio: test_abort_without_panic_3157 (a sleeping task on a one-worker
// multi_thread runtime is aborted and its handle awaited).
KYOTO_TEST_WITH(Abort, AbortingASleepingTaskCancelsIt,
                kyoto::runtime::builder::multi_thread().worker_threads(1)) {
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
        started.send(1).value();
        co_await kyoto::time::sleep(100s);
      },
      std::move(started_tx));
  (co_await started_rx).value();  // it is about to sleep
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
}

// tokio: test_abort_without_panic_3662 (abort from a plain thread that does
// not run the runtime; the task's destructors run and the handle reports
// cancellation).
KYOTO_CT_TEST(Abort, AbortFromAForeignThreadCancelsAPendingTask) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(park_on(std::move(rx), dropped));
  co_await kyoto::test::let_others_run();
  std::thread([&h] { h.abort(); }).join();
  if (const auto e = co_await kyoto::test::expect_throws_async<kyoto::join_error>(
          [&]() -> auto& { return h; })) {
    EXPECT_TRUE(e->is_cancelled());
    EXPECT_FALSE(e->is_panic());
  }
  EXPECT_EQ(dropped.load(), 1);
  // The runtime keeps working after the remote abort (tokio's follow-up
  // spawn checks the deferred cleanup).
  auto i = kyoto::spawn([]() -> kyoto::task<> { co_await kyoto::yield_now(); });
  co_await i;
  (void)tx;
}

// tokio: remote_abort_local_set_3929 (a remote abort runs no destructor on
// the aborting thread).
KYOTO_TEST(Abort, DestructorsOfAnAbortedTaskRunOnTheRuntimeThread) {
  struct where_dropped {
    std::thread::id* out;
    explicit where_dropped(std::thread::id* o) : out(o) {}
    where_dropped(where_dropped&& o) noexcept : out(std::exchange(o.out, nullptr)) {}
    ~where_dropped() {
      if (out != nullptr) *out = std::this_thread::get_id();
    }
  };
  std::thread::id dropped_on;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<int> r, std::thread::id* out) -> kyoto::task<> {
        where_dropped w(out);
        (void)co_await r;
      },
      std::move(rx), &dropped_on);
  co_await kyoto::yield_now();
  std::thread::id aborter;
  std::thread t([&] {
    aborter = std::this_thread::get_id();
    h.abort();
  });
  t.join();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_NE(dropped_on, std::thread::id());
  EXPECT_NE(dropped_on, aborter);
  (void)tx;
}

// tokio: test_abort_wakes_task_3964 (abort, then drop the handle at once:
// the task is still cancelled and its resources released).
KYOTO_CT_TEST(Abort, AbortThenDroppingTheHandleStillCancels) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::abort_handle watch;
  {
    auto h = kyoto::spawn(park_on(std::move(rx), dropped));
    watch = h.abort_handle();
    co_await kyoto::test::let_others_run();
    h.abort();
  }
  for (int i = 0; i < 100 && !watch.is_finished(); ++i)
    co_await kyoto::yield_now();
  EXPECT_TRUE(watch.is_finished());
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_TRUE(tx.is_closed());  // the receiver went with the task
}

// tokio: join_handle_panic.rs test_panics_do_not_propagate_when_dropping_join_handle.
KYOTO_TEST(Abort, DroppingTheHandleOfAFailedTaskDoesNotThrow) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> {
    throw std::runtime_error("logged, not propagated");
    co_return 0;
  });
  kyoto::abort_handle watch = h.abort_handle();
  while (!watch.is_finished())
    co_await kyoto::yield_now();
  EXPECT_NO_THROW({ auto dropped = std::move(h); });
}

KYOTO_TEST(Abort, AnAbortHandleCancelsATaskWaitingOnAChannel) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::mpsc::receiver<int> r, std::atomic<int>& d,
         kyoto::sync::oneshot::sender<int> started) -> kyoto::task<int> {
        kyoto::test::drop_counter guard(d);
        started.send(1).value();
        auto v = co_await r.recv();
        co_return v.value_or(-1);
      },
      std::move(rx), std::ref(dropped), std::move(started_tx));
  (co_await started_rx).value();
  kyoto::abort_handle ah = h.abort_handle();
  EXPECT_FALSE(ah.is_finished());
  ah.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_TRUE(ah.is_finished());
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_FALSE(tx.try_send(1).has_value());  // the receiver went with the task
}

/// Counts its drop in `d`, then sleeps for an hour.
kyoto::task<> sleep_for_an_hour(std::atomic<int>& d) {
  kyoto::test::drop_counter guard(d);
  co_await kyoto::time::sleep(1h);
}

KYOTO_TEST(Abort, AnAbortHandleCancelsATaskSuspendedInANestedJoin) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](std::atomic<int>& d, kyoto::sync::oneshot::receiver<int> r,
         kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
        // Signalled before the join, but abort() acts at the end of this run
        // at the earliest, once every branch has started.
        started.send(1).value();
        co_await kyoto::join(sleep_for_an_hour(d), park_on(std::move(r), d),
                             kyoto::join(sleep_for_an_hour(d), sleep_for_an_hour(d)));
      },
      std::ref(dropped), std::move(rx), std::move(started_tx));
  (co_await started_rx).value();
  h.abort_handle().abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 4);
  (void)tx;
}

KYOTO_TEST(Abort, AnAbortHandleCancelsATaskSuspendedInATaskLocalScope) {
  static kyoto::task_local<int> key;
  std::atomic<int> dropped{0};
  std::atomic<int> seen_in_destructor{0};
  struct reads_key {
    std::atomic<int>* out;
    explicit reads_key(std::atomic<int>* o) : out(o) {}
    reads_key(reads_key&& o) noexcept : out(std::exchange(o.out, nullptr)) {}
    ~reads_key() {
      if (out != nullptr) out->store(key.get());
    }
  };
  auto inner = [](std::atomic<int>& d, std::atomic<int>& seen,
                  kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
    kyoto::test::drop_counter guard(d);
    reads_key r(&seen);
    started.send(1).value();
    co_await kyoto::time::sleep(1h);
  };
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(key.scope(7, inner(dropped, seen_in_destructor, std::move(started_tx))));
  (co_await started_rx).value();
  h.abort_handle().abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_EQ(seen_in_destructor.load(), 7);
}

KYOTO_TEST(Abort, AbortingAFinishedTaskIsANoOp) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> { co_return 5; });
  kyoto::abort_handle ah = h.abort_handle();
  while (!ah.is_finished())
    co_await kyoto::yield_now();
  ah.abort();
  h.abort();
  EXPECT_EQ(co_await h, 5);
  ah.abort();  // also after the result was taken
  EXPECT_TRUE(ah.is_finished());
}

// A task that aborts itself stops at its next suspension.
KYOTO_TEST(Abort, ATaskAbortingItselfStopsAtItsNextSuspension) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<kyoto::abort_handle>();
  std::atomic<bool> after{false};
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<kyoto::abort_handle> self,
         std::atomic<bool>& past) -> kyoto::task<> {
        kyoto::abort_handle me = (co_await self).value();
        me.abort();
        co_await kyoto::yield_now();
        past = true;
      },
      std::move(rx), std::ref(after));
  tx.send(h.abort_handle()).value();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_FALSE(after.load());
}

KYOTO_TEST(Abort, CopiesOfAnAbortHandleReferToTheSameTask) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  std::atomic<int> dropped{0};
  auto h = kyoto::spawn(park_on(std::move(rx), dropped));
  kyoto::abort_handle a = h.abort_handle();
  std::vector<kyoto::abort_handle> copies(1000, a);
  kyoto::abort_handle moved = std::move(copies.back());
  copies.pop_back();
  EXPECT_TRUE(copies.back() == a);
  EXPECT_TRUE(moved == a);
  EXPECT_TRUE(moved.valid());
  copies[123].abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  for (const auto& c : copies)
    EXPECT_TRUE(c.is_finished());
  (void)tx;
}

KYOTO_TEST(Abort, MisusingAnEmptyHandleThrowsNamingTheOperation) {
  kyoto::abort_handle empty;
  EXPECT_FALSE(empty.valid());
  kyoto::test::expect_throws<std::logic_error>([&] { empty.abort(); },
                                               "kyoto::abort_handle::abort");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)empty.is_finished(); },
                                               "kyoto::abort_handle::is_finished");
  kyoto::join_handle<int> moved_from;
  kyoto::test::expect_throws<std::logic_error>([&] { (void)moved_from.abort_handle(); },
                                               "kyoto::join_handle::abort_handle");
  co_return;
}

// The handle keeps the task's cell alive: it works after the join_handle
// is gone and after the runtime is destroyed (the task is complete then).
TEST(Abort, AnAbortHandleOutlivesTheJoinHandleAndTheRuntime) {
  std::atomic<int> dropped{0};
  kyoto::abort_handle ah;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  {
    kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
    {
      auto h = rt.spawn(
          [](kyoto::sync::oneshot::receiver<int> r, std::atomic<int>& d,
             kyoto::sync::oneshot::sender<int> started) -> kyoto::task<int> {
            started.send(1).value();
            co_return co_await park_on(std::move(r), d);
          },
          std::move(rx), std::ref(dropped), std::move(started_tx));
      ah = h.abort_handle();
    }
    started_rx.blocking_recv().value();
    EXPECT_FALSE(ah.is_finished());
  }
  EXPECT_TRUE(ah.is_finished());  // cancelled by the runtime's shutdown
  EXPECT_EQ(dropped.load(), 1);
  ah.abort();  // no-op: complete, and the runtime is gone
  kyoto::abort_handle copy = ah;
  EXPECT_TRUE(copy.is_finished());
}

// Stress: tasks on 2 workers aborted by plain threads through abort_handles
// while they complete on their own; every task ends exactly once (a value
// or join_error), every destructor runs, nothing leaks (ASan) and nothing
// races (TSan).
KYOTO_TEST_WITH(Abort, StressAbortsFromForeignThreadsRaceCompletions,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr int tasks = 2000;
  constexpr int aborters = 3;
  std::atomic<int> dropped{0};
  std::vector<kyoto::join_handle<int>> handles;
  std::vector<kyoto::abort_handle> aborts;
  handles.reserve(tasks);
  for (int i = 0; i < tasks; ++i) {
    // The counter is a parameter: destroyed with the frame even if the
    // task is aborted before it first runs.
    handles.push_back(kyoto::spawn(
        [](int n, kyoto::test::drop_counter) -> kyoto::task<int> {
          for (int k = 0; k < n % 7; ++k)
            co_await kyoto::yield_now();
          co_return n;
        },
        i, kyoto::test::drop_counter(dropped)));
    aborts.push_back(handles.back().abort_handle());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < aborters; ++t) {
    threads.emplace_back([t, aborts] {  // copies: handles used off the runtime
      for (std::size_t i = static_cast<std::size_t>(t); i < aborts.size(); i += 2) {
        aborts[i].abort();
        (void)aborts[i].is_finished();
      }
    });
  }
  int values = 0;
  int cancelled = 0;
  for (int i = 0; i < tasks; ++i) {
    try {
      EXPECT_EQ(co_await handles[static_cast<std::size_t>(i)], i);
      ++values;
    } catch (const kyoto::join_error& e) {
      EXPECT_TRUE(e.is_cancelled());
      ++cancelled;
    }
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(values + cancelled, tasks);
  EXPECT_EQ(dropped.load(), tasks);
  for (const auto& a : aborts)
    EXPECT_TRUE(a.is_finished());
}

}  // namespace
