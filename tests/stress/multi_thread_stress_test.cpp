// Stress for the work-stealing runtime: a million tasks fanning out and
// in, wake storms from plain threads, abort racing completion, shutdown
// while tasks run and wake each other. Built twice: against the library,
// and against a build whose local queues hold 4 tasks (the overflow and
// steal edges every few spawns). Run under ThreadSanitizer and
// AddressSanitizer in CI.
#include "drop_counter.hpp"
#include "errors.hpp"

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

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;

kyoto::runtime two_workers() {
  return kyoto::runtime::builder::multi_thread().worker_threads(2).build();
}

/// Scaled down under the sanitizers, which slow everything 5-20x.
constexpr int scale(int n) {
  return kyoto::detail::address_sanitizer || kyoto::detail::thread_sanitizer ? n / 10 : n;
}

TEST(MultiThreadStress, AMillionTasksFanOutAndIn) {
  auto rt = two_workers();
  const long long n = scale(1'000'000);
  const long long sum = rt.block_on([](long long count) -> kyoto::task<long long> {
    // Fan out in waves of spawners, each spawning its share; fan in through
    // join handles.
    constexpr int spawners = 100;
    std::vector<kyoto::join_handle<long long>> waves;
    for (int s = 0; s < spawners; ++s) {
      waves.push_back(kyoto::spawn(
          [](long long first, long long k) -> kyoto::task<long long> {
            std::vector<kyoto::join_handle<long long>> hs;
            hs.reserve(static_cast<std::size_t>(k));
            for (long long i = first; i < first + k; ++i) {
              hs.push_back(
                  kyoto::spawn([](long long v) -> kyoto::task<long long> { co_return v; }, i));
            }
            long long part = 0;
            for (auto& h : hs)
              part += co_await h;
            co_return part;
          },
          s*(count / spawners), count / spawners));
    }
    long long total = 0;
    for (auto& w : waves)
      total += co_await w;
    co_return total;
  }(n));
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

// Plain threads wake tasks on the runtime as fast as they can: every value
// arrives once, no wake-up is lost (a lost one hangs the test).
TEST(MultiThreadStress, WakeStormsFromPlainThreads) {
  auto rt = two_workers();
  constexpr int receivers = 16;
  constexpr int per_receiver = scale(5'000);
  std::vector<mpsc::unbounded_sender<int>> txs;
  std::vector<kyoto::join_handle<long long>> sums;
  for (int r = 0; r < receivers; ++r) {
    auto [tx, rx] = mpsc::unbounded_channel<int>();
    txs.push_back(std::move(tx));
    sums.push_back(rt.spawn(
        [](mpsc::receiver<int> in) -> kyoto::task<long long> {
          long long s = 0;
          while (auto v = co_await in.recv())
            s += *v;
          co_return s;
        },
        std::move(rx)));
  }
  std::vector<std::thread> wakers;
  for (int t = 0; t < 4; ++t) {
    wakers.emplace_back([&txs, t] {
      for (int i = 0; i < per_receiver; ++i) {
        txs[static_cast<std::size_t>((i + t) % receivers)].send(1).value();
      }
    });
  }
  for (auto& w : wakers)
    w.join();
  txs.clear();
  long long total = 0;
  for (auto& s : sums)
    total += rt.block_on(s);
  EXPECT_EQ(total, 4LL * per_receiver);
}

// Tasks on both workers, aborted from another task and from a plain thread
// while they run, suspend and finish: each ends exactly once.
TEST(MultiThreadStress, AbortRacesCompletion) {
  auto rt = two_workers();
  const int n = scale(20'000);
  std::atomic<int> finished{0};
  std::vector<kyoto::join_handle<void>> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(rt.spawn(
        [](int v, std::atomic<int>& f) -> kyoto::task<> {
          for (int k = 0; k < v % 5; ++k)
            co_await kyoto::yield_now();
          f.fetch_add(1);
        },
        i, std::ref(finished)));
  }
  std::thread plain([&handles] {
    for (std::size_t i = 0; i < handles.size(); i += 3)
      handles[i].abort();
  });
  auto from_task = rt.spawn(
      [](std::vector<kyoto::join_handle<void>>& hs) -> kyoto::task<> {
        for (std::size_t i = 1; i < hs.size(); i += 3)
          hs[i].abort();
        co_return;
      },
      std::ref(handles));
  plain.join();
  rt.block_on(from_task);
  int completed = 0, cancelled = 0;
  for (auto& h : handles) {
    try {
      rt.block_on(h);
      ++completed;
    } catch (const kyoto::join_error&) {
      ++cancelled;
    }
  }
  EXPECT_EQ(completed + cancelled, n);
  EXPECT_EQ(finished.load(), completed);  // a task that finished was not cancelled
}

// Drop the runtime while its tasks run and wake each other through
// channels: every task is cancelled, every destructor runs, nothing leaks.
TEST(MultiThreadStress, ShutdownWhileTasksRunAndWakeEachOther) {
  for (int round = 0; round < scale(200); ++round) {
    std::atomic<int> dropped{0};
    constexpr int pairs = 8;
    {
      auto rt = two_workers();
      for (int p = 0; p < pairs; ++p) {
        auto [a_tx, a_rx] = mpsc::channel<int>(1);
        auto [b_tx, b_rx] = mpsc::channel<int>(1);
        a_tx.try_send(0).value();
        // Two tasks ping-ponging forever.
        for (int side = 0; side < 2; ++side) {
          // NOLINTNEXTLINE(bugprone-use-after-move): each is moved once, on its side
          auto in = side == 0 ? std::move(a_rx) : std::move(b_rx);
          auto out = side == 0 ? b_tx : a_tx;
          rt.spawn(
              [](mpsc::receiver<int> r, mpsc::sender<int> s,
                 kyoto::test::drop_counter) -> kyoto::task<> {
                while (auto v = co_await r.recv()) {
                  if (!(co_await s.send(*v + 1)).has_value()) co_return;
                }
              },
              std::move(in), std::move(out), kyoto::test::drop_counter(dropped));
        }
      }
      rt.block_on(kyoto::yield_now());
    }
    EXPECT_EQ(dropped.load(), 2 * pairs);
  }
}

// Tasks that only yield sit in the queues RUNNING|NOTIFIED (see
// task_header.hpp): aborting them from a plain thread, and dropping the
// runtime under them, must cancel each exactly once and run its destructors.
TEST(MultiThreadStress, AbortAndShutdownWhileTasksKeepYielding) {
  for (int round = 0; round < scale(100); ++round) {
    std::atomic<int> dropped{0};
    constexpr int tasks = 64;
    {
      auto rt = two_workers();
      std::vector<kyoto::join_handle<void>> handles;
      for (int i = 0; i < tasks; ++i) {
        handles.push_back(rt.spawn(
            [](kyoto::test::drop_counter) -> kyoto::task<> {
              for (;;)
                co_await kyoto::yield_now();
            },
            kyoto::test::drop_counter(dropped)));
      }
      std::thread plain([&handles] {
        for (std::size_t i = 0; i < handles.size(); i += 2)
          handles[i].abort();
      });
      plain.join();
      for (std::size_t i = 0; i < handles.size(); i += 2) {
        if (const auto e =
                kyoto::test::expect_throws<kyoto::join_error>([&] { rt.block_on(handles[i]); })) {
          EXPECT_TRUE(e->is_cancelled());
        }
      }
      EXPECT_EQ(dropped.load(), tasks / 2);
    }
    EXPECT_EQ(dropped.load(), tasks);
  }
}

// A oneshot per round trip between the workers, many times: the LIFO slot
// and the steal paths in the message-passing pattern.
TEST(MultiThreadStress, PingPongAcrossWorkers) {
  auto rt = two_workers();
  const int rounds = scale(50'000);
  rt.block_on([](int n) -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> hs;
    for (int i = 0; i < n; ++i) {
      hs.push_back(kyoto::spawn([]() -> kyoto::task<> {
        auto [tx1, rx1] = oneshot::channel<int>();
        auto [tx2, rx2] = oneshot::channel<int>();
        kyoto::spawn(
            [](oneshot::receiver<int> r, oneshot::sender<int> s) -> kyoto::task<> {
              auto v = co_await r;
              s.send(v.value() + 1).value();
            },
            std::move(rx1), std::move(tx2));
        tx1.send(1).value();
        auto back = co_await rx2;
        EXPECT_EQ(back.value(), 2);
      }));
    }
    for (auto& h : hs)
      co_await h;
  }(rounds));
}

}  // namespace
