// kyoto::time::interval: the schedule (tokio 1.24's Interval::poll_tick and
// MissedTickBehavior::next_timeout); the protocol is in
// <kyoto/time/interval.hpp>.
#include <kyoto/time/interval.hpp>

#include <chrono>
#include <stdexcept>

namespace kyoto::detail {

void throw_bad_period() {
  throw std::invalid_argument("kyoto::time::interval: the period must be positive");
}

}  // namespace kyoto::detail

namespace kyoto::time {

namespace {

using namespace std::chrono_literals;

/// A tick served later than this after its instant was missed (tokio's
/// hard-coded 5 ms: timers are only so precise).
constexpr clock::duration missed_slack = 5ms;

/// `t + d`, saturating at instant::max() (a deadline that never comes)
/// instead of overflowing. `d` >= 0.
instant add_saturating(instant t, clock::duration d) noexcept {
  if (d >= instant::max() - t) return instant::max();
  return t + d;
}

}  // namespace

interval::interval(instant start, clock::duration period) : next_(start), period_(period) {
  if (period <= clock::duration::zero()) detail::throw_bad_period();
}

void interval::reset() noexcept {
  next_ = add_saturating(clock::now(), period_);
}

void interval::reset_immediately() noexcept {
  next_ = clock::now();
}

void interval::reset_after(clock::duration after) noexcept {
  const instant now = clock::now();
  next_ = after <= clock::duration::zero() ? now : add_saturating(now, after);
}

instant interval::advance(instant scheduled) noexcept {
  const instant now = clock::now();
  if (scheduled == instant::max() || now <= add_saturating(scheduled, missed_slack)) {
    next_ = add_saturating(scheduled, period_);  // on time
    return scheduled;
  }
  switch (behavior_) {
    case time::missed_tick_behavior::burst:
      next_ = add_saturating(scheduled, period_);
      break;
    case time::missed_tick_behavior::delay:
      next_ = add_saturating(now, period_);
      break;
    case time::missed_tick_behavior::skip:
      // The first scheduled + k * period after now: (now - scheduled) % period
      // is how far now is past the last multiple (tokio's next_timeout).
      next_ = add_saturating(now, period_ - (now - scheduled) % period_);
      break;
  }
  return scheduled;
}

}  // namespace kyoto::time
