// Out-of-line parts of kyoto::sync::broadcast: the slow paths of the slot
// word (a send waiting for readers to leave a slot it overwrites) and the
// misuse errors.
#include <kyoto/sync/broadcast.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/sync/detail/broadcast_shared.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kyoto::detail {

namespace {

/// How long a send spins before sleeping: a reader inside a slot only
/// copies one value out, so one on the other core leaves within this.
constexpr int spin_limit = 100;

bool readers_inside(const atomic<std::uint64_t>& word) noexcept {
  // Acquire: pairs with the release of the last reader to leave (leave(),
  // leave_after_read()): its reads of the slot happen before our writes.
  return (word.load(std::memory_order_acquire) & bcast_readers_mask) != 0;
}

}  // namespace

void bcast_wait_for_readers(const atomic<std::uint64_t>& word,
                            atomic<std::uint32_t>& seq) noexcept {
  for (int i = 0; i < spin_limit; ++i) {
    if (!readers_inside(word)) return;
    spin_pause();
  }
  for (;;) {
    // Acquire: pairs with the release increment in bcast_wake_writer(). If
    // we read the bumped value, the reader's exit (before its bump) is
    // visible to the check below; if not, the futex sees the bump and
    // returns at once, or we sleep before it and its wake finds us.
    const std::uint32_t observed = seq.load(std::memory_order_acquire);
    if (!readers_inside(word)) return;
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&seq), FUTEX_WAIT_PRIVATE, observed,
              nullptr, nullptr, 0);
  }
}

void bcast_wake_writer(atomic<std::uint32_t>& seq) noexcept {
  // Release: orders the caller's exit from the slot before the bump; pairs
  // with the acquire load in bcast_wait_for_readers().
  seq.fetch_add(1, std::memory_order_release);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&seq), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

void bcast_throw_too_many_receivers(const char* operation) {
  throw std::length_error(std::string(operation) + ": too many receivers (the limit is " +
                          std::to_string(bcast_max_receivers) + ")");
}

void throw_broadcast_bad_capacity(std::size_t capacity) {
  throw std::invalid_argument(
      "kyoto::sync::broadcast::channel: capacity must be between 1 and max_capacity, got " +
      std::to_string(capacity));
}

void throw_broadcast_concurrent_recv(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": a receive while another recv() on this receiver is in progress (a "
                         "receiver is used by one task at a time)");
}

}  // namespace kyoto::detail
