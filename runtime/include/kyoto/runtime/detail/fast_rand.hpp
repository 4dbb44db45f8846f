// The runtime's one pseudo-random generator (tokio's FastRand): cheap,
// statistically fine for choosing a steal victim or a select start branch,
// not for anything that needs unpredictability.
//
// A runtime built with builder::rng_seed(seed) (tokio's RngSeed) makes its
// random choices reproducible: its thread's generator is replaced, for the
// duration of each block_on (current_thread), by one seeded with
// derive_seed(seed, n) for the n-th block_on (thread_rand_scope), and
// worker i's generators by derive_seed(seed, 2i) (its thread's) and
// derive_seed(seed, 2i + 1) (steal victims). Without a seed
// nothing changes: thread_rand() is the same inline thread_local.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <optional>

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

/// The seed of the `index`-th generator derived from one runtime seed
/// (splitmix64 of the pair): distinct, well-mixed seeds, the same on every
/// run.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) noexcept {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The calling thread's generator, seeded from its own address (distinct
/// per thread, no global state). Inline: select draws from it on every call.
KYOTO_EXPORT inline fast_rand& thread_rand() noexcept {
  thread_local fast_rand rand{0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&rand)};
  return rand;
}

/// Replaces the calling thread's generator (thread_rand()) with one seeded
/// by `seed` for a scope, then puts the old one back; does nothing without
/// a seed. Not movable.
class thread_rand_scope {
 public:
  explicit thread_rand_scope(std::optional<std::uint64_t> seed) noexcept
      : saved_(thread_rand()), active_(seed.has_value()) {
    if (active_) thread_rand() = fast_rand(*seed);
  }
  ~thread_rand_scope() {
    if (active_) thread_rand() = saved_;
  }
  thread_rand_scope(const thread_rand_scope&) = delete;
  thread_rand_scope& operator=(const thread_rand_scope&) = delete;

 private:
  fast_rand saved_;
  bool active_;
};

}  // namespace kyoto::detail
