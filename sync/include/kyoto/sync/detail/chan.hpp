// The state shared by an mpsc channel's senders and its receiver.
//
// # Who touches what
//
// Everything below `lock_` is guarded by it but `counts_`, atomics
// (detail/channel_counts.hpp) so that copying and dropping handles does not
// take the lock.
//
// # Handles: strong senders, weak senders, the receiver
//
// The handle count counts every handle (senders, weak senders, the
// receiver); the last one frees the channel. The sender count counts the
// strong senders only: the channel ends for the receiver when it drops to
// zero. A weak sender (downgrade()) holds a reference but no sender count,
// and upgrade() adds a sender only if the count is still above zero (a CAS
// from non-zero), so zero is final: once the last strong sender is gone, no
// upgrade succeeds and no send can start. An owned permit holds a strong sender.
//
// # Capacity (bounded channels)
//
// `permits_` counts free slots: a send takes one, a receive gives one back.
// A sender that finds too few joins `send_waiters_` (FIFO) and is *granted*
// its slots by the receives (or returned permits) that free them, so
// senders are served in order and a slot never sits unused while someone
// waits:
//
//     invariant: send_waiters_ non-empty  =>  permits_ == 0
//
// A waiter may want several slots (reserve_many(n)). Freed slots go to the
// *front* waiter only; until it has all it asked for they are its partial
// assignment, counted in `partial_` (only the front waiter can have one),
// and the waiters behind it wait, as in tokio's batch semaphore. When the
// front waiter has all its slots it is popped, marked granted and woken.
// A front waiter that gives up hands its partial assignment on; close()
// returns it to `permits_`.
//
// # Grants and permits
//
// `granted_` counts slots that are reserved but not yet used: those of a
// woken (granted) waiter that has not resumed, and those held by permits
// (reserve(), try_reserve(), reserve_many(), the owned forms). Each is
// either used by one push (a permit's send, a granted send) or given back
// (a dropped permit, a cancelled waiter), which passes the slot to the
// next waiter first (grant_or_return_locked()) and only then releases the
// grant, so the receiver never sees a transient "no grant left".
//
// A cancelled granted send passes its slot on and sends nothing: tokio's
// guarantee that a cancelled send sent nothing. A grant outlives close(), as
// a tokio permit does: the granted sender or permit still delivers, so
// recv() reports the end only once no grant is outstanding (`granted_ ==
// 0`). Only a dropped receiver makes a granted send fail (a permit's send
// then destroys its value, as tokio's does).
//
// # Waking
//
// Every wake happens under `lock_`, and every awaiter's destructor takes
// `lock_` to learn whether it was woken (the wake rule in
// runtime/detail/task_header.hpp). The receiver parks in `receiver_`; it is
// woken by a send, by the last sender going away, by the last grant being
// used or given up after that, and by close(). Waiters of closed() park in
// `closed_waiters_` and are all woken by close() (or the receiver's drop).
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/block_queue.hpp>
#include <kyoto/sync/detail/channel_counts.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace kyoto::detail {

/// A sender (send, reserve, send_timeout) waiting for slots of a bounded
/// channel.
struct send_waiter {
  enum class state : unsigned char {
    idle,     ///< not queued
    waiting,  ///< in send_waiters_
    granted,  ///< given all its slots and woken
    closed,   ///< woken because the receiver closed
  };

  send_waiter* prev = nullptr;  ///< guarded by the channel lock
  send_waiter* next = nullptr;
  wake_node node;
  /// Slots still to be assigned while waiting (guarded by the channel lock).
  std::size_t needed = 0;
  state st = state::idle;  ///< guarded by the channel lock
};

/// A task waiting in closed() for the receiver to close.
struct closed_waiter {
  closed_waiter* prev = nullptr;  ///< guarded by the channel lock
  closed_waiter* next = nullptr;
  wake_node node;
  bool woken = false;  ///< guarded by the channel lock: close() woke it
};

/// Throws std::logic_error for a second recv while one is waiting.
[[noreturn]] KYOTO_EXPORT void throw_concurrent_recv();

template <class T>
class chan {
 public:
  /// No capacity limit (unbounded channels).
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  /// `sent`: done (for a reserve: the slots are the caller's). `granted`:
  /// the slots are reserved for the caller's waiter, which yields first
  /// (the cooperative budget) and sends or takes them when it resumes.
  enum class send_status : unsigned char { sent, full, closed, granted };
  enum class recv_status : unsigned char { value, empty, disconnected };

  /// A channel with one sender and one receiver reference.
  explicit chan(std::size_t capacity) noexcept : capacity_(capacity), permits_(capacity) {}
  chan(const chan&) = delete;
  chan& operator=(const chan&) = delete;

  // ---- handles ----

  void add_sender() noexcept { counts_.add_sender(); }

  void drop_sender() noexcept {
    // The last sender's decrement is ordered after every sender's sends
    // (channel_counts); the receiver reads the count in ended_locked(),
    // under lock_, which the lock below also orders.
    if (counts_.drop_sender()) {
      lock_guard guard(lock_);
      if (ended_locked()) wake_receiver();
    }
    unref();
  }

  /// A weak sender is made (downgrade(), or a weak sender's copy).
  void add_weak() noexcept { counts_.add_ref(); }

  /// A weak sender goes away.
  void drop_weak() noexcept { unref(); }

  /// A weak sender's upgrade(): adds a strong sender unless none is left.
  /// The caller holds a (weak) reference.
  bool try_add_sender() noexcept { return counts_.try_add_sender(); }

  /// The receiver goes away: close, and destroy what was never received
  /// (outside the lock: a value's destructor may use this channel).
  void drop_receiver() noexcept {
    {
      block_queue<T> undelivered = close_and_take();
    }
    unref();
  }

  // ---- sending ----

  /// Sends `value` (moving it) if there is room; otherwise leaves it.
  send_status try_send(T& value) {
    lock_guard guard(lock_);
    return try_send_locked(value);
  }

  /// Precondition: lock_ held. If moving the value in throws, nothing is
  /// sent and no permit is taken.
  send_status try_send_locked(T& value) {
    if (rx_closed_) return send_status::closed;
    if (permits_ == 0) return send_status::full;
    push_locked(value);
    if (capacity_ != unbounded) --permits_;
    return send_status::sent;
  }

  /// Precondition: lock_ held. As try_send_locked(), but an immediate send
  /// consumes the task's cooperative budget; with none left, the slot is
  /// granted to `w` instead (coop.hpp).
  send_status begin_send_locked(T& value, send_waiter* w) {
    if (rx_closed_) return send_status::closed;
    if (permits_ == 0) return send_status::full;
    if (!coop_proceed()) {
      if (capacity_ != unbounded) --permits_;
      ++granted_;
      w->st = send_waiter::state::granted;
      return send_status::granted;
    }
    push_locked(value);
    if (capacity_ != unbounded) --permits_;
    return send_status::sent;
  }

  /// Precondition: lock_ held; a bounded channel. Takes `n` slots for the
  /// caller if they are free (`sent`); with the budget spent, reserves them
  /// for `w` (`granted`, the caller yields first); `full` if too few are
  /// free; `closed` if the receiver closed or `n` exceeds the capacity
  /// (tokio reports that as a SendError too).
  send_status begin_reserve_locked(std::size_t n, send_waiter* w) {
    if (rx_closed_ || n > capacity_) return send_status::closed;
    // No waiter can be ahead: waiters imply permits_ == 0 < n (n == 0
    // takes nothing, as tokio's acquire(0)).
    if (permits_ < n) return send_status::full;
    permits_ -= n;
    granted_ += n;
    if (n != 0 && !coop_proceed()) {
      w->st = send_waiter::state::granted;
      return send_status::granted;
    }
    return send_status::sent;
  }

  /// Takes `n` slots for a permit if they are free right now (tokio's
  /// try_reserve / try_reserve_many): `sent`, `full` or `closed`.
  send_status try_reserve(std::size_t n) {
    lock_guard guard(lock_);
    if (rx_closed_) return send_status::closed;
    if (n > capacity_ || permits_ < n) return send_status::full;
    permits_ -= n;
    granted_ += n;
    return send_status::sent;
  }

  /// Pushes after a permit was granted; closed if the receiver went away
  /// meanwhile (the permit is moot then). If moving the value in throws,
  /// nothing is sent and the permit passes on.
  send_status send_granted(T& value) {
    lock_guard guard(lock_);
    return send_granted_locked(value);
  }

  /// A permit's send: pushes into a slot the caller holds. If the receiver
  /// is gone the value stays with the caller (to be destroyed outside the
  /// lock). If moving the value in throws, nothing changed: the caller
  /// still holds its slot.
  void send_permit(T& value) {
    lock_guard guard(lock_);
    if (!rx_dropped_) push_locked(value);
    release_grant_locked(1);
  }

  /// Permits go unused (a dropped permit, the rest of a permit_iterator):
  /// their `n` slots pass to the waiting senders or back to the channel.
  void release_permits(std::size_t n) noexcept {
    if (n == 0) return;
    lock_guard guard(lock_);
    grant_or_return_locked(n);  // pass the slots on first...
    release_grant_locked(n);    // ...then give up ours
  }

  /// A permit goes unused (a dropped permit's counted_ref drop).
  void release_permit() noexcept { release_permits(1); }

  /// An owned permit goes unused: its slot passes on, then its sender goes.
  void release_owned_permit() noexcept {
    release_permits(1);
    drop_sender();
  }

  /// Precondition: lock_ held, fewer than `n` slots free (the channel full
  /// for a send). Queues `w` for `n` slots; at the front of the queue it
  /// takes what is free as its partial assignment.
  void enqueue_sender_locked(send_waiter* w, std::size_t n) noexcept {
    w->st = send_waiter::state::waiting;
    if (send_waiters_.empty()) {
      partial_ = permits_;  // < n
      permits_ = 0;
      w->needed = n - partial_;
    } else {
      w->needed = n;  // permits_ == 0 (the invariant)
    }
    send_waiters_.push_back(w);
  }

  /// Takes a waiting `w` out of the queue, handing on its partial
  /// assignment. Returns whether it had been woken instead (granted or
  /// closed, which `w->st` still says; its node must be purged if it will
  /// not be resumed).
  bool withdraw_sender(send_waiter* w) noexcept {
    lock_guard guard(lock_);
    return withdraw_sender_locked(w);
  }

  /// A send_waiter for `n` slots is cancelled: unqueue it, or hand on the
  /// slots it was granted. Returns whether its node was woken (and must be
  /// purged).
  bool cancel_sender(send_waiter* w, std::size_t n) noexcept {
    lock_guard guard(lock_);
    if (w->st == send_waiter::state::granted) {
      w->st = send_waiter::state::idle;
      grant_or_return_locked(n);  // pass the slots on first...
      release_grant_locked(n);    // ...then give up ours
      return true;
    }
    return withdraw_sender_locked(w);
  }

  /// Blocks the calling (non-runtime) thread until `value` is sent or the
  /// channel closes. Moves `value` only if sent.
  send_status blocking_send(T& value) {
    send_waiter w;
    {
      lock_guard guard(lock_);
      const send_status s = try_send_locked(value);
      if (s != send_status::full) return s;
      w.node.prepare_thread();
      enqueue_sender_locked(&w, 1);
    }
    for (;;) {
      w.node.parker->park();
      lock_guard guard(lock_);
      if (w.st == send_waiter::state::waiting) continue;  // early return from park
      if (w.st == send_waiter::state::closed) return send_status::closed;
      return send_granted_locked(value);
    }
  }

  bool is_closed() const noexcept {
    lock_guard guard(lock_);
    return rx_closed_;
  }

  /// Free slots now (tokio's Sender::capacity); bounded channels.
  std::size_t capacity() const noexcept {
    lock_guard guard(lock_);
    return permits_;
  }

  /// The capacity the channel was made with (tokio's max_capacity).
  std::size_t max_capacity() const noexcept { return capacity_; }

  // ---- closed() ----

  /// Precondition: lock_ held. Whether close() happened (the receiver
  /// closed or is gone); never unset.
  bool is_closed_locked() const noexcept { return rx_closed_; }

  /// Precondition: lock_ held, not closed. Parks `w` until close().
  void wait_closed_locked(closed_waiter* w) noexcept {
    w->woken = false;
    closed_waiters_.push_back(w);
  }

  /// A parked closed() is cancelled. Returns whether it had been woken.
  bool cancel_closed(closed_waiter* w) noexcept {
    lock_guard guard(lock_);
    if (w->woken) return true;
    closed_waiters_.remove(w);
    return false;
  }

  // ---- receiving ----

  /// Takes the next value if there is one; otherwise reports whether more
  /// may come. Throws std::logic_error while a recv() is in progress.
  recv_status try_recv(std::optional<T>& out) {
    lock_guard guard(lock_);
    return begin_recv_locked(out);
  }

  /// Precondition: lock_ held. A new receive: refused while another is in
  /// progress (a recv() parked, or woken and not yet resumed).
  recv_status begin_recv_locked(std::optional<T>& out) {
    if (recv_pending_) throw_concurrent_recv();
    return try_recv_locked(out);
  }

  /// Precondition: lock_ held. What a receive would find, taking nothing;
  /// refused while another receive is in progress.
  recv_status peek_recv_locked() const {
    if (recv_pending_) throw_concurrent_recv();
    if (!queue_.empty()) return recv_status::value;
    return ended_locked() ? recv_status::disconnected : recv_status::empty;
  }

  /// Precondition: lock_ held, a value or the end is there. Claims the
  /// receive without taking anything: the receiver yields (the cooperative
  /// budget) and takes it with finish_recv() when it resumes.
  void claim_recv_locked() noexcept { recv_pending_ = true; }

  /// A parked recv() resumes after its wake: takes what woke it (a value,
  /// or the end; never "empty": wakes are precise).
  recv_status finish_recv(std::optional<T>& out) {
    lock_guard guard(lock_);
    recv_pending_ = false;
    return try_recv_locked(out);
  }

  /// Precondition: lock_ held. If moving the value out throws, it stays
  /// first in the channel.
  recv_status try_recv_locked(std::optional<T>& out) {
    if (!queue_.empty()) {
      out.emplace(std::move(queue_.front()));
      queue_.drop_front();
      if (capacity_ != unbounded) grant_or_return_locked();
      return recv_status::value;
    }
    return ended_locked() ? recv_status::disconnected : recv_status::empty;
  }

  /// Precondition: lock_ held. Moves up to `limit` values to the end of
  /// `out`, in order; returns how many (0 when there are none). Reserves
  /// `out`'s room first (if that throws, nothing is taken); if moving a
  /// value throws, those moved before it are in `out` and it stays first.
  std::size_t take_many_locked(std::vector<T>& out, std::size_t limit) {
    const std::size_t n = std::min(limit, queue_.size());
    if (n == 0) return 0;
    out.reserve(out.size() + n);
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));  // no reallocation: reserved
      queue_.drop_front();
      if (capacity_ != unbounded) grant_or_return_locked();
    }
    return n;
  }

  /// A parked recv_many() resumes after its wake: takes what woke it (as
  /// finish_recv()).
  std::size_t finish_recv_many(std::vector<T>& out, std::size_t limit) {
    lock_guard guard(lock_);
    recv_pending_ = false;
    return take_many_locked(out, limit);
  }

  /// Precondition: lock_ held, begin_recv_locked() found nothing. Parks
  /// `node`; the receive stays in progress until finish_recv() or
  /// cancel_receiver().
  void park_receiver_locked(wake_node* node) noexcept {
    receiver_ = node;
    recv_pending_ = true;
  }

  /// The parked receiver is cancelled. Returns whether it had been woken.
  bool cancel_receiver(wake_node* node) noexcept {
    lock_guard guard(lock_);
    recv_pending_ = false;
    if (receiver_ == node) {
      receiver_ = nullptr;
      return false;
    }
    return true;
  }

  /// Blocks the calling (non-runtime) thread until a value arrives or the
  /// channel is closed and drained.
  std::optional<T> blocking_recv() {
    wake_node node;
    node.prepare_thread();
    std::optional<T> out;
    {
      lock_guard guard(lock_);
      if (begin_recv_locked(out) != recv_status::empty) return out;
      park_receiver_locked(&node);
    }
    for (;;) {
      node.parker->park();
      lock_guard guard(lock_);
      if (receiver_ == &node) continue;  // an early return from park
      recv_pending_ = false;
      try_recv_locked(out);  // woken: a value, or the end
      return out;
    }
  }

  /// The receiver closes: sends fail from now on, buffered values remain.
  void close() noexcept {
    lock_guard guard(lock_);
    close_locked();
  }

  mutex& lock() const noexcept { return lock_; }

 private:
  block_queue<T> close_and_take() noexcept {
    lock_guard guard(lock_);
    rx_dropped_ = true;
    close_locked();
    return std::move(queue_);
  }

  void unref() noexcept {
    if (counts_.drop_ref()) delete this;
  }

  /// Precondition: lock_ held; the caller holds a grant of one slot.
  send_status send_granted_locked(T& value) {
    if (rx_dropped_) {
      release_grant_locked(1);
      return send_status::closed;
    }
    try {
      push_locked(value);
    } catch (...) {
      grant_or_return_locked();
      release_grant_locked(1);
      throw;
    }
    release_grant_locked(1);
    return send_status::sent;
  }

  /// Precondition: lock_ held. See withdraw_sender().
  bool withdraw_sender_locked(send_waiter* w) noexcept {
    if (w->st != send_waiter::state::waiting) return w->st != send_waiter::state::idle;
    const bool front = send_waiters_.front() == w;
    send_waiters_.remove(w);
    w->st = send_waiter::state::idle;
    if (front && partial_ != 0) {
      // Its partial assignment goes to the new front waiter (or back).
      grant_or_return_locked(std::exchange(partial_, 0));
    }
    return false;
  }

  /// `n` grants were used or given up.
  void release_grant_locked(std::size_t n) noexcept {
    granted_ -= n;
    if (ended_locked()) wake_receiver();  // the end, now
  }

  /// Precondition: lock_ held. Nothing more can arrive: every sender is
  /// gone or the receiver closed, and no grant is outstanding.
  bool ended_locked() const noexcept {
    // senders() acquires drop_sender()'s decrement: sends made before it
    // are in queue_.
    return granted_ == 0 && (rx_closed_ || counts_.senders() == 0);
  }

  /// Precondition: lock_ held. If the move throws, the queue is unchanged.
  void push_locked(T& value) {
    queue_.push_back(std::move(value));
    wake_receiver();
  }

  void wake_receiver() noexcept {
    if (wake_node* r = std::exchange(receiver_, nullptr)) r->wake();
  }

  /// A slot freed (the receive path): assign it to the front waiting
  /// sender, or keep it.
  void grant_or_return_locked() noexcept {
    send_waiter* w = send_waiters_.front();
    if (w == nullptr) [[likely]] {
      ++permits_;
      return;
    }
    if (--w->needed != 0) {
      ++partial_;  // a reserve_many() still short of slots
      return;
    }
    grant_front_locked(w, 1);
  }

  /// `n` slots freed: assign them to the waiting senders in order, or
  /// keep them.
  void grant_or_return_locked(std::size_t n) noexcept {
    while (n != 0) {
      send_waiter* w = send_waiters_.front();
      if (w == nullptr) {
        permits_ += n;
        return;
      }
      const std::size_t take = std::min(n, w->needed);
      w->needed -= take;
      n -= take;
      if (w->needed != 0) {
        partial_ += take;  // n is 0 now
        return;
      }
      grant_front_locked(w, take);
    }
  }

  /// The front waiter `w` has all its slots, the last `take` just now.
  void grant_front_locked(send_waiter* w, std::size_t take) noexcept {
    send_waiters_.pop_front();
    granted_ += std::exchange(partial_, 0) + take;
    w->st = send_waiter::state::granted;
    w->node.wake();
  }

  void close_locked() noexcept {
    rx_closed_ = true;
    while (send_waiter* w = send_waiters_.pop_front()) {
      w->st = send_waiter::state::closed;
      w->node.wake();
    }
    permits_ += std::exchange(partial_, 0);  // the front waiter's, given up
    while (closed_waiter* w = closed_waiters_.pop_front()) {
      w->woken = true;
      w->node.wake();
    }
    if (ended_locked()) wake_receiver();  // a parked receiver sees the end
  }

  mutable mutex lock_;
  const std::size_t capacity_;
  std::size_t permits_;  ///< free slots (bounded); unused when unbounded
  block_queue<T> queue_;
  intrusive_list<send_waiter> send_waiters_;
  intrusive_list<closed_waiter> closed_waiters_;
  wake_node* receiver_ = nullptr;  ///< the parked receiver, until woken
  bool recv_pending_ = false;      ///< a recv() is parked or woken, not yet resumed
  std::size_t granted_ = 0;        ///< reserved slots not yet used or given up
  std::size_t partial_ = 0;        ///< slots assigned to the front waiter so far
  bool rx_closed_ = false;         ///< close() or the receiver dropped; never unset
  bool rx_dropped_ = false;        ///< the receiver is gone; never unset
  /// Live strong senders (owned permits included; zero is final) and live
  /// handles (senders, weak senders, the receiver).
  channel_counts counts_;
};

}  // namespace kyoto::detail
