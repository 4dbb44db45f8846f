#include <kyoto/runtime/detail/thread_parker.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kyoto::detail {

namespace {

void futex_wait(atomic<std::uint32_t>* word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

void futex_wake(atomic<std::uint32_t>* word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace

thread_parker& thread_parker::current() noexcept {
  static thread_local constinit thread_parker parker;
  return parker;
}

void thread_parker::park() noexcept {
  std::uint32_t expected = notified;
  // Acquire: pairs with the release exchange in unpark(), so what the
  // unparker wrote before unparking is visible when park() returns.
  if (state_.compare_exchange_strong(expected, empty, std::memory_order_acquire)) return;
  expected = empty;
  if (!state_.compare_exchange_strong(expected, parked, std::memory_order_acquire)) {
    // An unpark() slipped in between: consume its token. Acquire: as above.
    state_.exchange(empty, std::memory_order_acquire);
    return;
  }
  for (;;) {
    futex_wait(&state_, parked);
    expected = notified;
    // Acquire: as above. A failed CAS is a spurious futex return: sleep again.
    if (state_.compare_exchange_strong(expected, empty, std::memory_order_acquire)) return;
  }
}

void thread_parker::unpark() noexcept {
  // Release: publishes the unparker's writes to park()'s acquire.
  if (state_.exchange(notified, std::memory_order_release) == parked) futex_wake(&state_);
}

}  // namespace kyoto::detail
