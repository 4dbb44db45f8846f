// The state shared by an mpsc channel's senders and its receiver.
//
// # Who touches what
//
// Everything below `lock_` is guarded by it. `tx_count_` and `refs_` are
// atomics so that copying and dropping handles does not take the lock.
//
// # Capacity (bounded channels)
//
// `permits_` counts free slots: a send takes one, a receive gives one back.
// A sender that finds none joins `send_waiters_` (FIFO) and is *granted* a
// permit by the receive that frees one, so senders are served in order and
// a permit never sits unused while someone waits:
//
//     invariant: send_waiters_ non-empty  =>  permits_ == 0
//
// A granted sender pushes its value when it resumes. If it is cancelled
// before that, it passes the permit on (grant_or_return_locked()), and
// nothing is sent: tokio's guarantee that a cancelled send sent nothing.
// A grant outlives close(), as a tokio permit does: the granted sender still
// delivers, so recv() reports the end only once no grant is outstanding
// (`granted_ == 0`). Only a dropped receiver makes a granted send fail.
//
// # Waking
//
// Every wake happens under `lock_`, and every awaiter's destructor takes
// `lock_` to learn whether it was woken (the wake rule in
// runtime/detail/task_header.hpp). The receiver parks in `receiver_`; it is
// woken by a send, by the last sender going away, and by close().
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/block_queue.hpp>
#include <kyoto/sync/detail/waiter_list.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace kyoto::detail {

/// A sender blocked on a full bounded channel.
struct send_waiter {
  enum class state : unsigned char {
    idle,     ///< not queued
    waiting,  ///< in send_waiters_
    granted,  ///< given a permit and woken
    closed,   ///< woken because the receiver closed
  };

  send_waiter* prev = nullptr;  ///< guarded by the channel lock
  send_waiter* next = nullptr;
  wake_node node;
  state st = state::idle;  ///< guarded by the channel lock
};

/// Throws std::logic_error for a blocking_* call made on a runtime thread.
[[noreturn]] void throw_blocking_in_runtime(const char* operation);
/// Throws std::logic_error for a second recv while one is waiting.
[[noreturn]] void throw_concurrent_recv();

inline void check_blocking_allowed(const char* operation) {
  if (current_context.sched != nullptr) [[unlikely]]
    throw_blocking_in_runtime(operation);
}

template <class T>
class chan {
 public:
  /// No capacity limit (unbounded channels).
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  /// `granted`: a slot is reserved for the caller's waiter, which sends
  /// when it resumes (the cooperative budget made it yield first).
  enum class send_status : unsigned char { sent, full, closed, granted };
  enum class recv_status : unsigned char { value, empty, disconnected };

  /// A channel with one sender and one receiver reference.
  explicit chan(std::size_t capacity) noexcept : capacity_(capacity), permits_(capacity) {}
  chan(const chan&) = delete;
  chan& operator=(const chan&) = delete;

  // ---- handles ----

  void add_sender() noexcept {
    // Relaxed: a new sender is made from an existing one, which keeps the
    // count above zero meanwhile (the shared_ptr argument).
    tx_count_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  void drop_sender() noexcept {
    // Acq_rel: the last sender's decrement is ordered after every sender's
    // sends; the receiver reads the count under lock_, which the lock below
    // orders.
    if (tx_count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      lock_guard guard(lock_);
      if (ended_locked()) wake_receiver();
    }
    unref();
  }

  /// The receiver goes away: close, and destroy what was never received
  /// (outside the lock: a value's destructor may use this channel).
  void drop_receiver() noexcept {
    {
      block_queue<T> undelivered = close_and_take();
    }
    unref();
  }

  bool unique_sender() const noexcept { return tx_count_.load(std::memory_order_relaxed) == 1; }

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

  /// Pushes after a permit was granted; closed if the receiver went away
  /// meanwhile (the permit is moot then). If moving the value in throws,
  /// nothing is sent and the permit passes on.
  send_status send_granted(T& value) {
    lock_guard guard(lock_);
    return send_granted_locked(value);
  }

  /// Precondition: lock_ held, the channel full. Queues `w`.
  void enqueue_sender_locked(send_waiter* w) noexcept {
    w->st = send_waiter::state::waiting;
    send_waiters_.push_back(w);
  }

  /// A send_waiter is cancelled: unqueue it, or hand on a permit it was
  /// granted. Returns whether its node was woken (and must be purged).
  bool cancel_sender(send_waiter* w) noexcept {
    lock_guard guard(lock_);
    switch (w->st) {
      case send_waiter::state::waiting:
        send_waiters_.remove(w);
        w->st = send_waiter::state::idle;
        return false;
      case send_waiter::state::granted:
        grant_or_return_locked();  // pass the permit on first...
        release_grant_locked();    // ...then give up ours
        return true;
      case send_waiter::state::closed:
        return true;
      case send_waiter::state::idle:
        return false;
    }
    return false;
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
      enqueue_sender_locked(&w);
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
    // Acq_rel: the last owner sees every other owner's writes before it
    // frees the channel.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Precondition: lock_ held; the caller holds a grant.
  send_status send_granted_locked(T& value) {
    if (rx_dropped_) {
      release_grant_locked();
      return send_status::closed;
    }
    try {
      push_locked(value);
    } catch (...) {
      grant_or_return_locked();
      release_grant_locked();
      throw;
    }
    release_grant_locked();
    return send_status::sent;
  }

  /// A grant was used or given up.
  void release_grant_locked() noexcept {
    --granted_;
    if (ended_locked()) wake_receiver();  // the end, now
  }

  /// Precondition: lock_ held. Nothing more can arrive: every sender is
  /// gone or the receiver closed, and no grant is outstanding.
  bool ended_locked() const noexcept {
    // Acquire: pairs with drop_sender()'s decrement; sends made before it
    // are in queue_.
    return granted_ == 0 && (rx_closed_ || tx_count_.load(std::memory_order_acquire) == 0);
  }

  /// Precondition: lock_ held. If the move throws, the queue is unchanged.
  void push_locked(T& value) {
    queue_.push_back(std::move(value));
    wake_receiver();
  }

  void wake_receiver() noexcept {
    if (wake_node* r = std::exchange(receiver_, nullptr)) r->wake();
  }

  /// A slot freed: grant it to the first waiting sender, or keep it.
  void grant_or_return_locked() noexcept {
    if (send_waiter* w = send_waiters_.pop_front()) {
      w->st = send_waiter::state::granted;
      ++granted_;
      w->node.wake();
    } else {
      ++permits_;
    }
  }

  void close_locked() noexcept {
    rx_closed_ = true;
    while (send_waiter* w = send_waiters_.pop_front()) {
      w->st = send_waiter::state::closed;
      w->node.wake();
    }
    if (ended_locked()) wake_receiver();  // a parked receiver sees the end
  }

  mutable mutex lock_;
  const std::size_t capacity_;
  std::size_t permits_;  ///< free slots (bounded); unused when unbounded
  block_queue<T> queue_;
  waiter_list<send_waiter> send_waiters_;
  wake_node* receiver_ = nullptr;  ///< the parked receiver, until woken
  bool recv_pending_ = false;      ///< a recv() is parked or woken, not yet resumed
  std::size_t granted_ = 0;        ///< grants not yet used or given up
  bool rx_closed_ = false;         ///< close() or the receiver dropped; never unset
  bool rx_dropped_ = false;        ///< the receiver is gone; never unset
  /// Live senders. Written by sender copies and drops.
  atomic<std::size_t> tx_count_{1};
  /// Live handles (senders + receiver); the last one frees the channel.
  atomic<std::size_t> refs_{2};
};

}  // namespace kyoto::detail
