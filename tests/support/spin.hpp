// Computing without yielding, for the tests of what a busy worker must not
// hold back (stranded timers and I/O, assists).
#pragma once

#include <atomic>
#include <chrono>

namespace kyoto::test {

/// Computes until `stop` is set or `limit` passes, without yielding.
inline void spin_until(const std::atomic<bool>& stop, std::chrono::steady_clock::duration limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!stop.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < until) {
  }
}

/// Computes for `d`, without yielding.
inline void spin_for(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace kyoto::test
