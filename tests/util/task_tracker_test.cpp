// kyoto::task_tracker: the examples of tokio-util's TaskTracker
// documentation (0.7.9+, not in this machine's registry; written from its
// docs: "This is the basic example", "With graceful shutdown", track_future,
// close/reopen, len/is_empty) as tests, then kyoto's own: wait() on several
// workers, spawn_on from a foreign thread, a cancelled wait.
#include "ct_test.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/runtime/task_tracker.hpp>
#include <kyoto/sync/cancellation_token.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Docs: "This is a simple example. For this example, we want to run ten
// tasks and wait for all of them to exit."
KYOTO_TEST(TaskTracker, BasicExampleWaitsForEveryTask) {
  kyoto::task_tracker tracker;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    tracker.spawn(
        [](int n, std::atomic<int>& count) -> kyoto::task<> {
          co_await kyoto::time::sleep(std::chrono::milliseconds(n));
          count.fetch_add(1);
        },
        i, std::ref(done));
  }
  // Once we spawned everything, we close the tracker.
  tracker.close();
  // Wait for everything to finish.
  co_await tracker.wait();
  EXPECT_EQ(done.load(), 10);
  EXPECT_TRUE(tracker.is_empty());
}

// Docs: "With graceful shutdown" (a CancellationToken tells the tasks to
// stop; the tracker waits for them).
KYOTO_TEST(TaskTracker, GracefulShutdownWithCancellationToken) {
  kyoto::task_tracker tracker;
  kyoto::sync::cancellation_token token;
  std::atomic<int> stopped{0};
  for (int i = 0; i < 10; ++i) {
    tracker.spawn(
        [](kyoto::sync::cancellation_token t, std::atomic<int>& count) -> kyoto::task<> {
          co_await t.cancelled();
          count.fetch_add(1);
        },
        token, std::ref(stopped));
  }
  tracker.close();
  token.cancel();
  co_await tracker.wait();
  EXPECT_EQ(stopped.load(), 10);
}

// Docs of close()/reopen()/len()/is_closed().
KYOTO_CT_TEST(TaskTracker, CloseReopenAndLen) {
  kyoto::task_tracker tracker;
  EXPECT_FALSE(tracker.is_closed());
  EXPECT_TRUE(tracker.is_empty());
  EXPECT_TRUE(tracker.close());
  EXPECT_FALSE(tracker.close());
  EXPECT_TRUE(tracker.is_closed());
  co_await tracker.wait();  // closed and empty: at once
  EXPECT_TRUE(tracker.reopen());
  EXPECT_FALSE(tracker.reopen());

  auto h = tracker.spawn([]() -> kyoto::task<int> {
    co_await kyoto::time::sleep(5ms);
    co_return 7;
  });
  EXPECT_EQ(tracker.len(), 1u);
  EXPECT_FALSE(tracker.is_empty());
  EXPECT_EQ(co_await h, 7);
  EXPECT_EQ(tracker.len(), 0u);
}

// The waiter is not woken while the tracker is open, even when empty.
KYOTO_CT_TEST(TaskTracker, WaitNeedsCloseAndEmpty) {
  kyoto::task_tracker tracker;
  auto tok = std::make_unique<kyoto::task_tracker_token>(tracker.token());
  auto w = kyoto::spawn([](kyoto::task_tracker t) -> kyoto::task<> { co_await t.wait(); }, tracker);
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(w.is_finished());
  tracker.close();
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(w.is_finished());  // a token still counts
  tracker.reopen();
  tok.reset();
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(w.is_finished());  // empty but open
  tracker.close();
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(w));
}

// Docs of track_future: an operation counts from track() until it is gone.
KYOTO_CT_TEST(TaskTracker, TrackCountsTheOperation) {
  kyoto::task_tracker tracker;
  {
    kyoto::task<> op = tracker.track(kyoto::time::sleep(1ms));
    EXPECT_EQ(tracker.len(), 1u);
    {
      kyoto::task<int> other = tracker.track([]() -> kyoto::task<int> {
        co_return 3;
      }());
      EXPECT_EQ(tracker.len(), 2u);
      const int v = co_await std::move(other);
      EXPECT_EQ(v, 3);
    }
    EXPECT_EQ(tracker.len(), 1u);
    co_await std::move(op);
  }
  EXPECT_EQ(tracker.len(), 0u);
  {
    kyoto::task<> dropped = tracker.track(kyoto::time::sleep(1ms));
    EXPECT_EQ(tracker.len(), 1u);
  }
  EXPECT_EQ(tracker.len(), 0u);  // destroyed unstarted: no longer counts
}

KYOTO_TEST(TaskTracker, SpawnOnFromAForeignThread) {
  kyoto::task_tracker tracker;
  kyoto::handle h = kyoto::handle::current();
  std::atomic<int> ran{0};
  std::thread t([&] {
    for (int i = 0; i < 20; ++i) {
      tracker.spawn_on(
          h,
          [](std::atomic<int>& count) -> kyoto::task<> {
            count.fetch_add(1);
            co_return;
          },
          std::ref(ran));
    }
    tracker.close();
  });
  t.join();
  co_await tracker.wait();
  EXPECT_EQ(ran.load(), 20);
}

KYOTO_TEST(TaskTracker, ManyWaitersOnSeveralWorkers) {
  kyoto::task_tracker tracker;
  std::vector<kyoto::join_handle<void>> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(
        kyoto::spawn([](kyoto::task_tracker t) -> kyoto::task<> { co_await t.wait(); }, tracker));
  }
  for (int i = 0; i < 50; ++i) {
    tracker.spawn([]() -> kyoto::task<> { co_await kyoto::yield_now(); });
  }
  tracker.close();
  for (auto& w : waiters)
    co_await w;
  EXPECT_TRUE(tracker.is_empty());
}

KYOTO_TEST(TaskTracker, WaitIsCancelSafe) {
  kyoto::task_tracker tracker;
  auto tok = std::make_unique<kyoto::task_tracker_token>(tracker.token());
  tracker.close();
  auto r = co_await kyoto::time::timeout(2ms, tracker.wait());
  EXPECT_FALSE(r.has_value());
  tok.reset();
  co_await tracker.wait();
}

}  // namespace
