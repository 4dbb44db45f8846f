// The multi_thread (work-stealing) runtime. Ports what applies of tokio's
// tests/rt_threaded.rs:
//   single_thread                  -> OneWorkerRunsTasks
//   many_oneshot_futures           -> TasksSpawnedFromAPlainThreadAllRun
//   spawn_two                      -> ATaskSpawnedByASpawnedTaskRuns (its metrics
//                                     asserts: metrics_test.cpp)
//   many_multishot_futures         -> MessagesTravelThroughLongChainsOfForwardingTasks
//   drop_threadpool_drops_futures  -> DroppingTheRuntimeDropsPendingTasksOnItsWorkers
//   multi_threadpool               -> TwoRuntimesSignalEachOther
//   wake_during_shutdown           -> runtime_test.cpp's
//                                     RtCommon.WakesAndSpawnsDuringShutdownAreHandled
//   start_stop_callbacks_called    -> ThreadStartAndStopHooksRunOncePerWorker
//   spawn_shutdown                 left out: TCP (the I/O issue)
//   blocking, coop_and_block_in_place, yield_after_block_in_place,
//   test_block_in_place*           left out: block_in_place is not in kyoto
//   max_blocking_threads*, hang_on_shutdown
//                                  -> spawn_blocking_test.cpp

#include "errors.hpp"
#include "scoped_env.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

kyoto::runtime multi_thread(std::size_t workers = 2) {
  return kyoto::runtime::builder::multi_thread().worker_threads(workers).build();
}

TEST(MultiThread, OneWorkerRunsTasks) {
  auto rt = multi_thread(1);
  EXPECT_EQ(rt.block_on(rt.spawn([]() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    co_return 7;
  })),
            7);
}

TEST(MultiThread, TasksSpawnedFromAPlainThreadAllRun) {
  constexpr int n = 1'000;
  for (int round = 0; round < 5; ++round) {
    auto rt = multi_thread();
    std::atomic<int> count{0};
    std::atomic<bool> done{false};
    for (int i = 0; i < n; ++i) {
      rt.spawn(
          [](std::atomic<int>& c, std::atomic<bool>& d) -> kyoto::task<> {
            if (c.fetch_add(1) + 1 == n) {
              d = true;
              d.notify_one();
            }
            co_return;
          },
          std::ref(count), std::ref(done));
    }
    done.wait(false);
    EXPECT_EQ(count.load(), n);
  }
}

TEST(MultiThread, ATaskSpawnedByASpawnedTaskRuns) {
  auto rt = multi_thread();
  auto out = rt.block_on([]() -> kyoto::task<std::string> {
    auto [tx, rx] = kyoto::sync::oneshot::channel<std::string>();
    kyoto::spawn(
        [](kyoto::sync::oneshot::sender<std::string> s) -> kyoto::task<> {
          kyoto::spawn(
              [](kyoto::sync::oneshot::sender<std::string> inner) -> kyoto::task<> {
                inner.send("ZOMG").value();
                co_return;
              },
              std::move(s));
          co_return;
        },
        std::move(tx));
    auto v = co_await rx;
    co_return v.value();
  }());
  EXPECT_EQ(out, "ZOMG");
}

TEST(MultiThread, MessagesTravelThroughLongChainsOfForwardingTasks) {
  constexpr int chain = 200, cycles = 5, tracks = 20;
  namespace mpsc = kyoto::sync::mpsc;
  for (int round = 0; round < 5; ++round) {
    auto rt = multi_thread();
    std::vector<mpsc::sender<int>> starts;
    std::vector<mpsc::receiver<int>> finals;
    for (int t = 0; t < tracks; ++t) {
      auto [start_tx, first_rx] = mpsc::channel<int>(10);
      mpsc::receiver<int> chain_rx = std::move(first_rx);
      for (int c = 0; c < chain; ++c) {
        auto [next_tx, next_rx] = mpsc::channel<int>(10);
        rt.spawn(
            [](mpsc::receiver<int> in, mpsc::sender<int> out) -> kyoto::task<> {
              while (auto v = co_await in.recv())
                (co_await out.send(*v)).value();
            },
            std::move(chain_rx), std::move(next_tx));
        chain_rx = std::move(next_rx);
      }
      auto [final_tx, final_rx] = mpsc::channel<int>(10);
      rt.spawn(
          [](mpsc::receiver<int> in, mpsc::sender<int> done,
             mpsc::sender<int> cycle) -> kyoto::task<> {
            for (int rem = cycles; rem > 0; --rem) {
              const int v = *co_await in.recv();
              if (rem == 1) {
                (co_await done.send(v)).value();
              } else {
                (co_await cycle.send(v + 1)).value();
              }
            }
          },
          std::move(chain_rx), std::move(final_tx), start_tx);
      starts.push_back(std::move(start_tx));
      finals.push_back(std::move(final_rx));
    }
    rt.block_on([](std::vector<mpsc::sender<int>>& s,
                   std::vector<mpsc::receiver<int>>& f) -> kyoto::task<> {
      for (auto& tx : s)
        (co_await tx.send(0)).value();
      for (auto& rx : f)
        EXPECT_EQ(co_await rx.recv(), std::optional<int>(cycles - 1));
    }(starts, finals));
  }
}

thread_local bool on_a_worker = false;

/// Counts its destruction, and whether it happened on a worker thread.
class counted_drop {
 public:
  counted_drop(std::atomic<int>& dropped, std::atomic<int>& on_worker) noexcept
      : dropped_(&dropped), on_worker_(&on_worker) {}
  counted_drop(counted_drop&& o) noexcept
      : dropped_(std::exchange(o.dropped_, nullptr)), on_worker_(o.on_worker_) {}
  counted_drop& operator=(counted_drop&&) = delete;
  ~counted_drop() {
    if (dropped_ == nullptr) return;
    dropped_->fetch_add(1);
    if (on_a_worker) on_worker_->fetch_add(1);
  }

 private:
  std::atomic<int>* dropped_;
  std::atomic<int>* on_worker_;
};

// tokio's Never future is dropped whether or not it ever ran: here the
// guard is the task's argument, alive from the spawn.
TEST(MultiThread, DroppingTheRuntimeDropsPendingTasksOnItsWorkers) {
  for (int round = 0; round < 100; ++round) {
    std::atomic<int> dropped{0};
    std::atomic<int> dropped_on_worker{0};
    {
      auto rt = kyoto::runtime::builder::multi_thread()
                    .worker_threads(2)
                    .on_thread_start([] { on_a_worker = true; })
                    .build();
      rt.spawn(
          [](counted_drop guard) -> kyoto::task<> {
            co_await kyoto::time::sleep(1h);  // never completes
            (void)guard;
          },
          counted_drop(dropped, dropped_on_worker));
    }
    EXPECT_EQ(dropped.load(), 1);
    EXPECT_EQ(dropped_on_worker.load(), 1);  // on a runtime thread
  }
}

TEST(MultiThread, ThreadStartAndStopHooksRunOncePerWorker) {
  std::atomic<int> started{0}, stopped{0};
  {
    auto rt = kyoto::runtime::builder::multi_thread()
                  .worker_threads(3)
                  .on_thread_start([&] { started++; })
                  .on_thread_stop([&] { stopped++; })
                  .build();
    rt.block_on(kyoto::yield_now());
  }
  EXPECT_EQ(started.load(), 3);
  EXPECT_EQ(stopped.load(), 3);
}

TEST(MultiThread, TwoRuntimesSignalEachOther) {
  auto rt1 = multi_thread();
  auto rt2 = multi_thread();
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto waiting = rt2.spawn(
      [](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<int> {
        auto v = co_await r;
        co_return v.value();
      },
      std::move(rx));
  rt1.spawn(
      [](kyoto::sync::oneshot::sender<int> s) -> kyoto::task<> {
        s.send(5).value();
        co_return;
      },
      std::move(tx));
  EXPECT_EQ(rt2.block_on(waiting), 5);
}

// A worker stuck in a long computation must not strand the tasks queued
// behind it: another worker steals them. The stuck task waits (spinning,
// blocking its worker) until the others have done their work; without
// stealing it would wait forever and the test would time out.
KYOTO_TEST(MultiThread, TasksQueuedBehindABusyWorkerAreStolen) {
  std::atomic<bool> others_done{false};
  auto busy = kyoto::spawn(
      [](std::atomic<bool>& done) -> kyoto::task<> {
        while (!done.load())
          std::this_thread::yield();  // blocks its worker
        co_return;
      },
      std::ref(others_done));
  std::vector<kyoto::join_handle<int>> others;
  for (int i = 0; i < 100; ++i) {
    others.push_back(kyoto::spawn([](int v) -> kyoto::task<int> { co_return v; }, i));
  }
  int sum = 0;
  for (auto& h : others)
    sum += co_await h;
  others_done = true;
  co_await busy;
  EXPECT_EQ(sum, 99 * 100 / 2);
}

TEST(MultiThread, ManyTasksSpreadOverTheWorkers) {
  // Spread however busy the machine is (CI's): no concentration on worker 0
  // (scheduler/multi_thread/scheduler.hpp).
  const kyoto::test::scoped_env spread("KYOTO_CONCENTRATE", "off");
  auto rt = multi_thread();
  std::mutex m;
  std::set<std::thread::id> threads;
  rt.block_on([&]() -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> handles;
    for (int i = 0; i < 2'000; ++i) {
      handles.push_back(kyoto::spawn(
          [](std::mutex& mu, std::set<std::thread::id>& seen) -> kyoto::task<> {
            const auto until = std::chrono::steady_clock::now() + 20us;  // a little work
            while (std::chrono::steady_clock::now() < until) {
            }
            std::lock_guard g(mu);
            seen.insert(std::this_thread::get_id());
            co_return;
          },
          std::ref(m), std::ref(threads)));
    }
    for (auto& h : handles)
      co_await h;
  }());
  EXPECT_GE(threads.size(), 2u);
}

TEST(MultiThread, TimersFireOnEveryWorker) {
  auto rt = multi_thread();
  const int on_time = rt.block_on([]() -> kyoto::task<int> {
    std::vector<kyoto::join_handle<bool>> handles;
    for (int i = 0; i < 10'000; ++i) {
      handles.push_back(kyoto::spawn(
          [](int ms) -> kyoto::task<bool> {
            const auto start = std::chrono::steady_clock::now();
            const auto d = std::chrono::milliseconds(ms);
            co_await kyoto::time::sleep(d);
            co_return std::chrono::steady_clock::now() - start >= d;
          },
          1 + i % 10));
    }
    int ok = 0;
    for (auto& h : handles)
      ok += (co_await h) ? 1 : 0;
    co_return ok;
  }());
  EXPECT_EQ(on_time, 10'000);
}

TEST(MultiThread, SeveralThreadsCanBlockOnOneRuntimeAtOnce) {
  auto rt = multi_thread();
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&rt, &total, t] {
      total += rt.block_on([](int v) -> kyoto::task<int> {
        co_await kyoto::time::sleep(2ms);
        co_return v;
      }(t));
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(total.load(), 0 + 1 + 2 + 3);
}

TEST(MultiThread, ZeroWorkerThreadsIsRejected) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [&] { (void)kyoto::runtime::builder::multi_thread().worker_threads(0).build(); },
      "worker_threads");
}

}  // namespace
