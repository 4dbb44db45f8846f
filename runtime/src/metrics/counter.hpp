// A counter with one writer and any number of readers: the runtime's metrics
// (private: only runtime/src uses it).
#pragma once

#include <kyoto/runtime/detail/config.hpp>

#include <cstdint>

namespace kyoto::detail {

/// Incremented by one thread only (no locked instruction: a relaxed load
/// and store), read by any thread (relaxed: an approximate count is fine).
class counter {
 public:
  void bump(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  atomic<std::uint64_t> value_{0};
};

}  // namespace kyoto::detail
