// Turning a duration into a deadline on kyoto's clock (time::clock: the
// steady clock, or the runtime's paused clock), for sleep() and timeout().
#pragma once

#include <kyoto/time/clock.hpp>

#include <chrono>

namespace kyoto::detail {

/// The deadline `d` from now: a duration of zero or less is now; one too
/// long for the clock never passes (time::instant::max()). Compared in
/// floating point: converting hours::max() to the clock's nanoseconds would
/// overflow.
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(
    std::chrono::duration<Rep, Period> d) noexcept {
  using clock = time::clock;
  const clock::time_point now = clock::now();
  if (d <= d.zero()) return now;
  using fsec = std::chrono::duration<double>;
  if (fsec(d) >= fsec(clock::time_point::max() - now)) return clock::time_point::max();
  return now + std::chrono::ceil<clock::duration>(d);
}

}  // namespace kyoto::detail
