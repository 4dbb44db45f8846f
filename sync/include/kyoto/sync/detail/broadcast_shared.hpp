// The state a broadcast channel's senders and receivers share: a ring of
// slots and a tail (tokio's sync/broadcast.rs, with one word per slot in
// place of its RwLock and remaining-receiver counter).
//
// # Positions
//
// Every send takes the next *position* (a u64 that never wraps in
// practice) and writes slot `pos & mask_`. A receiver's cursor `next` is the
// position it reads next. The ring retains the last `capacity_` positions:
// a slot holds position p until the send of p + capacity_ overwrites it.
// Slot i starts at position i - capacity_ (wrapping), "written before the
// channel existed". Reading slot `next & mask_` tells a receiver where it
// stands:
//
//   slot.pos == next              a value for it (or a lost one, below)
//   slot.pos + capacity_ == next  nothing yet: next == tail_pos_ (empty;
//                                 closed if every sender is gone)
//   anything else                 overwritten: the receiver lagged; it
//                                 jumps to the oldest retained position,
//                                 tail_pos_ - capacity_, and reports how
//                                 many it skipped.
//
// # The slot word (one atomic per slot)
//
//   bits 0..30   readers inside the slot (each holds it like a read lock)
//   bit 31       WRITER: a send is overwriting the slot
//   bits 32..63  rem: receivers that have yet to read the value
//
// A reader *enters* with fetch_add(1): if WRITER was clear, the slot's
// `pos` and `value` stay put until it leaves; if it was set, it backs off
// (fetch_sub) and takes the tail lock, which the writer holds. A receiver
// that read its value leaves and decrements rem in one fetch_sub; the
// one that brings rem to zero re-enters and destroys the value (for types
// with a destructor), unless a writer got there first. A send sets WRITER,
// waits for the readers inside to leave (spin, then a futex on
// writer_seq_), writes, and in one CAS sets rem to the receiver count and
// clears WRITER. So the hot receive is two atomic RMWs on the slot word
// and no lock; only a receiver that finds nothing (or lagged) takes the
// tail lock.
//
// rem counts exactly the receivers that will read the value: those alive
// at the send (both under the tail lock) and not yet past it. A receiver
// that lags is counted in every retained slot and reads them all; a
// receiver going away (drop_receiver) reads what it was counted in.
//
// # The tail (tail_lock_)
//
// tail_pos_ (next position to write), rx_cnt_, closed_ and the wait list
// are guarded by tail_lock_. Sends hold it while writing a slot, so there
// is one writer at a time: the slot write lock is taken only under the tail
// lock, and a reader holding the tail lock always enters at once. Lock
// order: tail, then a slot; never the other way round (a reader inside a
// slot takes no lock).
//
// # Waking (the wake rule in runtime/detail/task_header.hpp)
//
// A receiver that finds nothing queues its waiter under the tail lock; a
// send, or the last sender going away, wakes every queued waiter under the
// same lock, and a cancelled awaiter takes it to learn whether it was woken
// (then purges its node). Wakes are precise: a woken receiver finds a value,
// a lag or the end, never "empty" (it parked at next == tail_pos_, and only
// a send or the close wakes it).
//
// # User code under our locks
//
// T's copy constructor runs inside a slot (read-locked), never under the
// tail lock. T's move constructor runs under both (send). Values die outside
// every lock when T's move constructor is noexcept (they are moved out
// first); otherwise where they are (inside the slot; for an overwrite, under
// the tail lock too). So T's special members must not use this channel,
// except that a destructor may when the move is noexcept.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/channel_counts.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// std::invalid_argument: broadcast::channel()'s capacity is 0 or too large.
[[noreturn]] KYOTO_EXPORT void throw_broadcast_bad_capacity(std::size_t capacity);
/// std::logic_error naming `operation`: a second receive on one receiver.
[[noreturn]] KYOTO_EXPORT void throw_broadcast_concurrent_recv(const char* operation);

/// A receiver waiting for a send (a suspended recv() or a blocking_recv()).
struct broadcast_waiter {
  broadcast_waiter* prev = nullptr;  ///< wait-list links; guarded by the tail lock
  broadcast_waiter* next = nullptr;
  wake_node node;
  bool queued = false;  ///< in the wait list (not woken yet); guarded by the tail lock
};

/// Slot-word layout; see the file comment.
inline constexpr std::uint64_t bcast_reader_one = 1;
inline constexpr std::uint64_t bcast_readers_mask = (std::uint64_t{1} << 31) - 1;
/// A send owns the slot. Set and cleared only under the tail lock.
inline constexpr std::uint64_t bcast_writer = std::uint64_t{1} << 31;
inline constexpr unsigned bcast_rem_shift = 32;
inline constexpr std::uint64_t bcast_rem_one = std::uint64_t{1} << bcast_rem_shift;

/// The most receivers a channel may have: rem and the reader count must fit
/// their 32 and 31 bits.
inline constexpr std::size_t bcast_max_receivers = (std::size_t{1} << 31) - 1;

/// Waits (spin, then futex on `seq`) until no reader is inside `word`.
/// Only the tail-lock holder, with WRITER set. broadcast.cpp.
KYOTO_EXPORT void bcast_wait_for_readers(const atomic<std::uint64_t>& word,
                                         atomic<std::uint32_t>& seq) noexcept;
/// Wakes a writer waiting in bcast_wait_for_readers. broadcast.cpp.
KYOTO_EXPORT void bcast_wake_writer(atomic<std::uint32_t>& seq) noexcept;
[[noreturn]] KYOTO_EXPORT void bcast_throw_too_many_receivers(const char* operation);

/// One position of the ring.
template <class T>
struct broadcast_slot {
  /// Readers, WRITER and rem (file comment). Written by every reader and
  /// by the sending thread.
  atomic<std::uint64_t> word{0};
  /// The position held. Written by a send (WRITER set, readers out); read
  /// by readers inside the slot or under the tail lock.
  std::uint64_t pos = 0;
  /// The value; empty once released, or if a send's move into it threw.
  /// Written as `pos`; read (copied) by readers inside the slot.
  std::optional<T> value;
};

template <class T>
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): cache-line separation (alignas)
class broadcast_shared {
  using slot = broadcast_slot<T>;
  /// Values that die outside every lock: moved out first (file comment).
  static constexpr bool move_out = std::is_nothrow_move_constructible_v<T>;
  static constexpr bool trivial = std::is_trivially_destructible_v<T>;

 public:
  /// What a receive found.
  enum class poll : unsigned char {
    value,   ///< a value (copied out, or just passed when draining)
    empty,   ///< nothing yet
    lagged,  ///< positions skipped; see `missed`
    closed,  ///< nothing left and every sender gone
  };

  /// What the locked part of a receive found (begin_locked, peek_locked).
  enum class probe : unsigned char {
    hit,     ///< slot holds `next`; entered by begin_locked
    empty,   ///< nothing yet, senders remain
    lagged,  ///< overwritten; begin_locked moved `next`
    closed,  ///< nothing yet and every sender gone
  };

  /// A channel with one sender and one receiver (at position 0).
  /// Precondition: capacity is a power of two.
  explicit broadcast_shared(std::size_t capacity)
      : slots_(std::make_unique<slot[]>(capacity)), capacity_(capacity), mask_(capacity - 1) {
    for (std::size_t i = 0; i < capacity; ++i)
      slots_[i].pos = static_cast<std::uint64_t>(i) - capacity;
  }
  broadcast_shared(const broadcast_shared&) = delete;
  broadcast_shared& operator=(const broadcast_shared&) = delete;

  // ---- handles ----

  void add_sender() noexcept { counts_.add_sender(); }

  /// The last sender closes the channel and wakes every waiting receiver.
  void drop_sender() noexcept {
    // The last sender's decrement is ordered after the other senders'
    // (channel_counts::drop_sender()), so every send made through them
    // (under tail_lock_) is ordered before the close below.
    if (counts_.drop_sender()) {
      lock_guard guard(tail_lock_);
      closed_ = true;
      wake_all_locked();
    }
    unref();
  }

  /// A new receiver at the tail: it sees values sent from now on. Throws
  /// std::length_error (naming `operation`) past bcast_max_receivers.
  std::uint64_t add_receiver(const char* operation) {
    std::uint64_t at;
    {
      lock_guard guard(tail_lock_);
      if (rx_cnt_ == bcast_max_receivers) bcast_throw_too_many_receivers(operation);
      ++rx_cnt_;
      at = tail_pos_;
    }
    counts_.add_ref();
    return at;
  }

  /// A receiver at `next` goes away: it stops being counted for new sends
  /// and passes the values it was counted in, releasing them.
  void drop_receiver(std::uint64_t next) noexcept {
    std::uint64_t until;
    {
      lock_guard guard(tail_lock_);
      --rx_cnt_;
      until = tail_pos_;
    }
    std::uint64_t missed = 0;
    // `<`, not `!=`: a lag jumps to the oldest position retained now, which
    // may be past `until`.
    while (next < until) {
      if (recv<false>(next, nullptr, missed, nullptr) == poll::closed) break;
    }
    unref();
  }

  void unref() noexcept {
    // The last owner sees every other owner's writes (slots, values)
    // before it frees the channel (channel_counts::drop_ref()).
    if (counts_.drop_ref()) delete this;
  }

  // ---- sending ----

  /// Writes `value` at the tail and wakes the waiting receivers; returns
  /// the receiver count, or 0 (leaving `value` alone) if there is none.
  /// If moving `value` in throws, nothing is sent; the value that slot held
  /// is lost (receivers that had not read it get lagged(1) there).
  std::size_t send(T& value) {
    std::optional<T> evicted;  // dies after the locks are released
    lock_guard guard(tail_lock_);
    if (rx_cnt_ == 0) return 0;
    const std::uint64_t pos = tail_pos_;
    slot& s = slot_at(pos);
    write_lock(s);
    {
      // rem is stable while we hold WRITER (only a reader inside changes it).
      write_unlock_on_exit unlock{this, &s,
                                  s.word.load(std::memory_order_relaxed) >> bcast_rem_shift};
      if constexpr (!trivial) {
        if (s.value) {
          if constexpr (move_out) evicted.emplace(std::move(*s.value));
          s.value.reset();
        }
      }
      s.value.emplace(std::move(value));
      s.pos = pos;
      unlock.rem = rx_cnt_;
    }
    tail_pos_ = pos + 1;
    wake_all_locked();
    return rx_cnt_;
  }

  std::size_t receiver_count() const noexcept {
    lock_guard guard(tail_lock_);
    return rx_cnt_;
  }

  /// Values not yet seen by every receiver counted for them and not
  /// overwritten (later tokio's Sender::len). rem is monotonic along the
  /// ring from the oldest position (a receiver reads in order), so a binary
  /// search finds the first slot still wanted.
  std::size_t queued() const noexcept {
    lock_guard guard(tail_lock_);
    std::size_t low = 0;
    std::size_t high = capacity_;
    while (low < high) {
      const std::size_t mid = low + (high - low) / 2;
      if (rem_locked(slot_at(tail_pos_ + mid)) == 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return capacity_ - low;
  }

  /// Whether every value sent has been seen or overwritten.
  bool nothing_queued() const noexcept {
    lock_guard guard(tail_lock_);
    return rem_locked(slot_at(tail_pos_ - 1)) == 0;
  }

  // ---- receiving (by the receiver at `next`, one operation at a time) ----

  /// Values sent that the receiver at `next` has not received, including
  /// those it lagged past.
  std::size_t pending(std::uint64_t next) const noexcept {
    lock_guard guard(tail_lock_);
    return static_cast<std::size_t>(tail_pos_ - next);
  }

  /// A receive at `next`, now: copies the value into `*out` (Take) or
  /// just passes it (draining). Finding nothing, it queues `w` (if given)
  /// before unlocking. On lagged, `missed` is the count skipped. If
  /// copying throws, that value counts as received and the exception
  /// propagates (tokio's panic_in_clone).
  template <bool Take>
  poll recv(std::uint64_t& next, std::optional<T>* out, std::uint64_t& missed,
            broadcast_waiter* w) {
    if (enter_if_at(next)) return consume<Take>(next, out, missed);
    {
      lock_guard guard(tail_lock_);
      switch (begin_locked(next, missed)) {
        case probe::hit:
          break;  // entered; copy outside the tail lock
        case probe::empty:
          if (w != nullptr) queue_locked(w);
          return poll::empty;
        case probe::lagged:
          return poll::lagged;
        case probe::closed:
          return poll::closed;
      }
    }
    return consume<Take>(next, out, missed);
  }

  /// Lock-free first step of a receive: enters the slot if it holds
  /// `next` (then call consume()).
  bool enter_if_at(std::uint64_t next) noexcept {
    slot& s = slot_at(next);
    if (!enter(s)) return false;  // a send is writing it
    if (s.pos == next) return true;
    leave(s);
    return false;
  }

  /// Precondition: tail_lock_ held. The locked step of a receive: hit
  /// enters the slot (call consume() after unlocking); lagged moves `next`
  /// to the oldest retained position and sets `missed`.
  probe begin_locked(std::uint64_t& next, std::uint64_t& missed) noexcept {
    slot& s = slot_at(next);
    // No writer can be inside: writers hold tail_lock_.
    [[maybe_unused]] const bool entered = enter(s);
    assert(entered);
    if (s.pos == next) return probe::hit;
    const std::uint64_t held = s.pos;
    leave(s);
    if (held + capacity_ == next) return closed_ ? probe::closed : probe::empty;
    // Overwritten: held >= next + capacity_, so the oldest retained
    // position is past `next`.
    const std::uint64_t oldest = tail_pos_ - capacity_;
    assert(oldest > next);
    missed = oldest - next;
    next = oldest;
    return probe::lagged;
  }

  /// Precondition: tail_lock_ held. What begin_locked() would find, changing
  /// nothing (a receive that must yield to the budget first).
  probe peek_locked(std::uint64_t next) const noexcept {
    // pos is written only under tail_lock_, which we hold.
    const std::uint64_t held = slot_at(next).pos;
    if (held == next) return probe::hit;
    if (held + capacity_ == next) return closed_ ? probe::closed : probe::empty;
    return probe::lagged;
  }

  /// Precondition: inside the slot holding `next` (enter_if_at or a hit).
  /// Takes the value (copy when Take), advances `next`, leaves; the last
  /// reader releases the value. A value lost by a throwing send reads as
  /// lagged(1).
  template <bool Take>
  poll consume(std::uint64_t& next, std::optional<T>* out, std::uint64_t& missed) {
    slot& s = slot_at(next);
    const std::uint64_t pos = next++;
    // Leaves even if the copy throws: the value counts as received.
    struct leave_on_exit {
      broadcast_shared* self;
      slot* s;
      std::uint64_t pos;
      ~leave_on_exit() { self->leave_after_read(*s, pos); }
    } leaving{this, &s, pos};
    if (!s.value) [[unlikely]] {
      missed = 1;
      return poll::lagged;
    }
    if constexpr (Take) out->emplace(*s.value);
    return poll::value;
  }

  /// Precondition: tail_lock_ held. Queues a receiver that found nothing.
  void queue_locked(broadcast_waiter* w) noexcept {
    w->queued = true;
    waiters_.push_back(w);
  }

  /// A waiter gives up (a cancelled recv(), or a blocking_recv() whose park
  /// returned): unqueues it; returns whether it had been woken (or was
  /// never queued), i.e. its node may be on its task's ready stack.
  bool cancel_waiter(broadcast_waiter* w) noexcept {
    lock_guard guard(tail_lock_);
    if (!w->queued) return true;
    waiters_.remove(w);
    w->queued = false;
    return false;
  }

  /// Whether `w` is still queued (not woken yet).
  bool still_queued(const broadcast_waiter* w) const noexcept {
    lock_guard guard(tail_lock_);
    return w->queued;
  }

  mutex& tail_lock() const noexcept { return tail_lock_; }

 private:
  ~broadcast_shared() = default;

  slot& slot_at(std::uint64_t pos) const noexcept {
    return slots_[static_cast<std::size_t>(pos & mask_)];
  }

  static std::uint64_t rem_locked(const slot& s) noexcept {
    // Relaxed: a snapshot for len()/is_empty(); it publishes nothing.
    return s.word.load(std::memory_order_relaxed) >> bcast_rem_shift;
  }

  /// Enters `s` as a reader; false (backed off) if a send is writing it.
  bool enter(slot& s) noexcept {
    // Acquire: pairs with the release CAS in write_unlock(): the pos and
    // value of the last send into this slot are visible inside.
    const std::uint64_t prev = s.word.fetch_add(bcast_reader_one, std::memory_order_acquire);
    if ((prev & bcast_writer) == 0) [[likely]]
      return true;
    leave(s);
    return false;
  }

  /// Leaves `s` without having read a value.
  void leave(slot& s) noexcept {
    // Release: our reads of pos happen before a writer's overwrite; pairs
    // with the acquire in write_lock()/bcast_wait_for_readers().
    const std::uint64_t prev = s.word.fetch_sub(bcast_reader_one, std::memory_order_release);
    if ((prev & bcast_writer) != 0 && (prev & bcast_readers_mask) == 1)
      bcast_wake_writer(writer_seq_);
  }

  /// Leaves `s` after reading position `pos`, decrementing rem; the reader
  /// that brings it to zero releases the value.
  void leave_after_read(slot& s, std::uint64_t pos) noexcept {
    // Release: our copy of the value happens before the writer's overwrite
    // (pairs with the acquire in write_lock()/bcast_wait_for_readers()) and
    // before the last reader's destruction (pairs with its enter()).
    const std::uint64_t prev =
        s.word.fetch_sub(bcast_rem_one + bcast_reader_one, std::memory_order_release);
    if ((prev & bcast_writer) != 0 && (prev & bcast_readers_mask) == 1)
      bcast_wake_writer(writer_seq_);
    if constexpr (!trivial) {
      if ((prev >> bcast_rem_shift) == 1) release_value(s, pos);
    }
  }

  /// Every receiver has read position `pos`: destroys its value, unless a
  /// send overwrote (or is overwriting) the slot meanwhile.
  void release_value(slot& s, std::uint64_t pos) noexcept {
    std::optional<T> dying;  // dies after we leave
    if (!enter(s)) return;   // a send is overwriting it: the send destroys it
    if (s.pos == pos && s.value) {
      if constexpr (move_out) dying.emplace(std::move(*s.value));
      s.value.reset();
    }
    leave(s);
  }

  /// Precondition: tail_lock_ held. Takes `s` for writing.
  void write_lock(slot& s) noexcept {
    // Acquire: if no reader is inside, pairs with the release of the last
    // one to leave (its reads happen before our writes).
    const std::uint64_t prev = s.word.fetch_or(bcast_writer, std::memory_order_acquire);
    if ((prev & bcast_readers_mask) != 0) [[unlikely]]
      bcast_wait_for_readers(s.word, writer_seq_);
  }

  /// Clears WRITER and sets rem to `rem`. Readers backing off may change
  /// the reader bits meanwhile, hence the CAS.
  void write_unlock(slot& s, std::uint64_t rem) noexcept {
    std::uint64_t cur = s.word.load(std::memory_order_relaxed);
    // Release: publishes pos and value; pairs with the acquire in enter().
    while (!s.word.compare_exchange_weak(cur, (rem << bcast_rem_shift) | (cur & bcast_readers_mask),
                                         std::memory_order_release, std::memory_order_relaxed)) {
    }
  }

  struct write_unlock_on_exit {
    broadcast_shared* self;
    slot* s;
    std::uint64_t rem;  ///< the old rem until the write succeeds
    ~write_unlock_on_exit() { self->write_unlock(*s, rem); }
  };

  /// Precondition: tail_lock_ held. Wakes every queued receiver.
  void wake_all_locked() noexcept {
    while (broadcast_waiter* w = waiters_.pop_front()) {
      w->queued = false;
      w->node.wake();
    }
  }

  // Read-only after construction (read by every receive).
  std::unique_ptr<slot[]> slots_;
  const std::size_t capacity_;
  const std::uint64_t mask_;

  // Guarded by tail_lock_; written by every send, on a line of their own.
  alignas(destructive_interference) mutable mutex tail_lock_;
  std::uint64_t tail_pos_ = 0;  ///< next position to write
  std::size_t rx_cnt_ = 1;      ///< live receivers
  bool closed_ = false;         ///< every sender is gone; never unset
  intrusive_list<broadcast_waiter> waiters_;

  // Handle counts and the writer's futex, apart from the hot lines.
  /// Bumped by a reader that lets a waiting writer in; the writer sleeps
  /// on it (bcast_wait_for_readers).
  alignas(destructive_interference) atomic<std::uint32_t> writer_seq_{0};
  /// Live senders, and live handles (senders + receivers).
  channel_counts counts_;
};

}  // namespace kyoto::detail
