// kyoto::time::interval: ticks at a fixed period (tokio's time::Interval,
// as of tokio 1.24's src/time/interval.rs).
//
// An interval is a deadline (the next tick) and a period. tick() waits for
// the deadline with an ordinary sleep; when it completes it computes the
// next deadline and returns the one it waited for:
//
//   next = deadline + period                     on time (now <= deadline + 5 ms)
//   next = missed_tick_behavior rule             late    (now >  deadline + 5 ms)
//
//   burst: deadline + period         (the missed ticks come back to back)
//   delay: now + period              (the schedule restarts from now)
//   skip:  the first deadline + k * period after now (missed ticks dropped)
//
// The 5 ms slack is tokio's: timers are only so precise, and a tick served
// a little late is not "missed". The update happens in the awaiter's
// await_resume, so a tick() cancelled before it completes consumed nothing.
#pragma once

#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/time/detail/interval_period.hpp>

#include <chrono>
#include <coroutine>
#include <stdexcept>

namespace kyoto::time {

/// What an interval does when a tick is served more than 5 ms late
/// (tokio's MissedTickBehavior; tokio's 5 ms slack). The default is burst.
///
/// Thread safety: a plain value. Cancel safety: n/a.
enum class missed_tick_behavior : unsigned char {
  /// Ticks at the original schedule, as fast as the consumer asks, until
  /// caught up: the returned instants stay `start + n * period`.
  burst,
  /// Restarts the schedule from the late tick: the next tick is one period
  /// after the moment the late tick was served.
  delay,
  /// Drops the missed ticks: the next tick is the first `start + n *
  /// period` after the moment the late tick was served.
  skip,
};

class interval;

/// The awaiter of interval::tick(): completes at the interval's next tick
/// and gives that tick's scheduled instant (not the current time).
///
/// Which thread resumes: the awaiting task's (the tick is an ordinary
/// sleep). A tick already due completes without suspending (spending one
/// unit of the cooperative budget, as a sleep does).
///
/// Thread safety: awaited by one task; its interval must outlive it and not
/// be moved while it exists. Movable until awaited. Cancel safety: cancel
/// safe: destroyed before it completes, it consumed no tick (the next
/// tick() gives the same instant); usable as a select branch.
class tick_awaiter {
 public:
  /// Waits for `iv`'s next tick as scheduled now (a reset of `iv` made
  /// after this does not move it).
  explicit tick_awaiter(interval& iv) noexcept;
  /// Movable until awaited.
  tick_awaiter(tick_awaiter&&) noexcept = default;
  tick_awaiter(const tick_awaiter&) = delete;
  tick_awaiter& operator=(const tick_awaiter&) = delete;

  /// Whether the tick is due (then no suspension; budget as a sleep).
  bool await_ready() noexcept { return sleep_.await_ready(); }
  /// Registers the tick's timer. Throws std::logic_error outside a task.
  bool await_suspend(std::coroutine_handle<> h) { return sleep_.await_suspend(h); }
  /// Schedules the next tick and returns this one's instant.
  instant await_resume() noexcept;

 private:
  interval* interval_;
  sleep_awaiter sleep_;
};

/// Ticks every `period` (tokio::time::Interval): `co_await iv.tick()` waits
/// for the next tick and gives its scheduled instant. Unlike sleeping for
/// the period in a loop, the time spent between ticks counts: the schedule
/// does not drift. Made by `interval(period)` (the first tick completes at
/// once) or `interval_at(start, period)`; destroying it stops it.
///
/// Resolution is that of sleep (1 ms; a tick never completes early). A tick
/// served more than 5 ms after its instant was *missed*: what comes next is
/// set by missed_tick_behavior() (burst by default; see the enum).
///
/// Thread safety: used by one task at a time (tokio's `&mut self`); it may
/// be moved to another task while no tick() awaiter exists. Cancel safety:
/// tick() is cancel safe (see tick_awaiter).
class KYOTO_EXPORT interval {
 public:
  /// An interval whose first tick is now (tokio::time::interval). Throws
  /// std::invalid_argument if `period` is not positive. A period too long
  /// for the clock is clamped (its ticks after the first never come).
  template <class Rep, class Period>
  explicit interval(std::chrono::duration<Rep, Period> period)
      : interval(clock::now(), kyoto::detail::interval_period(period)) {}
  /// An interval whose first tick is at `start` (tokio's interval_at).
  /// Throws std::invalid_argument if `period` is not positive.
  interval(instant start, clock::duration period);

  /// Takes over `other`'s schedule; the moved-from interval may only be
  /// assigned to or destroyed. Not while a tick() of it is pending.
  interval(interval&&) noexcept = default;
  /// Replaces this interval's schedule with `other`'s (as the move
  /// constructor). Not while a tick() of either is pending.
  interval& operator=(interval&&) noexcept = default;
  interval(const interval&) = delete;
  interval& operator=(const interval&) = delete;

  /// Completes at the next tick and gives its scheduled instant (the first
  /// tick: the start). Cancel safe. Must be awaited in a runtime task.
  [[nodiscard]] tick_awaiter tick() noexcept { return tick_awaiter(*this); }

  /// The next tick is one period from now, whatever the missed-tick
  /// behavior (tokio's reset()); the schedule goes on from there. Like
  /// every reset_*(), it applies to the next tick() call, not to a tick()
  /// awaiter that already exists.
  void reset() noexcept;
  /// The next tick is now: the next tick() completes at once.
  void reset_immediately() noexcept;
  /// The next tick is `after` from now.
  void reset_after(clock::duration after) noexcept;
  /// The next tick is at `deadline`.
  void reset_at(instant deadline) noexcept { next_ = deadline; }

  /// What happens after a missed tick (burst by default).
  time::missed_tick_behavior missed_tick_behavior() const noexcept { return behavior_; }
  /// Sets what happens after a missed tick; takes effect at the next tick.
  void set_missed_tick_behavior(time::missed_tick_behavior b) noexcept { behavior_ = b; }
  /// The period between ticks.
  clock::duration period() const noexcept { return period_; }
  /// When the next tick is scheduled (a tick() now would give it).
  instant next_tick() const noexcept { return next_; }

 private:
  friend class tick_awaiter;

  /// The tick scheduled at `scheduled` was served: schedules the next one
  /// and returns `scheduled` (tokio's poll_tick after its delay completed).
  instant advance(instant scheduled) noexcept;

  instant next_;            ///< the next tick's scheduled instant
  clock::duration period_;  ///< > 0
  time::missed_tick_behavior behavior_ = time::missed_tick_behavior::burst;
};

/// An interval whose first tick is at `start`, then every `period`
/// (tokio::time::interval_at). Throws std::invalid_argument if `period` is
/// not positive.
///
/// Thread safety and cancel safety: see interval.
template <class Rep, class Period>
[[nodiscard]] interval interval_at(instant start, std::chrono::duration<Rep, Period> period) {
  return interval(start, kyoto::detail::interval_period(period));
}

inline tick_awaiter::tick_awaiter(interval& iv) noexcept
    : interval_(&iv), sleep_(sleep_until(iv.next_)) {}

inline instant tick_awaiter::await_resume() noexcept {
  sleep_.await_resume();
  return interval_->advance(sleep_.deadline());
}

}  // namespace kyoto::time
