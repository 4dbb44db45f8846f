// time::sleep and sleep_until on the runtime's timer wheel. Bounds are
// lower bounds only: an upper bound on a shared 2-core machine would be a
// flaky test, and performance lives in kyoto-bench.
#include "ct_test.hpp"
#include "drop_counter.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <vector>

using namespace std::chrono_literals;
using kclock = kyoto::time::clock;

namespace {

KYOTO_TEST(Sleep, WaitsAtLeastTheDuration) {
  for (auto d : {1ms, 3ms, 20ms}) {
    const auto start = kclock::now();
    co_await kyoto::time::sleep(d);
    EXPECT_GE(kclock::now() - start, d);
  }
}

KYOTO_TEST(Sleep, SleepUntilWaitsUntilTheDeadline) {
  const auto deadline = kclock::now() + 7ms;
  co_await kyoto::time::sleep_until(deadline);
  EXPECT_GE(kclock::now(), deadline);
}

KYOTO_CT_TEST(Sleep, APastDeadlineCompletesWithoutSuspending) {
  bool other_ran = false;
  auto h = kyoto::spawn([&other_ran]() -> kyoto::task<> {
    other_ran = true;
    co_return;
  });
  co_await kyoto::time::sleep_until(kclock::now() - 1s);
  co_await kyoto::time::sleep(0ms);
  co_await kyoto::time::sleep(-5ms);
  EXPECT_FALSE(other_ran);  // we never suspended, so the queued task did not run
  co_await h;
  EXPECT_TRUE(other_ran);
}

KYOTO_CT_TEST(Sleep, SleepersWakeInDeadlineOrder) {
  std::vector<int> order;
  std::vector<kyoto::join_handle<void>> handles;
  for (int ms : {30, 10, 20, 1, 15}) {
    handles.push_back(kyoto::spawn(
        [&order](int d) -> kyoto::task<> {
          co_await kyoto::time::sleep(std::chrono::milliseconds(d));
          order.push_back(d);
        },
        ms));
  }
  co_await kyoto::join_all(handles);
  EXPECT_EQ(order, (std::vector<int>{1, 10, 15, 20, 30}));
}

KYOTO_TEST(Sleep, TenThousandSleepersAllWakeAfterTheirDeadlines) {
  std::mt19937 rng(7);
  std::vector<kyoto::join_handle<bool>> handles;
  for (int i = 0; i < 10'000; ++i) {
    const auto d = std::chrono::milliseconds(1 + rng() % 25);
    handles.push_back(kyoto::spawn(
        [](std::chrono::milliseconds dur) -> kyoto::task<bool> {
          const auto start = kclock::now();
          co_await kyoto::time::sleep(dur);
          co_return kclock::now() - start >= dur;
        },
        d));
  }
  int on_time = 0;
  for (auto& h : handles)
    on_time += (co_await h) ? 1 : 0;
  EXPECT_EQ(on_time, 10'000);
}

// A cancelled sleep must leave the wheel: if its entry stayed, the wheel
// would wake a destroyed frame when the deadline passes (AddressSanitizer
// builds catch that; others crash or misbehave).
KYOTO_CT_TEST(Sleep, ACancelledSleepNeverFires) {
  std::atomic<int> dropped{0};
  auto h = kyoto::spawn(
      [](kyoto::test::drop_counter) -> kyoto::task<> { co_await kyoto::time::sleep(5ms); },
      kyoto::test::drop_counter(dropped));
  co_await kyoto::yield_now();
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
  co_await kyoto::time::sleep(20ms);  // past the cancelled deadline
}

KYOTO_TEST(Sleep, AHugeDurationWaitsForeverWithoutOverflow) {
  auto h = kyoto::spawn(
      []() -> kyoto::task<> { co_await kyoto::time::sleep(std::chrono::hours::max()); });
  co_await kyoto::yield_now();
  co_await kyoto::time::sleep(2ms);
  EXPECT_FALSE(h.is_finished());
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
}

KYOTO_TEST(Sleep, TheAwaiterReportsItsDeadline) {
  const auto deadline = kclock::now() + 3ms;
  auto s = kyoto::time::sleep_until(deadline);
  EXPECT_EQ(s.deadline(), deadline);
  EXPECT_FALSE(s.is_elapsed());
  co_await s;
  EXPECT_TRUE(s.is_elapsed());
  co_await s;  // a completed sleep completes again at once
}

}  // namespace
