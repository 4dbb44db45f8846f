// Parking a plain thread until another thread unparks it.
//
// Used by the blocking_* operations (a std::thread waiting on a channel).
// The protocol is std::thread::park's: a single
// token. unpark() makes the token available; park() consumes it, sleeping
// until it is available. park() may also return spuriously, so callers
// re-check their condition in a loop.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>

namespace kyoto::detail {

/// One per thread (see current()); lives as long as the thread, so a waker
/// may unpark it after the waiting frame is gone. Thread-safe.
class KYOTO_EXPORT thread_parker {
 public:
  /// The calling thread's parker.
  static thread_parker& current() noexcept;

  /// Sleeps until the token is available, then consumes it. Called only by
  /// the owning thread. May return spuriously.
  void park() noexcept;

  /// Makes the token available and wakes the owner if it sleeps. Any thread.
  void unpark() noexcept;

 private:
  static constexpr std::uint32_t empty = 0;
  static constexpr std::uint32_t parked = 1;
  static constexpr std::uint32_t notified = 2;

  /// Written by the owner (empty→parked, notified→empty) and by unparkers
  /// (→notified); see park()/unpark() for the orderings.
  atomic<std::uint32_t> state_{empty};
};

}  // namespace kyoto::detail
