// A worker's run queue: a bounded ring that only its owner pushes to and
// pops from, and that other workers steal half of (tokio's
// runtime/scheduler/multi_thread/queue.rs, the same algorithm).
//
// # Two handles
//
// The threading contract is in the types, as tokio's Local/Steal: the
// `local_queue` object holds the ring and is the owner's handle (push_back,
// pop); it lives in its worker, which alone calls them. Other threads get a
// `stealer` (make_stealer()), which can only steal_into() a queue the
// caller owns and read the length.
//
// # Layout
//
// `tail_` is the next slot the owner writes; only the owner stores it.
// `head_` packs two 32-bit positions: `real`, the next task to take, and
// `steal`, the first slot a stealer is still copying out. Normally
// steal == real. A stealer claims a range [real, real + n) by moving `real`
// forward while leaving `steal` behind, copies the tasks, then releases
// the range by setting steal = real. While a steal is in progress:
//
//   - the owner may still pop (it advances `real` only);
//   - other stealers back off (one steal at a time);
//   - the owner does not reuse the claimed slots: it treats the ring as
//     full from `steal`, and pushes overflow to the injection queue.
//
// # Overflow
//
// A push onto a full ring (no steal in progress) moves half of the ring and
// the new task to the injection queue in one batch, so the next
// `Capacity / 2` pushes are cheap again.
//
// # Orderings
//
// The owner publishes a slot by the release store of `tail_`; a stealer
// reads `tail_` with acquire before copying slots. Claims and releases on
// `head_` are acq_rel CASes: the owner's pop and the stealers' claims are
// ordered with each other, and a stealer's copying is done before its
// release CAS, which the owner's next acquire load of `head_` sees before it
// overwrites those slots. The overflow's CAS on `head_` is relaxed: it
// publishes nothing (push_overflow()).
#pragma once

#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <array>
#include <cassert>
#include <cstdint>

namespace kyoto::detail {

/// Where a local queue's overflow goes: the scheduler's injection queue.
class overflow_sink {
 public:
  /// Takes a chain of tasks (linked through queue_next) at once.
  virtual void push_batch(task_queue batch) noexcept = 0;

 protected:
  ~overflow_sink() = default;
};

template <std::uint32_t Capacity>
class stealer;

/// The run queue of one worker, and its owner's handle: push_back() and
/// pop() are for the owning thread only. Capacity is a power of two (256
/// in production; tests shrink it to 4 to reach the overflow and steal
/// edges).
template <std::uint32_t Capacity>
class local_queue {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "a power of two");
  static constexpr std::uint32_t mask = Capacity - 1;

 public:
  static constexpr std::uint32_t capacity = Capacity;

  local_queue() = default;
  local_queue(const local_queue&) = delete;
  local_queue& operator=(const local_queue&) = delete;

  // ---- owner ----

  /// Appends `t`; on a full ring, moves half of it and `t` to `overflow`.
  void push_back(task_header* t, overflow_sink& overflow) noexcept {
    for (;;) {
      // Acquire: pairs with a stealer's release CAS that freed slots.
      const std::uint64_t head = head_.load(std::memory_order_acquire);
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      const std::uint32_t tail = tail_.load(std::memory_order_relaxed);  // ours
      if (tail - steal < Capacity) {
        buffer_[tail & mask] = t;
        // Release: publishes the slot to stealers (their acquire of tail_).
        tail_.store(tail + 1, std::memory_order_release);
        return;
      }
      if (steal != real) {
        // A steal is in progress and will free room soon; do not wait.
        task_queue one;
        one.push_back(t);
        overflow.push_batch(std::move(one));
        return;
      }
      if (push_overflow(t, real, tail, overflow)) return;
      // A stealer raced us; look again.
    }
  }

  /// Takes the oldest task, or null.
  task_header* pop() noexcept {
    // Acquire: pairs with a stealer's release CAS that ended its claim.
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      const std::uint32_t tail = tail_.load(std::memory_order_relaxed);  // ours
      if (real == tail) return nullptr;
      const std::uint32_t next_real = real + 1;
      const std::uint64_t next =
          steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // Acq_rel: orders our claim with stealers' claims of the same slots.
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return buffer_[real & mask];
      }
    }
  }

  /// Whether there is nothing to pop (owner's view).
  bool empty() const noexcept { return len() == 0; }

  /// Number of queued tasks (exact for the owner).
  std::uint32_t len() const noexcept {
    // Acquire (both): for another thread (a stealer's len(): metrics, the
    // last searcher's look at every queue before it parks) they pair with
    // push_back()'s release store of tail_ and the claims' release CASes of
    // head_, so a non-zero length is backed by slots it could steal. The
    // owner needs neither (tail_ is its own).
    const std::uint32_t real = unpack_real(head_.load(std::memory_order_acquire));
    const std::uint32_t tail = tail_.load(std::memory_order_acquire);
    return tail - real;
  }

  /// The handle other threads steal through; valid while this queue lives.
  stealer<Capacity> make_stealer() noexcept { return stealer<Capacity>(*this); }

 private:
  friend class stealer<Capacity>;

  // ---- stealers (any thread, through a stealer) ----

  /// Moves about half of this queue's tasks to `dst` (the caller's own
  /// queue) and returns one of them to run at once, or null.
  task_header* steal_into(local_queue& dst) noexcept {
    const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);  // caller's
    // Acquire: pairs with the release CAS of a thief of dst that ended its
    // claim, before we write dst's slots it copied out.
    const std::uint32_t dst_steal = unpack_steal(dst.head_.load(std::memory_order_acquire));
    // Only steal into a queue that is at most half full.
    if (dst_tail - dst_steal > Capacity / 2) return nullptr;
    std::uint32_t n = steal_half(dst, dst_tail);
    if (n == 0) return nullptr;
    --n;  // the last one is returned, not queued
    task_header* ret = dst.buffer_[(dst_tail + n) & mask];
    if (n > 0) {
      // Release: publishes the copied slots to dst's stealers.
      dst.tail_.store(dst_tail + n, std::memory_order_release);
    }
    return ret;
  }

  static std::uint32_t unpack_steal(std::uint64_t v) noexcept {
    return static_cast<std::uint32_t>(v >> 32);
  }
  static std::uint32_t unpack_real(std::uint64_t v) noexcept {
    return static_cast<std::uint32_t>(v);
  }
  static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }

  /// The ring is full: moves its first half and `t` to `overflow`. False if
  /// a stealer moved the head meanwhile.
  bool push_overflow(task_header* t, std::uint32_t head, std::uint32_t tail,
                     overflow_sink& overflow) noexcept {
    constexpr std::uint32_t taken = Capacity / 2;
    assert(tail - head == Capacity);
    (void)tail;
    std::uint64_t expected = pack(head, head);
    // Relaxed (both): this CAS publishes nothing a thief reads. The slots it
    // takes are read back by us (we wrote them); a thief reads only slots
    // past the new head, which it gets through its acquire load of tail_
    // (paired with push_back()'s release store), and the CAS's atomicity
    // alone keeps it from claiming ours (a claim is a CAS on head_ too, and
    // `expected` says no steal is in progress). On failure we retry from
    // scratch (push_back()'s acquire load of head_).
    if (!head_.compare_exchange_strong(expected, pack(head + taken, head + taken),
                                       std::memory_order_relaxed, std::memory_order_relaxed)) {
      return false;
    }
    task_queue batch;
    for (std::uint32_t i = 0; i < taken; ++i)
      batch.push_back(buffer_[(head + i) & mask]);
    batch.push_back(t);
    overflow.push_batch(std::move(batch));
    return true;
  }

  /// Claims half of this queue, copies it to dst's slots from dst_tail, and
  /// releases the claim. Returns how many were copied.
  std::uint32_t steal_half(local_queue& dst, std::uint32_t dst_tail) noexcept {
    // Acquire: a first guess for the claim CAS below (which acquires too);
    // pairs with the previous thief's release CAS.
    std::uint64_t prev = head_.load(std::memory_order_acquire);
    std::uint64_t next;
    std::uint32_t n;
    for (;;) {
      const std::uint32_t steal = unpack_steal(prev);
      const std::uint32_t real = unpack_real(prev);
      // Acquire: pairs with the owner's release store of tail_, so the slots
      // up to it are written.
      const std::uint32_t tail = tail_.load(std::memory_order_acquire);
      if (steal != real) return 0;  // another stealer is at work
      n = tail - real;
      n -= n / 2;
      if (n == 0) return 0;
      next = pack(steal, real + n);
      // Acq_rel: our claim is ordered with the owner's pops and other claims.
      if (head_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    assert(n <= Capacity / 2);
    const std::uint32_t first = unpack_steal(next);
    for (std::uint32_t i = 0; i < n; ++i) {
      dst.buffer_[(dst_tail + i) & mask] = buffer_[(first + i) & mask];
    }
    // Release the claim: steal catches up with real. The owner may have
    // popped meanwhile (real moved), so loop.
    prev = next;
    for (;;) {
      const std::uint32_t real = unpack_real(prev);
      // Acq_rel: our copying happens before the owner reuses the slots (it
      // acquires head_ before writing them).
      if (head_.compare_exchange_weak(prev, pack(real, real), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return n;
      }
    }
  }

  /// Packed (steal, real); see the file comment. Written by the owner's
  /// pops and overflow and by stealers' claims and releases.
  alignas(destructive_interference) atomic<std::uint64_t> head_{0};
  /// Next slot to write. Written by the owner only.
  atomic<std::uint32_t> tail_{0};
  /// Slots; a slot is written by the owner (or by a stealer of this queue's
  /// owner into its own queue) before the release store of tail_.
  alignas(destructive_interference) std::array<task_header*, Capacity> buffer_{};
};

/// Another thread's handle to a worker's run queue: it can steal from the
/// queue and read its length, never push or pop. Copyable; any thread.
template <std::uint32_t Capacity>
class stealer {
 public:
  /// Moves about half of the queue's tasks to `dst`, the calling worker's
  /// own queue (so only an owner can steal), and returns one of them to run
  /// at once, or null.
  task_header* steal_into(local_queue<Capacity>& dst) const noexcept {
    return queue_->steal_into(dst);
  }

  /// Number of queued tasks (approximate: the owner and thieves move on).
  std::uint32_t len() const noexcept { return queue_->len(); }
  bool empty() const noexcept { return len() == 0; }

 private:
  friend class local_queue<Capacity>;
  explicit stealer(local_queue<Capacity>& q) noexcept : queue_(&q) {}

  local_queue<Capacity>* queue_;
};

}  // namespace kyoto::detail
