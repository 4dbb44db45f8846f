// kyoto::time::clock and kyoto::time::instant: the clock every timer reads.
#pragma once

#include <kyoto/time/detail/virtual_clock.hpp>

#include <chrono>

namespace kyoto::time {

/// The clock of kyoto's timers: the monotonic steady clock, unless the
/// runtime the calling thread drives has paused time (time::pause(),
/// builder::start_paused): then its virtual clock, which stands still
/// while paused and moves only by time::advance() and the runtime's
/// auto-advance (docs/testing.md). Its time points are steady_clock's.
///
/// Thread safety: now() from any thread. A thread that does not drive a
/// paused runtime (a blocking-pool thread, a plain thread) reads the steady
/// clock. Cost when time was never paused: one thread-local load and a
/// well-predicted branch over steady_clock::now().
struct clock {
  /// steady_clock's duration (the Clock requirements' members).
  using duration = std::chrono::steady_clock::duration;
  /// The duration's tick count type.
  using rep = duration::rep;
  /// The duration's tick period.
  using period = duration::period;
  /// steady_clock's time point: kyoto::time::instant.
  using time_point = std::chrono::steady_clock::time_point;
  /// Never goes back (paused time only moves forward).
  static constexpr bool is_steady = true;

  /// The current time (virtual if the calling thread's runtime paused it).
  static time_point now() noexcept {
    if (const detail::virtual_clock* c = detail::shifted_clock; c != nullptr) [[unlikely]] {
      return c->now();
    }
    return std::chrono::steady_clock::now();
  }
};

/// A point in time on kyoto's clock (tokio's Instant): a steady_clock time
/// point.
using instant = clock::time_point;

}  // namespace kyoto::time
