// Paused time: time::pause, resume, advance, builder::start_paused and the
// runtime's auto-advance (ports of tokio's tests/time_pause.rs and
// tests/test_clock.rs, plus kyoto's own checks of the auto-advance rule).
// Virtual durations are checked exactly: a start_paused clock starts on a
// whole tick of the timer wheel, and auto-advance jumps to whole ticks.
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/time.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
namespace ktime = kyoto::time;
using kclock = kyoto::time::clock;
using kyoto::test::expect_throws;
using kyoto::test::expect_throws_async;

#define PAUSED_TEST(Suite, Name) \
  KYOTO_TEST_WITH(Suite, Name, ::kyoto::runtime::builder::current_thread().start_paused(true))
#define CT_TEST(Suite, Name) \
  KYOTO_TEST_WITH(Suite, Name, ::kyoto::runtime::builder::current_thread())

namespace {

/// Sets `*done` once `deadline` passes.
kyoto::task<> set_at(ktime::instant deadline, bool* done) {
  co_await ktime::sleep_until(deadline);
  *done = true;
}

// ---- pause(), resume(), advance(): where they may be called ----

// tokio: pause_time_in_main
CT_TEST(PausedTime, PauseInTheMainTaskFreezesTheClock) {
  ktime::pause();
  const ktime::instant frozen = kclock::now();
  for (int i = 0; i < 10; ++i)
    co_await kyoto::yield_now();
  EXPECT_EQ(kclock::now(), frozen);
}

// tokio: pause_time_in_task
CT_TEST(PausedTime, PauseInASpawnedTaskFreezesTheRuntimesClock) {
  co_await kyoto::spawn([]() -> kyoto::task<> {
    ktime::pause();
    co_return;
  });
  const ktime::instant frozen = kclock::now();
  co_await kyoto::yield_now();
  EXPECT_EQ(kclock::now(), frozen);
}

// tokio: pause_time_in_main_threads
KYOTO_TEST(PausedTime, PauseOnAMultiThreadRuntimeThrows) {
  expect_throws<std::logic_error>([] { ktime::pause(); },
                                  "kyoto::time::pause: paused time requires the current_thread "
                                  "runtime");
  co_return;
}

// tokio: pause_time_in_spawn_threads
KYOTO_TEST(PausedTime, PauseInATaskOfAMultiThreadRuntimeFailsThatTask) {
  co_await expect_throws_async<std::logic_error>(
      [] {
        return kyoto::spawn([]() -> kyoto::task<> {
          ktime::pause();
          co_return;
        });
      },
      "requires the current_thread runtime");
}

TEST(PausedTime, StartPausedOnAMultiThreadRuntimeIsRejectedByBuild) {
  expect_throws<std::invalid_argument>(
      [] {
        return kyoto::runtime::builder::multi_thread().worker_threads(1).start_paused(true).build();
      },
      "kyoto::runtime::builder::build: start_paused(true) requires the current_thread runtime");
}

TEST(PausedTime, PauseOutsideARuntimeThrows) {
  expect_throws<std::logic_error>([] { ktime::pause(); },
                                  "kyoto::time::pause: the calling thread is not running");
  expect_throws<std::logic_error>([] { ktime::resume(); },
                                  "kyoto::time::resume: the calling thread is not running");
}

// tokio: freezing_time_while_frozen_panics
CT_TEST(PausedTime, PauseWhilePausedThrows) {
  ktime::pause();
  expect_throws<std::logic_error>(
      [] { ktime::pause(); },
      kyoto::test::whole_message("kyoto::time::pause: time is already paused"));
  co_return;
}

// tokio: resuming_time_when_not_frozen_panics
CT_TEST(PausedTime, ResumeWhenNotPausedThrows) {
  ktime::pause();
  ktime::resume();
  expect_throws<std::logic_error>(
      [] { ktime::resume(); },
      kyoto::test::whole_message("kyoto::time::resume: time is not paused"));
  co_return;
}

// tokio: advancing_time_when_time_is_not_frozen_panics
CT_TEST(PausedTime, AdvanceWhenNotPausedThrows) {
  co_await expect_throws_async<std::logic_error>([] { return ktime::advance(1s); },
                                                 "kyoto::time::advance: time is not paused");
}

PAUSED_TEST(PausedTime, AdvanceByANegativeDurationThrows) {
  const ktime::instant before = kclock::now();
  co_await expect_throws_async<std::invalid_argument>(
      [] { return ktime::advance(-1ms); },
      "kyoto::time::advance: the duration must not be negative");
  EXPECT_EQ(kclock::now(), before);
}

PAUSED_TEST(PausedTime, AdvanceDoesNothingUntilAwaited) {
  const ktime::instant before = kclock::now();
  {
    auto a = ktime::advance(1h);
    (void)a;
  }
  EXPECT_EQ(kclock::now(), before);
  co_await ktime::advance(1h);
  EXPECT_EQ(kclock::now() - before, 1h);
}

// ---- test_clock.rs ----

// tokio: resume_lets_time_move_forward_instead_of_resetting_it
CT_TEST(PausedTime, ResumeLetsTimeMoveOnInsteadOfResettingIt) {
  const ktime::instant start = kclock::now();
  ktime::pause();
  co_await ktime::advance(10s);
  const ktime::instant advanced_by_ten_secs = kclock::now();
  EXPECT_GE(advanced_by_ten_secs - start, 10s);
  EXPECT_LT(advanced_by_ten_secs - start, 11s);
  ktime::resume();
  EXPECT_LT(advanced_by_ten_secs, kclock::now());
  EXPECT_LT(kclock::now() - advanced_by_ten_secs, 1s);
}

// tokio: can_pause_after_resume
CT_TEST(PausedTime, PauseAgainAfterResume) {
  const ktime::instant start = kclock::now();
  ktime::pause();
  co_await ktime::advance(10s);
  ktime::resume();
  ktime::pause();
  co_await ktime::advance(10s);
  EXPECT_GE(kclock::now() - start, 20s);
  EXPECT_LT(kclock::now() - start, 21s);
}

TEST(PausedTime, PausedClockCarriesOverToTheNextBlockOn) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  const ktime::instant first = rt.block_on([]() -> kyoto::task<ktime::instant> {
    ktime::pause();
    co_await ktime::advance(1h);
    co_return kclock::now();
  }());
  // Outside block_on this thread reads the steady clock again.
  EXPECT_LT(kclock::now(), first);
  const ktime::instant second = rt.block_on([]() -> kyoto::task<ktime::instant> {
    co_return kclock::now();
  }());
  EXPECT_EQ(second, first);  // still paused, still an hour ahead
}

// ---- auto-advance ----

PAUSED_TEST(PausedTime, SleepingAnHourUnderStartPausedCompletesAtOnce) {
  const auto real_start = std::chrono::steady_clock::now();
  const ktime::instant start = kclock::now();
  co_await ktime::sleep(1h);
  EXPECT_EQ(kclock::now() - start, 1h);
  // An hour of virtual time took (much) less than a minute of real time.
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 60s);
}

PAUSED_TEST(PausedTime, AutoAdvanceWakesSleepersInDeadlineOrderAtTheirDeadlines) {
  const ktime::instant start = kclock::now();
  std::vector<ktime::clock::duration> woke;  // each sleeper's wake time, from start
  std::vector<kyoto::join_handle<void>> handles;
  for (ktime::clock::duration d : {ktime::clock::duration(30min), ktime::clock::duration(1min),
                                   ktime::clock::duration(2h), ktime::clock::duration(90s)}) {
    handles.push_back(kyoto::spawn(
        [](ktime::instant from, ktime::clock::duration after,
           std::vector<ktime::clock::duration>* out) -> kyoto::task<> {
          co_await ktime::sleep_until(from + after);
          out->push_back(kclock::now() - from);
        },
        start, d, &woke));
  }
  co_await kyoto::join_all(handles);
  EXPECT_EQ(woke, (std::vector<ktime::clock::duration>{1min, 90s, 30min, 2h}));
  EXPECT_EQ(kclock::now() - start, 2h);
}

PAUSED_TEST(PausedTime, AutoAdvanceWaitsWhileATaskIsRunnable) {
  const ktime::instant start = kclock::now();
  std::vector<ktime::instant> seen;
  bool spinner_done = false;
  auto spinner = kyoto::spawn([&]() -> kyoto::task<> {
    for (int i = 0; i < 100; ++i) {
      seen.push_back(kclock::now());
      co_await kyoto::yield_now();
    }
    spinner_done = true;
  });
  co_await ktime::sleep(1s);
  // The sleep could only end once no task was runnable: after the spinner.
  EXPECT_TRUE(spinner_done);
  for (const ktime::instant t : seen)
    EXPECT_EQ(t, start);
  EXPECT_EQ(kclock::now() - start, 1s);
  co_await spinner;
}

PAUSED_TEST(PausedTime, AutoAdvanceDoesNotWaitForPendingIo) {
  // tokio's rule: I/O that is registered but not ready does not hold the
  // clock back (a server accepting forever must not stall a test's sleep).
  auto listener =
      co_await kyoto::net::tcp_listener::bind(kyoto::net::socket_addr::parse("127.0.0.1:0"));
  auto acceptor =
      kyoto::spawn([&listener]() -> kyoto::task<> { (void)co_await listener.accept(); });
  const ktime::instant start = kclock::now();
  co_await ktime::sleep(10min);
  EXPECT_EQ(kclock::now() - start, 10min);
  acceptor.abort();
}

PAUSED_TEST(PausedTime, TimeoutElapsesUnderPausedTime) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  const ktime::instant start = kclock::now();
  auto r = co_await ktime::timeout(1h, std::move(rx));
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(kclock::now() - start, 1h);
  (void)tx;
}

PAUSED_TEST(PausedTime, OperationFinishingBeforeTheTimeoutWinsUnderPausedTime) {
  const ktime::instant start = kclock::now();
  auto op = ktime::sleep(30min);
  auto r = co_await ktime::timeout(1h, std::move(op));
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(kclock::now() - start, 30min);
}

PAUSED_TEST(PausedTime, SelectPicksTheEarlierSleepUnderPausedTime) {
  const ktime::instant start = kclock::now();
  // An lvalue sleep keeps its deadline across selects (select checks it
  // against the clock without registering: the paused clock too). Biased:
  // clang's analyzer misreads the random start of an unbiased select over
  // an lvalue sleep (a false shift overflow in select_awaiter.hpp).
  auto longer = ktime::sleep(2h);
  const std::size_t winner = (co_await kyoto::select_biased(longer, ktime::sleep(1h))).index();
  EXPECT_EQ(winner, 1U);
  EXPECT_EQ(kclock::now() - start, 1h);
  EXPECT_FALSE(longer.is_elapsed());  // by the paused clock, an hour is left
  const std::size_t second = (co_await kyoto::select_biased(longer, ktime::sleep(3h))).index();
  EXPECT_EQ(second, 0U);
  EXPECT_EQ(kclock::now() - start, 2h);
}

/// tokio's paused_time_stress_run: random sleeps, recording the virtual
/// time after each.
std::vector<ktime::clock::duration> paused_time_run() {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().start_paused(true).build();
  return rt.block_on([]() -> kyoto::task<std::vector<ktime::clock::duration>> {
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::int64_t> us(0, 999'999);
    std::vector<ktime::clock::duration> times;
    const ktime::instant start = kclock::now();
    for (int i = 0; i < 2'000; ++i) {
      co_await ktime::sleep(std::chrono::microseconds(us(rng)));
      times.push_back(kclock::now() - start);
    }
    co_return times;
  }());
}

// tokio: paused_time_is_deterministic
TEST(PausedTime, PausedTimeIsDeterministic) {
  const auto run_1 = paused_time_run();
  const auto run_2 = paused_time_run();
  EXPECT_EQ(run_1, run_2);
}

// ---- advance() ----

// tokio: advance_after_poll
PAUSED_TEST(PausedTime, AdvanceMovesTheClockByExactlyTheDuration) {
  co_await ktime::sleep(1ms);
  const ktime::instant start = kclock::now();
  bool fired = false;
  auto sleeper = kyoto::spawn(set_at, start + 300ms, &fired);
  co_await kyoto::yield_now();  // the sleeper registers its timer
  const ktime::instant before = kclock::now();
  co_await ktime::advance(100ms);
  EXPECT_EQ(kclock::now() - before, 100ms);
  EXPECT_FALSE(fired);
  sleeper.abort();
}

// tokio: sleep_no_poll
PAUSED_TEST(PausedTime, ASleepNotYetAwaitedIsNotFiredByAdvance) {
  const ktime::instant start = kclock::now();
  co_await ktime::advance(1ms);
  auto sleep = ktime::sleep_until(start + 300ms);
  const ktime::instant before = kclock::now();
  co_await ktime::advance(100ms);
  EXPECT_EQ(kclock::now() - before, 100ms);
  EXPECT_FALSE(sleep.is_elapsed());
}

PAUSED_TEST(PausedTime, AdvanceFiresExactlyTheTimersDue) {
  const ktime::instant start = kclock::now();
  std::vector<int> fired;
  std::vector<kyoto::join_handle<void>> handles;
  for (int ms : {40, 10, 30, 20}) {
    handles.push_back(kyoto::spawn(
        [](ktime::instant at, int id, std::vector<int>* out) -> kyoto::task<> {
          co_await ktime::sleep_until(at);
          out->push_back(id);
        },
        start + std::chrono::milliseconds(ms), ms, &fired));
  }
  co_await kyoto::yield_now();  // every sleeper registers its timer
  co_await ktime::advance(25ms);
  EXPECT_EQ(fired, (std::vector<int>{10, 20}));
  co_await ktime::advance(5ms);
  EXPECT_EQ(fired, (std::vector<int>{10, 20, 30}));
  co_await ktime::advance(1h);
  EXPECT_EQ(fired, (std::vector<int>{10, 20, 30, 40}));
  co_await kyoto::join_all(handles);
  EXPECT_EQ(kclock::now() - start, 1h + 30ms);  // advance() alone moved the clock
}

// tokio: interval
PAUSED_TEST(PausedTime, IntervalTicksUnderAdvance) {
  const ktime::instant start = kclock::now();
  co_await ktime::advance(1ms);
  std::vector<ktime::instant> ticks;
  auto ticker = kyoto::spawn([&ticks, start]() -> kyoto::task<> {
    ktime::interval iv(start, 300ms);
    for (;;)
      ticks.push_back(co_await iv.tick());
  });
  co_await kyoto::yield_now();
  EXPECT_EQ(ticks, (std::vector<ktime::instant>{start}));

  co_await ktime::advance(100ms);
  EXPECT_EQ(ticks.size(), 1U);
  co_await ktime::advance(200ms);
  EXPECT_EQ(ticks, (std::vector<ktime::instant>{start, start + 300ms}));
  co_await ktime::advance(400ms);
  EXPECT_EQ(ticks, (std::vector<ktime::instant>{start, start + 300ms, start + 600ms}));
  // Missed ticks burst (the default behavior).
  co_await ktime::advance(500ms);
  EXPECT_EQ(ticks, (std::vector<ktime::instant>{start, start + 300ms, start + 600ms, start + 900ms,
                                                start + 1200ms}));
  ticker.abort();
}

// tokio: test_time_advance_sub_ms
PAUSED_TEST(PausedTime, AdvanceBySubMillisecondDurationsIsExact) {
  ktime::instant now = kclock::now();
  co_await ktime::advance(51'592us);
  EXPECT_EQ(kclock::now() - now, 51'592us);
  now = kclock::now();
  co_await ktime::advance(1us);
  EXPECT_EQ(kclock::now() - now, 1us);
}

// tokio: test_time_advance_3ms_and_change
PAUSED_TEST(PausedTime, AdvanceBySecondsAndChangeIsExact) {
  ktime::instant now = kclock::now();
  co_await ktime::advance(3'141'592us);
  EXPECT_EQ(kclock::now() - now, 3'141'592us);
  now = kclock::now();
  co_await ktime::advance(3'123'456us);
  EXPECT_EQ(kclock::now() - now, 3'123'456us);
}

// tokio: regression_3710_with_submillis_advance
PAUSED_TEST(PausedTime, SubMillisecondAdvanceDoesNotFireALaterTimer) {
  const ktime::instant start = kclock::now();
  co_await ktime::advance(1ms);
  bool fired = false;
  auto sleeper = kyoto::spawn(set_at, start + 60s, &fired);
  co_await kyoto::yield_now();
  const ktime::instant before = kclock::now();
  co_await ktime::advance(51'592us);
  EXPECT_EQ(kclock::now() - before, 51'592us);
  EXPECT_FALSE(fired);
  sleeper.abort();
}

// tokio: exact_1ms_advance
PAUSED_TEST(PausedTime, AdvanceByOneMillisecondIsExact) {
  for (int i = 0; i < 2; ++i) {
    const ktime::instant now = kclock::now();
    co_await ktime::advance(1ms);
    EXPECT_EQ(kclock::now() - now, 1ms);
  }
}

// tokio: advance_once_with_timer
PAUSED_TEST(PausedTime, OneAdvancePastATimerFiresIt) {
  bool fired = false;
  auto sleeper = kyoto::spawn(set_at, kclock::now() + 1ms, &fired);
  co_await kyoto::yield_now();
  co_await ktime::advance(250us);
  EXPECT_FALSE(fired);
  co_await ktime::advance(1500us);
  EXPECT_TRUE(fired);
  co_await sleeper;
}

// tokio: advance_multi_with_timer
PAUSED_TEST(PausedTime, SeveralAdvancesAddingUpToATimerFireIt) {
  bool fired = false;
  auto sleeper = kyoto::spawn(set_at, kclock::now() + 1ms, &fired);
  co_await kyoto::yield_now();
  for (int i = 0; i < 3; ++i) {
    co_await ktime::advance(250us);
    EXPECT_FALSE(fired) << "after " << (i + 1) * 250 << " us";
  }
  co_await ktime::advance(250us);
  EXPECT_TRUE(fired);
  co_await sleeper;
}

}  // namespace
