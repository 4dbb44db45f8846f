// The one seam for concurrency primitives and build-wide constants.
//
// Every atomic in kyoto is spelled `detail::atomic<T>` and every queue
// capacity is a parameter, so a model checker or a stress build can swap the
// primitives or shrink the queues in one place (tokio does the same under
// loom). Nothing here is part of the public API.
#pragma once

#include <kyoto/version.hpp>

#include <atomic>
#include <cstddef>

namespace kyoto::detail {

/// The atomic type used by every kyoto primitive.
template <class T>
using atomic = std::atomic<T>;

/// The distance that keeps two variables written by different threads from
/// interfering: two lines, as x86's adjacent-line prefetcher pulls pairs
/// (std::hardware_destructive_interference_size, which GCC warns about
/// using in headers).
inline constexpr std::size_t destructive_interference = 128;

/// Spin-loop hint: tells the core we are busy-waiting.
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitizer = true;
#else
inline constexpr bool address_sanitizer = false;
#endif
#else
inline constexpr bool address_sanitizer = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool thread_sanitizer = true;
#else
inline constexpr bool thread_sanitizer = false;
#endif
#else
inline constexpr bool thread_sanitizer = false;
#endif

}  // namespace kyoto::detail
