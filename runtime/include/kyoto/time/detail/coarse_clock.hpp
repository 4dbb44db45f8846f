// A cheap read of the monotonic clock, for checks that may lag a little:
// CLOCK_MONOTONIC_COARSE costs a few ns where time::clock::now() costs tens.
#pragma once

#include <kyoto/time/detail/virtual_clock.hpp>

#include <time.h>

#include <chrono>

namespace kyoto::detail {

/// The monotonic clock as of the last kernel tick (time::instant, the
/// steady_clock's time point). It lags time::clock::now() by under a tick,
/// never leads it: a deadline it reports as passed has passed. Under paused
/// time it reads the runtime's virtual clock, as time::clock::now() does.
inline std::chrono::steady_clock::time_point coarse_now() noexcept {
  if (const virtual_clock* c = shifted_clock; c != nullptr) [[unlikely]]
    return c->now();
  ::timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace kyoto::detail
