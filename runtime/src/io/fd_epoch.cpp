#include "io/fd_epoch.hpp"

#include <kyoto/runtime/detail/config.hpp>

#include <array>
#include <cstddef>
#include <new>
#include <thread>

namespace kyoto::detail {

namespace {

constexpr int chunk_bits = 12;
constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;  // counts per chunk
constexpr std::size_t chunk_count = 256;                          // 2^20 numbers in all

using chunk = std::array<atomic<std::uint32_t>, chunk_size>;

/// The word's hold bit (fd_epoch.hpp, "The count's word").
constexpr std::uint32_t held = 1;

// Never freed: a chunk, once published, is read without a lock for the
// process's life (static storage keeps the pointers reachable).
std::array<atomic<chunk*>, chunk_count> chunks{};

/// `fd`'s count, or nullptr if its chunk does not exist (and `make` is
/// false, or it cannot be allocated).
atomic<std::uint32_t>* slot(int fd, bool make) noexcept {
  if (fd < 0) return nullptr;
  const auto n = static_cast<std::size_t>(fd);
  const std::size_t c = n >> chunk_bits;
  if (c >= chunk_count) return nullptr;
  // Acquire: pairs with the release CAS below that published the chunk
  // (its counts were zeroed before it).
  chunk* p = chunks[c].load(std::memory_order_acquire);
  if (p == nullptr) {
    if (!make) return nullptr;
    auto* fresh = new (std::nothrow) chunk{};
    if (fresh == nullptr) return nullptr;
    // Release on success: pairs with the acquire loads above and in the
    // failure path, so a reader sees the zeroed counts. Acquire on
    // failure: the winner's chunk is the one used.
    if (chunks[c].compare_exchange_strong(p, fresh, std::memory_order_release,
                                          std::memory_order_acquire)) {
      p = fresh;
    } else {
      delete fresh;
    }
  }
  return &(*p)[n & (chunk_size - 1)];
}

}  // namespace

bool fd_epoch_read(int fd, std::uint32_t& epoch) noexcept {
  atomic<std::uint32_t>* s = slot(fd, true);
  if (s == nullptr) return false;
  // Acquire: pairs with fd_epoch_bump()'s release CAS. The close(2) after
  // that CAS and the socket(2) that reuses the number are ordered by the
  // kernel's descriptor table, and the new socket reaches the reactor that
  // parks it through the scheduler's queues (release/acquire): a park of a
  // reused number sees the bump.
  epoch = s->load(std::memory_order_acquire) & ~held;
  return true;
}

void fd_epoch_bump(int fd) noexcept {
  atomic<std::uint32_t>* s = slot(fd, false);
  if (s == nullptr) return;
  std::uint32_t w = s->load(std::memory_order_relaxed);
  for (;;) {
    if ((w & held) != 0) {
      // A reactor's one epoll_ctl on this socket: the close waits for it.
      std::this_thread::yield();
      w = s->load(std::memory_order_relaxed);
      continue;
    }
    // Release: pairs with fd_epoch_read()'s and fd_epoch_hold()'s acquire
    // (a hold that fails saw the close coming). Acquire: pairs with
    // fd_epoch_release()'s release store, so that reactor's epoll_ctl
    // happened before this close.
    if (s->compare_exchange_weak(w, w + 2, std::memory_order_acq_rel, std::memory_order_relaxed))
      return;
  }
}

bool fd_epoch_hold(int fd, std::uint32_t epoch) noexcept {
  atomic<std::uint32_t>* s = slot(fd, false);
  if (s == nullptr) return false;
  std::uint32_t w = epoch;
  // Acquire: pairs with fd_epoch_bump()'s release CAS (a close counted
  // before makes this fail). Only one reactor holds at a time; another
  // fails here and tries again at a later event (readiness::gather()).
  return s->compare_exchange_strong(w, epoch | held, std::memory_order_acquire,
                                    std::memory_order_relaxed);
}

void fd_epoch_release(int fd, std::uint32_t epoch) noexcept {
  // Release: pairs with fd_epoch_bump()'s acquire CAS (see there).
  if (atomic<std::uint32_t>* s = slot(fd, false)) s->store(epoch, std::memory_order_release);
}

}  // namespace kyoto::detail
