#include <kyoto/runtime/detail/mutex.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kyoto::detail {

namespace {

/// How long to spin before sleeping: a critical section of kyoto's is a
/// few dozen instructions, so a holder running on the other core releases
/// the lock within this many pauses.
constexpr int spin_limit = 100;

}  // namespace

void mutex::lock_contended() noexcept {
  for (int i = 0; i < spin_limit; ++i) {
    spin_pause();
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    // Acquire: as in lock().
    if (s == 0 &&
        state_.compare_exchange_weak(s, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
      return;
    }
  }
  // Announce a sleeper (2) and sleep while the lock stays held. Acquire: the
  // exchange that returns 0 takes the lock, as in lock().
  std::uint32_t s = state_.exchange(2, std::memory_order_acquire);
  while (s != 0) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, 2, nullptr,
              nullptr, 0);
    s = state_.exchange(2, std::memory_order_acquire);
  }
}

void mutex::wake_one() noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace kyoto::detail
