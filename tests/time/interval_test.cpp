// time::interval. Ports tokio's tests/time_interval.rs (tokio 1.24) and the
// examples of its interval docs. tokio's tests advance a paused clock; here
// the clock is real, so a consumer is made late by sleeping past a tick,
// and each tick's instant is checked against the rule given the moments
// before and after the tick() that scheduled it: on a loaded machine a tick
// may itself be served late, and the check accepts what tokio would do
// then. No upper bound on wall time is asserted.
#include "ct_test.hpp"
#include "errors.hpp"
#include "flavours.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
namespace ktime = kyoto::time;
using kclock = kyoto::time::clock;
using behavior = kyoto::time::missed_tick_behavior;

namespace {

constexpr kclock::duration period = 30ms;
constexpr kclock::duration slack = 5ms;  // tokio's: later than this, a tick was missed

/// One tick: its scheduled instant, and the clock around the tick() call.
struct tick_record {
  ktime::instant at;
  ktime::instant before;
  ktime::instant after;
};

kyoto::task<tick_record> timed_tick(ktime::interval& iv) {
  const ktime::instant before = kclock::now();
  const ktime::instant at = co_await iv.tick();
  const ktime::instant after = kclock::now();
  EXPECT_GE(after, at) << "a tick completed before its instant";
  co_return tick_record{at, before, after};
}

/// Whether `next` is what `b` schedules after the tick `prev`, served at a
/// moment between prev.before (or prev.at, if later) and prev.after.
::testing::AssertionResult follows(behavior b, kclock::duration p, const tick_record& prev,
                                   ktime::instant next) {
  const ktime::instant earliest = std::max(prev.before, prev.at);
  const ktime::instant late_from = std::max(earliest, prev.at + slack);
  const bool maybe_on_time = earliest <= prev.at + slack;
  const bool maybe_late = prev.after > prev.at + slack;
  if (maybe_on_time && next == prev.at + p) return ::testing::AssertionSuccess();
  if (maybe_late) {
    switch (b) {
      case behavior::burst:
        if (next == prev.at + p) return ::testing::AssertionSuccess();
        break;
      case behavior::delay:
        if (next >= late_from + p && next <= prev.after + p) return ::testing::AssertionSuccess();
        break;
      case behavior::skip: {
        const auto d = next - prev.at;
        if (d > kclock::duration::zero() && d % p == kclock::duration::zero() && next > late_from &&
            next - p <= prev.after) {
          return ::testing::AssertionSuccess();
        }
        break;
      }
    }
  }
  return ::testing::AssertionFailure()
         << "next tick " << (next - prev.at).count() << " ns after the previous one, served "
         << (earliest - prev.at).count() << ".." << (prev.after - prev.at).count()
         << " ns after its instant";
}

/// Ticks twice on time-or-not, then makes the consumer late: it sleeps
/// until `lateness` past the latest moment the third tick can be due.
/// Returns the records of the ticks that follow (the late one first).
kyoto::task<std::vector<tick_record>> late_consumer(ktime::interval& iv, behavior b,
                                                    kclock::duration lateness, int after_late) {
  std::vector<tick_record> r;
  r.push_back(co_await timed_tick(iv));
  r.push_back(co_await timed_tick(iv));
  EXPECT_TRUE(follows(b, iv.period(), r[0], r[1].at));
  // The third tick is due at r[1].after + period at the latest.
  co_await ktime::sleep_until(r[1].after + iv.period() + lateness);
  std::vector<tick_record> late;
  tick_record prev = r[1];
  for (int i = 0; i < 1 + after_late; ++i) {
    tick_record t = co_await timed_tick(iv);
    EXPECT_TRUE(follows(b, iv.period(), prev, t.at)) << "tick " << i << " after the delay";
    late.push_back(t);
    prev = t;
  }
  co_return late;
}

// tokio: interval_zero_duration
TEST(Interval, ZeroPeriodThrowsInvalidArgument) {
  EXPECT_THROW((void)ktime::interval(0ms), std::invalid_argument);
  EXPECT_THROW((void)ktime::interval_at(kclock::now(), 0ms), std::invalid_argument);
  EXPECT_THROW((void)ktime::interval(-1s), std::invalid_argument);
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { (void)ktime::interval(std::chrono::nanoseconds(0)); }, "kyoto::time::interval");
}

TEST(Interval, AccessorsReportPeriodBehaviorAndNextTick) {
  const auto start = kclock::now() + 1s;
  auto iv = ktime::interval_at(start, 250ms);
  EXPECT_EQ(iv.period(), 250ms);
  EXPECT_EQ(iv.next_tick(), start);
  EXPECT_EQ(iv.missed_tick_behavior(), behavior::burst);  // tokio's default
  iv.set_missed_tick_behavior(behavior::skip);
  EXPECT_EQ(iv.missed_tick_behavior(), behavior::skip);
  iv.set_missed_tick_behavior(behavior::delay);
  EXPECT_EQ(iv.missed_tick_behavior(), behavior::delay);
  ktime::interval fractional(std::chrono::duration<double, std::milli>(1.5));
  EXPECT_EQ(fractional.period(), 1500us);
  ktime::interval huge(std::chrono::hours::max());  // clamped, not overflowed
  EXPECT_EQ(huge.period(), kclock::duration::max());
}

// tokio docs: "The first tick completes immediately."
KYOTO_CT_TEST(Interval, FirstTickCompletesImmediately) {
  bool other_ran = false;
  auto other = kyoto::spawn(
      [](bool* ran) -> kyoto::task<> {
        *ran = true;
        co_return;
      },
      &other_ran);
  const auto before = kclock::now();
  ktime::interval iv(1s);
  const auto created = kclock::now();
  const ktime::instant first = co_await iv.tick();
  EXPECT_GE(first, before);
  EXPECT_LE(first, created);
  EXPECT_FALSE(other_ran);  // it did not suspend
  EXPECT_EQ(iv.next_tick(), first + 1s);
  co_await other;
}

// tokio docs (interval_at): the first tick is at `start`.
KYOTO_TEST(Interval, IntervalAtFirstTicksAtStart) {
  const auto start = kclock::now() + 20ms;
  auto iv = ktime::interval_at(start, 10ms);
  const tick_record first = co_await timed_tick(iv);
  EXPECT_EQ(first.at, start);
  const tick_record second = co_await timed_tick(iv);
  EXPECT_EQ(second.at, start + 10ms);  // burst: on the schedule whatever the lateness
}

// tokio: burst. The missed ticks come back to back at their original
// instants; then the schedule goes on where it always was.
KYOTO_TEST(Interval, BurstReturnsTheMissedInstantsBackToBack) {
  const auto start = kclock::now();
  auto iv = ktime::interval_at(start, period);
  const tick_record t0 = co_await timed_tick(iv);
  const tick_record t1 = co_await timed_tick(iv);
  EXPECT_EQ(t0.at, start);
  EXPECT_EQ(t1.at, start + period);
  co_await ktime::sleep_until(start + 3 * period + period / 2);  // ticks 2 and 3 missed
  const tick_record t2 = co_await timed_tick(iv);
  const tick_record t3 = co_await timed_tick(iv);
  EXPECT_EQ(t2.at, start + 2 * period);
  EXPECT_EQ(t3.at, start + 3 * period);
  EXPECT_GE(t2.before, t2.at);  // both already due when asked for
  EXPECT_GE(t3.before, t3.at);
  const tick_record t4 = co_await timed_tick(iv);
  EXPECT_EQ(t4.at, start + 4 * period);  // back on the original schedule
}

// tokio: delay. After a late tick the schedule restarts one period after
// the moment the late tick was served.
KYOTO_TEST(Interval, DelayReschedulesFromTheLateTick) {
  auto iv = ktime::interval(period);
  iv.set_missed_tick_behavior(behavior::delay);
  const std::vector<tick_record> t = co_await late_consumer(iv, behavior::delay, period / 2, 2);
  KYOTO_ASSERT_EQ(t.size(), 3u);
  EXPECT_GT(t[0].before, t[0].at + slack);   // the consumer was late
  EXPECT_GE(t[1].at, t[0].before + period);  // one period from when it was served
  EXPECT_LE(t[1].at, t[0].after + period);
  EXPECT_GT(t[1].at - t[0].at, period + slack);  // off the original schedule
}

// tokio: skip. After a late tick the next one is the first instant of the
// original schedule after the moment the late tick was served.
KYOTO_TEST(Interval, SkipJumpsToTheNextMultipleOfThePeriod) {
  auto iv = ktime::interval(period);
  iv.set_missed_tick_behavior(behavior::skip);
  // 1.5 periods late: the tick after the late one is skipped.
  const std::vector<tick_record> t =
      co_await late_consumer(iv, behavior::skip, period + period / 2, 2);
  KYOTO_ASSERT_EQ(t.size(), 3u);
  EXPECT_GT(t[0].before, t[0].at + period);
  const auto gap = t[1].at - t[0].at;
  EXPECT_EQ(gap % period, kclock::duration::zero());  // still on the original grid
  EXPECT_GE(gap, 2 * period);                         // at least one tick skipped
  EXPECT_GT(t[1].at, t[0].before);                    // not in the past when scheduled
}

// Burst under the same late consumer as the two tests above: the tick
// after the late one is the next original instant, already due.
KYOTO_TEST(Interval, BurstUnderALateConsumerKeepsTheOriginalSchedule) {
  auto iv = ktime::interval(period);
  const std::vector<tick_record> t = co_await late_consumer(iv, behavior::burst, period, 1);
  KYOTO_ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].at, t[0].at + period);
  EXPECT_GE(t[1].before, t[1].at);  // due before it was asked for
}

// tokio: reset
KYOTO_TEST(Interval, ResetSchedulesTheNextTickOnePeriodFromNow) {
  const auto start = kclock::now();
  auto iv = ktime::interval_at(start, period);
  const tick_record t0 = co_await timed_tick(iv);
  EXPECT_EQ(t0.at, start);
  const tick_record t1 = co_await timed_tick(iv);
  co_await ktime::sleep(period / 3);
  const auto before = kclock::now();
  iv.reset();
  const auto after = kclock::now();
  const tick_record t2 = co_await timed_tick(iv);
  EXPECT_GE(t2.at, before + period);
  EXPECT_LE(t2.at, after + period);
  EXPECT_GT(t2.at, t1.at + period);  // later than the original schedule
  const tick_record t3 = co_await timed_tick(iv);
  EXPECT_TRUE(follows(behavior::burst, period, t2, t3.at));
}

KYOTO_TEST(Interval, ResetImmediatelyAfterAndAt) {
  auto iv = ktime::interval_at(kclock::now() + 1h, period);
  auto before = kclock::now();
  iv.reset_immediately();
  auto after = kclock::now();
  const ktime::instant now_tick = co_await iv.tick();
  EXPECT_GE(now_tick, before);
  EXPECT_LE(now_tick, after);

  before = kclock::now();
  iv.reset_after(10ms);
  after = kclock::now();
  const tick_record later = co_await timed_tick(iv);
  EXPECT_GE(later.at, before + 10ms);
  EXPECT_LE(later.at, after + 10ms);

  const auto at = kclock::now() + 7ms;
  iv.reset_at(at);
  EXPECT_EQ(iv.next_tick(), at);
  const ktime::instant exact = co_await iv.tick();
  EXPECT_EQ(exact, at);
  EXPECT_GE(kclock::now(), at);
}

// tokio docs (tick): "This method is cancellation safe."
KYOTO_TEST(Interval, TickCancelledInASelectConsumesNoTick) {
  const auto start = kclock::now() + 200ms;  // far beyond the 1 ms sleep
  auto iv = ktime::interval_at(start, period);
  auto v = co_await kyoto::select_biased(iv.tick(), ktime::sleep(1ms));
  EXPECT_EQ(v.index(), 1u);  // the sleep won; the tick was cancelled
  EXPECT_EQ(iv.next_tick(), start);
  const ktime::instant first = co_await iv.tick();
  EXPECT_EQ(first, start);
}

// tokio docs (interval): an interval counts the time spent between ticks,
// a sleep in a loop does not.
KYOTO_TEST(Interval, WorkBetweenTicksDoesNotShiftTheSchedule) {
  const auto start = kclock::now();
  auto iv = ktime::interval_at(start, period);
  for (int i = 0; i < 4; ++i) {
    const tick_record t = co_await timed_tick(iv);
    EXPECT_TRUE(t.at == start + i * period) << "tick " << i;
    co_await ktime::sleep(period / 3);  // the work
  }
  EXPECT_GE(kclock::now() - start, 3 * period + period / 3);
}

// ---- every runtime flavour ----

class IntervalFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

kyoto::task<> burst_and_skip_on_schedule() {
  const auto start = kclock::now();
  auto iv = ktime::interval_at(start, 10ms);
  for (int i = 0; i < 3; ++i) {
    const ktime::instant at = co_await iv.tick();
    EXPECT_EQ(at, start + i * 10ms);
    EXPECT_GE(kclock::now(), at);
  }
  iv.set_missed_tick_behavior(behavior::skip);
  co_await ktime::sleep_until(iv.next_tick() + 25ms);
  const tick_record late = co_await timed_tick(iv);
  const tick_record next = co_await timed_tick(iv);
  EXPECT_TRUE(follows(behavior::skip, 10ms, late, next.at));
  EXPECT_EQ((next.at - start) % 10ms, kclock::duration::zero());
}

TEST_P(IntervalFlavours, TicksOnScheduleAndSkipsWhenLate) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on(burst_and_skip_on_schedule());
}

KYOTO_INSTANTIATE_FLAVOURS(IntervalFlavours);

}  // namespace
