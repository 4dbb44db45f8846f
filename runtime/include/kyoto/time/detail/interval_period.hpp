// Checking and converting an interval's period (time/interval.hpp).
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <chrono>

namespace kyoto::detail {

/// Throws std::invalid_argument naming kyoto::time::interval (defined in
/// runtime/src/time/interval.cpp).
[[noreturn]] KYOTO_EXPORT void throw_bad_period();

/// `p` in the clock's unit, rounded up; clamped if too long for the clock.
/// Throws std::invalid_argument unless positive.
template <class Rep, class Period>
std::chrono::steady_clock::duration interval_period(std::chrono::duration<Rep, Period> p) {
  using duration = std::chrono::steady_clock::duration;
  if (p <= p.zero()) throw_bad_period();
  // Compared in floating point: converting hours::max() would overflow.
  using fsec = std::chrono::duration<double>;
  if (fsec(p) >= fsec(duration::max())) return duration::max();
  return std::chrono::ceil<duration>(p);
}

}  // namespace kyoto::detail
