// The runtime's one pseudo-random generator (tokio's FastRand): cheap,
// statistically fine for choosing a steal victim or a select start branch,
// not for anything that needs unpredictability.
#pragma once

#include <cstdint>

namespace kyoto::detail {

/// xorshift64* with a bounded draw by multiply-shift (Lemire), no division.
/// Not thread-safe: one per thread or per owner.
class fast_rand {
 public:
  /// A zero seed is replaced (xorshift's state must never be zero).
  explicit constexpr fast_rand(std::uint64_t seed) noexcept
      : state_(seed != 0 ? seed : 0x9E3779B97F4A7C15ull) {}

  /// The next 32 random bits.
  std::uint32_t next_u32() noexcept {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return static_cast<std::uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  }

  /// A number in [0, n); `n` must be positive.
  std::uint32_t next_below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((std::uint64_t{next_u32()} * n) >> 32);
  }

 private:
  std::uint64_t state_;
};

/// The calling thread's generator, seeded from its own address (distinct
/// per thread, no global state). Inline: select draws from it on every call.
inline fast_rand& thread_rand() noexcept {
  thread_local fast_rand rand{0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&rand)};
  return rand;
}

}  // namespace kyoto::detail
