// A cheap read of the monotonic clock, for checks that may lag a little:
// CLOCK_MONOTONIC_COARSE costs a few ns where time::clock::now() costs tens.
#pragma once

#include <time.h>

#include <chrono>

namespace kyoto::detail {

/// The monotonic clock as of the last kernel tick (time::instant, the
/// steady_clock's time point). It lags time::clock::now() by under a tick,
/// never leads it: a deadline it reports as passed has passed.
inline std::chrono::steady_clock::time_point coarse_now() noexcept {
  ::timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace kyoto::detail
