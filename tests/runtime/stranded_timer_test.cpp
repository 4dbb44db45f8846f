// No timer stranded behind a busy worker (issue 14): a worker fires its own
// timers only between tasks, so while one of its tasks computes, the
// runtime's watchdog fires them (scheduler/multi_thread/watchdog.hpp) and
// an idle worker runs the woken tasks. The bounds are generous (CI runs
// this under sanitizers on a shared machine); the measured times are
// printed.
#include "spin.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(StrandedTimer, SleepOnABusyWorkerCompletesOnTime) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  std::atomic<bool> stop{false};
  const clock_type::duration slept = rt.block_on([&]() -> kyoto::task<clock_type::duration> {
    auto sleeper = kyoto::spawn([&]() -> kyoto::task<clock_type::duration> {
      const auto start = clock_type::now();
      // The spinner takes this worker's LIFO slot (which nobody steals)
      // and runs as soon as we suspend: our timer is on its worker.
      auto spinner = kyoto::spawn([&]() -> kyoto::task<> {
        kyoto::test::spin_until(stop, 1s);
        co_return;
      });
      co_await kyoto::time::sleep(20ms);
      const auto took = clock_type::now() - start;
      stop.store(true, std::memory_order_relaxed);
      co_await spinner;
      co_return took;
    });
    co_return co_await sleeper;
  }());
  const auto ms = std::chrono::duration<double, std::milli>(slept).count();
  std::cout << "a 20 ms sleep behind a worker spinning for 1 s took " << ms << " ms\n";
  EXPECT_GE(slept, 20ms);
  EXPECT_LT(slept, 500ms);  // 1,000 ms when the timer waited for its worker
}

TEST(StrandedTimer, IntervalKeepsTickingBesideABusyTask) {
  // Ten 10 ms ticks of an interval whose timer lives on a worker that
  // computes for a second meanwhile.
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  std::atomic<bool> stop{false};
  const clock_type::duration total = rt.block_on([&]() -> kyoto::task<clock_type::duration> {
    auto ticker = kyoto::spawn([&]() -> kyoto::task<clock_type::duration> {
      kyoto::time::interval ticks =
          kyoto::time::interval_at(kyoto::time::clock::now() + 10ms, 10ms);
      const auto start = clock_type::now();
      auto spinner = kyoto::spawn([&]() -> kyoto::task<> {
        kyoto::test::spin_until(stop, 1s);
        co_return;
      });
      for (int i = 0; i < 10; ++i)
        co_await ticks.tick();
      const auto took = clock_type::now() - start;
      stop.store(true, std::memory_order_relaxed);
      co_await spinner;
      co_return took;
    });
    co_return co_await ticker;
  }());
  EXPECT_LT(total, 700ms);
}

}  // namespace
