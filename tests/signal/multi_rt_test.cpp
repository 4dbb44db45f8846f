// Ported from tokio 1.24 tests/signal_multi_rt.rs: listeners on several
// runtimes at once, each on its own thread, all see one delivery.
#include "send_signal.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using kyoto::signal::unix::signal_kind;

/// What the threads of one round share.
struct round_state {
  std::mutex m;
  std::condition_variable cv;
  int ready = 0;
};

/// tokio's `rt.block_on(async { let mut signal = ...; sender.send(()); signal.recv().await })`:
/// the listener is made, and readiness reported, inside block_on, so every
/// runtime of a round is running (its ring open) when the signal is sent.
kyoto::task<bool> listen_once(round_state* st) {
  auto sig = kyoto::signal::unix::signal(signal_kind::hangup());
  {
    std::lock_guard<std::mutex> g(st->m);
    ++st->ready;
  }
  st->cv.notify_one();
  auto r = co_await sig.recv();
  co_return r.has_value();
}

// tokio: multi_loop
TEST(SignalMultiRt, MultiLoop) {
  for (int round = 0; round < 10; ++round) {
    round_state st;
    std::atomic<int> got{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
        if (rt.block_on(listen_once(&st))) got.fetch_add(1);
      });
    }
    {
      std::unique_lock<std::mutex> g(st.m);
      st.cv.wait(g, [&] { return st.ready == 4; });
    }
    kyoto::test::send_signal(SIGHUP);
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(got.load(), 4);
  }
}

// The same on one multi_thread runtime: listeners on every worker.
TEST(SignalMultiRt, EveryWorkerOfAMultiThreadRuntime) {
  kyoto::runtime rt =
      kyoto::runtime::builder::multi_thread().worker_threads(4).enable_all().build();
  std::vector<kyoto::join_handle<bool>> hs;
  std::atomic<int> ready{0};
  for (int i = 0; i < 16; ++i) {
    hs.push_back(rt.spawn(
        [](std::atomic<int>& r) -> kyoto::task<bool> {
          auto sig = kyoto::signal::unix::signal(signal_kind::hangup());
          r.fetch_add(1);
          auto v = co_await sig.recv();
          co_return v.has_value();
        },
        std::ref(ready)));
  }
  while (ready.load() < 16)
    std::this_thread::yield();
  kyoto::test::send_signal(SIGHUP);
  for (auto& h : hs)
    EXPECT_TRUE(rt.block_on(std::move(h)));
}

}  // namespace
