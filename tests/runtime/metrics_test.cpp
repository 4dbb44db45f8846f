// runtime::metrics(): the counters of a running runtime.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace oneshot = kyoto::sync::oneshot;

TEST(Metrics, CountSpawnedAndAliveTasks) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  std::vector<oneshot::sender<int>> release;
  std::vector<kyoto::join_handle<void>> handles;
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    release.push_back(std::move(tx));
    handles.push_back(rt.spawn([](oneshot::receiver<int> r) -> kyoto::task<> { (void)co_await r; },
                               std::move(rx)));
  }
  kyoto::runtime_metrics m = rt.metrics();
  EXPECT_EQ(m.spawned_tasks, 100u);
  EXPECT_EQ(m.alive_tasks, 100u);
  release.clear();  // every task completes
  for (auto& h : handles)
    rt.block_on(h);  // each block_on spawns a root task too
  // block_on returns once the root's result is in; the worker counts the
  // root's completion just after: wait for that count.
  while (rt.metrics().alive_tasks != 0)
    std::this_thread::yield();
  m = rt.metrics();
  EXPECT_EQ(m.spawned_tasks, 200u);
  EXPECT_EQ(m.alive_tasks, 0u);
}

TEST(Metrics, ReportWorkersAndTheirPolls) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on([]() -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> hs;
    for (int i = 0; i < 1000; ++i)
      hs.push_back(kyoto::spawn([]() -> kyoto::task<> { co_return; }));
    for (auto& h : hs)
      co_await h;
  }());
  const kyoto::runtime_metrics m = rt.metrics();
  EXPECT_EQ(m.workers, 2u);
  ASSERT_EQ(m.worker.size(), 2u);
  std::uint64_t polls = 0;
  for (const auto& w : m.worker)
    polls += w.polls;
  EXPECT_GE(polls, 1001u);  // every task ran at least once
}

TEST(Metrics, CountStealsWhenAWorkerIsBusy) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on([]() -> kyoto::task<> {
    std::atomic<bool> done{false};
    // Queued behind a task that blocks its worker until they have all run:
    // only stealing runs them.
    auto busy = kyoto::spawn(
        [](std::atomic<bool>& d) -> kyoto::task<> {
          while (!d.load())
            std::this_thread::yield();
          co_return;
        },
        std::ref(done));
    std::vector<kyoto::join_handle<void>> hs;
    for (int i = 0; i < 64; ++i)
      hs.push_back(kyoto::spawn([]() -> kyoto::task<> { co_return; }));
    for (auto& h : hs)
      co_await h;
    done = true;
    co_await busy;
  }());
  std::uint64_t steals = 0;
  for (const auto& w : rt.metrics().worker)
    steals += w.steals;
  EXPECT_GE(steals, 1u);
}

TEST(Metrics, CountParksOfIdleWorkers) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on(kyoto::time::sleep(5ms));  // nothing to do meanwhile
  std::uint64_t parks = 0;
  for (const auto& w : rt.metrics().worker)
    parks += w.parks;
  EXPECT_GE(parks, 1u);
}

TEST(Metrics, ReportTheInjectionQueueDepth) {
  auto rt = kyoto::runtime::builder::current_thread().build();
  for (int i = 0; i < 10; ++i)
    rt.spawn([]() -> kyoto::task<> { co_return; });
  const kyoto::runtime_metrics m = rt.metrics();  // not driven yet: all injected
  EXPECT_EQ(m.workers, 1u);
  EXPECT_EQ(m.global_queue_depth, 10u);
  EXPECT_EQ(m.alive_tasks, 10u);
  rt.block_on(kyoto::yield_now());
  EXPECT_EQ(rt.metrics().global_queue_depth, 0u);
}

// The blocking pool's threads, and that an idle one exits after the
// keep-alive (time-based behaviour, so the test waits for time to pass).
TEST(Metrics, ReportBlockingThreadsAndTheirKeepAlive) {
  auto rt = kyoto::runtime::builder::multi_thread().thread_keep_alive(10ms).build();
  EXPECT_EQ(rt.metrics().blocking_threads, 0u);
  rt.block_on(rt.spawn_blocking([] {}));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (rt.metrics().blocking_threads != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(rt.metrics().blocking_threads, 0u);
}

}  // namespace
