// spawn_blocking and the blocking pool; runtime::shutdown_timeout.
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Busy-waits (yielding the CPU) until `flag` is set: a blocking function's
/// "work", released by the test.
void wait_for(const std::atomic<bool>& flag) {
  while (!flag.load())
    std::this_thread::yield();
}

KYOTO_TEST(SpawnBlocking, GivesTheFunctionsValue) {
  EXPECT_EQ(co_await kyoto::spawn_blocking([](int a, int b) { return a * b; }, 6, 7), 42);
  co_await kyoto::spawn_blocking([] {});  // void
}

KYOTO_TEST(SpawnBlocking, RethrowsTheFunctionsException) {
  auto h = kyoto::spawn_blocking([]() -> int { throw std::runtime_error("blocking failed"); });
  co_await kyoto::test::expect_throws_async<std::runtime_error>(
      [&]() -> auto& { return h; }, kyoto::test::whole_message("blocking failed"));
}

KYOTO_TEST(SpawnBlocking, RunsOnAPlainThreadWhereBlockingCallsAreAllowed) {
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  tx.send(5).value();
  const int got = co_await kyoto::spawn_blocking(
      [](kyoto::sync::mpsc::receiver<int> in) {
        EXPECT_THROW((void)kyoto::handle::current(), std::logic_error);  // not a runtime thread
        return *in.blocking_recv();
      },
      std::move(rx));
  EXPECT_EQ(got, 5);
}

// On one worker, a blocking function that waits for an async task's result
// would deadlock if it ran on the worker.
KYOTO_TEST_WITH(SpawnBlocking, DoesNotBlockTheWorkers,
                kyoto::runtime::builder::multi_thread().worker_threads(1)) {
  std::atomic<bool> async_done{false};
  auto blocking = kyoto::spawn_blocking([&async_done] {
    wait_for(async_done);
    return 1;
  });
  auto async = kyoto::spawn(
      [](std::atomic<bool>& done) -> kyoto::task<> {
        co_await kyoto::yield_now();
        done = true;
      },
      std::ref(async_done));
  co_await async;
  EXPECT_EQ(co_await blocking, 1);
}

KYOTO_TEST(SpawnBlocking, ThePoolGrowsToRunTasksAtOnce) {
  constexpr int n = 8;
  std::atomic<int> running{0};
  std::atomic<bool> release{false};
  std::vector<kyoto::join_handle<void>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(kyoto::spawn_blocking([&running, &release] {
      running++;
      wait_for(release);
    }));
  }
  // All eight run at once (otherwise this loop never ends): eight threads.
  while (running.load() < n)
    co_await kyoto::yield_now();
  release = true;
  for (auto& h : hs)
    co_await h;
}

KYOTO_TEST_WITH(SpawnBlocking, BeyondTheLimitTasksWaitForAThread,
                kyoto::runtime::builder::multi_thread().max_blocking_threads(2)) {
  std::atomic<int> running{0}, peak{0};
  std::vector<kyoto::join_handle<void>> hs;
  for (int i = 0; i < 6; ++i) {
    hs.push_back(kyoto::spawn_blocking([&running, &peak] {
      const int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(2ms);  // the work; not synchronisation
      --running;
    }));
  }
  for (auto& h : hs)
    co_await h;
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
}

KYOTO_TEST_WITH(SpawnBlocking, AnAbortedQueuedTaskNeverRuns,
                kyoto::runtime::builder::multi_thread().max_blocking_threads(1)) {
  std::atomic<bool> release{false};
  std::atomic<bool> second_ran{false};
  auto first = kyoto::spawn_blocking([&release] { wait_for(release); });
  auto second = kyoto::spawn_blocking([&second_ran] { second_ran = true; });
  second.abort();  // still queued behind `first` (one thread)
  release = true;
  co_await first;
  EXPECT_THROW(co_await second, kyoto::join_error);
  EXPECT_FALSE(second_ran.load());
}

// tokio runs the blocking tasks spawned before shutdown, queued ones too:
// the second task is queued behind the first (one thread), which is held
// until shutdown_timeout has given up on it.
TEST(SpawnBlocking, TasksQueuedAtShutdownStillRun) {
  std::atomic<int> ran{0};
  std::atomic<bool> release{false};
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().max_blocking_threads(1).build();
  auto first = rt.spawn_blocking([&] {
    wait_for(release);
    ++ran;
  });
  auto queued = rt.spawn_blocking([&ran] { ++ran; });
  EXPECT_FALSE(std::move(rt).shutdown_timeout(20ms));  // the first is still held
  EXPECT_FALSE(queued.is_finished());
  release = true;
  kyoto::runtime other;
  other.block_on(std::move(first));
  other.block_on(std::move(queued));  // ran, not cancelled
  EXPECT_EQ(ran.load(), 2);
}

TEST(SpawnBlocking, OutsideARuntimeThreadThrowsButTheRuntimeAndHandlesWork) {
  EXPECT_THROW(kyoto::spawn_blocking([] { return 1; }), std::logic_error);
  kyoto::runtime rt;
  EXPECT_EQ(rt.block_on(rt.spawn_blocking([] { return 2; })), 2);
  EXPECT_EQ(rt.block_on(rt.handle().spawn_blocking([] { return 3; })), 3);
}

TEST(SpawnBlocking, DroppingTheRuntimeWaitsForRunningBlockingTasks) {
  std::atomic<bool> started{false}, finished{false};
  {
    kyoto::runtime rt;
    rt.spawn_blocking([&started, &finished] {
      started = true;
      std::this_thread::sleep_for(30ms);  // the work; not synchronisation
      finished = true;
    });
    while (!started.load())
      std::this_thread::yield();
  }
  EXPECT_TRUE(finished.load());
}

TEST(SpawnBlocking, ShutdownTimeoutGivesUpOnTasksStillRunning) {
  std::atomic<bool> started{false}, release{false}, finished{false};
  kyoto::runtime rt;
  rt.spawn_blocking([&] {
    started = true;
    wait_for(release);
    finished = true;
  });
  while (!started.load())
    std::this_thread::yield();
  EXPECT_FALSE(std::move(rt).shutdown_timeout(20ms));
  EXPECT_FALSE(finished.load());
  release = true;  // the abandoned thread finishes on its own
  while (!finished.load())
    std::this_thread::yield();
}

TEST(SpawnBlocking, ShutdownTimeoutReturnsTrueWhenNothingRuns) {
  kyoto::runtime rt;
  EXPECT_EQ(rt.block_on(rt.spawn_blocking([] { return 1; })), 1);
  EXPECT_TRUE(std::move(rt).shutdown_timeout(1s));
}

TEST(SpawnBlocking, ZeroMaxBlockingThreadsIsRejected) {
  EXPECT_THROW((void)kyoto::runtime::builder::multi_thread().max_blocking_threads(0).build(),
               std::invalid_argument);
}

}  // namespace
