// Per-thread size-class pools for coroutine frames and task cells.
//
// A spawn allocates a task cell and a coroutine frame; with malloc each
// costs ~20 ns, with a thread-local free list ~2 ns (bench/limits: a
// coroutine's create+destroy goes from 10.3 to 4.2 ns with a one-slot
// cache). Blocks are grouped in classes `granularity` bytes apart up to
// `max_pooled`; bigger blocks go straight to operator new.
//
// Class sizes are 24, 40, 56, ... (16n + 8): malloc (glibc's, and the
// size-classed ones) puts an 8-byte header before a 16-byte-aligned block,
// so a 104-byte block costs 112 bytes where a 112-byte one costs 128. A
// parked task is a cell and a frame, each often just under a multiple of
// 16: this keeps both from paying a rounding step.
//
// Memory flows between threads: on a multi_thread runtime one worker often
// spawns (allocates) what another runs and frees. So each thread keeps at
// most `2 * batch` blocks per class; beyond that it hands `batch` of them
// to a central depot (one lock per `batch` frees), and a thread whose list
// runs dry takes a batch back from the depot before calling operator new
// (tcmalloc's transfer cache, in miniature). The depot keeps at most
// `max_depot_bytes` per class; the excess goes back to the global
// allocator. A thread's lists go to the depot when it exits (registered at
// its first allocate or deallocate, whichever comes first).
//
// Under AddressSanitizer the pool is bypassed so use-after-free of a frame
// is caught at the exact access.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <new>

namespace kyoto::detail {

/// Allocation of coroutine frames and task cells. Thread-safe (the hot path
/// is thread-local; the depot has a lock); deallocate() must be given the
/// size passed to allocate().
class KYOTO_EXPORT frame_pool {
 public:
  static constexpr std::size_t granularity = 16;
  static constexpr std::size_t smallest = 24;  ///< the first class's size
  static constexpr std::size_t max_pooled = 1024;
  static constexpr std::size_t classes = (max_pooled - smallest) / granularity + 2;
  /// Blocks moved to or from the depot at once.
  static constexpr std::size_t batch = 64;
  static constexpr std::size_t max_depot_bytes = std::size_t{64} << 20;

  static void* allocate(std::size_t size) {
    if constexpr (!address_sanitizer) {
      if (size <= max_pooled) [[likely]] {
        const std::size_t c = class_of(size);
        if (block* b = lists_.head[c]) [[likely]] {
          lists_.head[c] = b->next;
          lists_.count[c]--;
          return b;
        }
        return refill(c);
      }
    }
    return ::operator new(size);
  }

  static void deallocate(void* p, std::size_t size) noexcept {
    if constexpr (!address_sanitizer) {
      if (size <= max_pooled) [[likely]] {
        const std::size_t c = class_of(size);
        if (lists_.exiting) [[unlikely]] {
          ::operator delete(p, class_size(c));
          return;
        }
        // A thread that frees before it ever allocates (a blocking-pool
        // thread, a plain thread dropping a channel's last handle) must
        // still hand its blocks back when it exits.
        if (!lists_.registered) [[unlikely]]
          register_thread();
        auto* b = static_cast<block*>(p);
        b->next = lists_.head[c];
        lists_.head[c] = b;
        if (++lists_.count[c] > 2 * batch) [[unlikely]]
          spill(c);
        return;
      }
    }
    ::operator delete(p, size);
  }

 private:
  /// A free block, linked through its first bytes. A class's free list is
  /// a LIFO stack (the block freed last is reused first, while still in
  /// cache) with one head word per class in a trivially constructible
  /// thread_local: not the shape of intrusive_list/intrusive_queue (FIFO,
  /// with a tail and a size), so it stays hand-written.
  struct block {
    block* next;
  };
  struct lists {
    block* head[classes];
    std::size_t count[classes];
    bool registered;
    bool exiting;  ///< the thread's releaser has run
  };

  static constexpr std::size_t class_of(std::size_t size) noexcept {
    return size <= smallest ? 0 : (size - smallest + granularity - 1) / granularity;
  }
  static constexpr std::size_t class_size(std::size_t c) noexcept {
    return smallest + c * granularity;
  }

  /// The list of class `c` is empty: a batch from the depot, or a new block.
  static void* refill(std::size_t c);
  /// The list of class `c` is over 2 * batch: moves a batch to the depot.
  static void spill(std::size_t c) noexcept;
  /// The calling thread's first use of the pool: arranges for its lists to
  /// go to the depot when it exits.
  static void register_thread() noexcept;
  friend struct frame_pool_releaser;

  /// Trivially constructible and destructible, so access is a plain TLS load.
  static inline thread_local constinit lists lists_{};
};

/// Base of kyoto's promise types: their coroutine frames come from the
/// frame pool. Empty, so it adds nothing to a promise.
struct pooled_frame {
  static void* operator new(std::size_t size) { return frame_pool::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    frame_pool::deallocate(p, size);
  }
};

}  // namespace kyoto::detail
