// kyoto::sync::oneshot: send a single value from one task to another
// (tokio's sync::oneshot).
//
//   auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
//   kyoto::spawn([](auto tx) -> kyoto::task<> { tx.send(42).value(); co_return; },
//                std::move(tx));
//   kyoto::result<int, oneshot::recv_error> v = co_await rx;   // 42
//
// The shared state is guarded by a small lock; every wake happens under it
// and every cancelled awaiter takes it (the wake rule in
// runtime/detail/task_header.hpp). It is allocated from the frame pool, as
// oneshots are made per request. It also holds the receiver's wake_node
// (one receiver, awaited by one coroutine at a time), so a task parked on
// a oneshot carries only a pointer in its frame.
//
// Who wakes whom: the sender's send() or drop wakes the parked receiver
// (`rx_waiter_`); the receiver's close() or drop wakes the sender parked in
// closed() (`tx_waiter_`, a node in that awaiter). Once closed, a oneshot
// stays closed: closed() then completes at once, send() fails, and the
// receiver gets its value if one was sent before, recv_error otherwise.
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/blocking_check.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

namespace kyoto::sync::oneshot {

/// The error of awaiting a receiver: the sender went away without sending
/// (tokio's RecvError).
struct recv_error {
  /// tokio's Display: "channel closed".
  const char* what() const noexcept { return "channel closed"; }
  friend bool operator==(const recv_error&, const recv_error&) = default;
};

/// The error of receiver::try_recv (tokio's TryRecvError).
class try_recv_error {
 public:
  /// Why nothing was received.
  enum class kind : unsigned char { empty, closed };

  /// An error of kind `k`.
  explicit try_recv_error(kind k) noexcept : kind_(k) {}
  /// No value yet; the sender is still alive.
  bool is_empty() const noexcept { return kind_ == kind::empty; }
  /// No value will come: the sender is gone, the receiver was closed, or
  /// the value was already taken.
  bool is_closed() const noexcept { return kind_ == kind::closed; }
  /// tokio's Display: "channel empty" or "channel closed".
  const char* what() const noexcept {
    return kind_ == kind::empty ? "channel empty" : "channel closed";
  }
  friend bool operator==(const try_recv_error&, const try_recv_error&) = default;

 private:
  kind kind_;
};

/// The error of sender::send: the receiver is gone; holds the value
/// (tokio returns it as Err(value)).
template <class T>
struct send_error {
  /// The value that was not sent.
  T value;
  /// What happened: "receiver dropped" (tokio hands back the bare value).
  const char* what() const noexcept { return "receiver dropped"; }
};

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
std::pair<sender<T>, receiver<T>> channel();

namespace detail {

using kyoto::detail::lock_guard;
using kyoto::detail::wake_node;
[[noreturn]] void throw_misuse(const char* what);

/// The state a oneshot's two halves share. All fields but refs_ are
/// guarded by lock_.
template <class T>
class state {
 public:
  static void* operator new(std::size_t size) { return kyoto::detail::frame_pool::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    kyoto::detail::frame_pool::deallocate(p, size);
  }

  void unref() noexcept {
    // Acq_rel: the last owner sees the other's writes before freeing.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Stores the value unless the receiver is gone or closed (then leaves
  /// it). Either way the sender is done, which a parked receiver learns.
  /// If moving the value in throws, nothing changed (the sender may retry
  /// or be dropped).
  bool send(T& value) {
    lock_guard guard(lock_);
    const bool stored = !rx_closed_;
    if (stored) value_.emplace(std::move(value));
    tx_done_ = true;
    wake_receiver();
    return stored;
  }

  void drop_sender() noexcept {
    {
      lock_guard guard(lock_);
      tx_done_ = true;
      wake_receiver();
    }
    unref();
  }

  void drop_receiver() noexcept {
    // The value dies outside the lock: its destructor may use this channel.
    std::optional<T> unreceived;
    {
      lock_guard guard(lock_);
      rx_closed_ = true;
      wake_sender();
      if (value_) {
        unreceived.emplace(std::move(*value_));
        value_.reset();
      }
    }
    unref();
  }

  /// The receiver closes: send() fails from now on, and a sender parked in
  /// closed() is woken.
  void close() noexcept {
    lock_guard guard(lock_);
    rx_closed_ = true;
    wake_sender();
  }

  // ---- the sender's closed() ----

  /// Precondition: lock_ held. Whether the receiver closed or is gone.
  bool is_closed_locked() const noexcept { return rx_closed_; }

  /// Precondition: lock_ held, not closed. Parks the sender's `node` until
  /// the receiver closes or goes away.
  void park_sender_locked(wake_node* node) noexcept { tx_waiter_ = node; }

  /// A parked closed() is cancelled. Returns whether it had been woken.
  bool cancel_sender_wait(wake_node* node) noexcept {
    lock_guard guard(lock_);
    if (tx_waiter_ == node) {
      tx_waiter_ = nullptr;
      return false;
    }
    return true;
  }

  /// The sender's "a closed() await is suspended" flag (the sender's owner
  /// only, like rx_completed()).
  bool& tx_awaiting() noexcept { return tx_awaiting_; }

  bool is_closed() const noexcept {
    lock_guard guard(lock_);
    return rx_closed_;
  }

  enum class poll : unsigned char { value, empty, closed };

  /// Precondition: lock_ held. A value sent before close() is still
  /// taken; otherwise a closed receiver reports closed at once.
  poll try_take_locked(std::optional<T>& out) {
    if (value_) {
      out.emplace(std::move(*value_));
      value_.reset();
      taken_ = true;
      return poll::value;
    }
    return tx_done_ || taken_ || rx_closed_ ? poll::closed : poll::empty;
  }

  poll try_take(std::optional<T>& out) {
    lock_guard guard(lock_);
    return try_take_locked(out);
  }

  /// Precondition: lock_ held. What try_take_locked() would find, taking
  /// nothing.
  poll peek_locked() const noexcept {
    if (value_) return poll::value;
    return tx_done_ || taken_ || rx_closed_ ? poll::closed : poll::empty;
  }

  /// Precondition: lock_ held, empty. Parks a plain thread's node
  /// (blocking_recv); throws std::logic_error if an await is suspended.
  void park_locked(wake_node* node) {
    check_unused_locked();
    rx_waiter_ = node;
  }

  /// Precondition: lock_ held. Claims the receiver's node for an await
  /// about to suspend on coroutine `h`: parked (`park`) or yielding to the
  /// budget. Throws std::logic_error if another await holds it (join(rx,
  /// rx)) or outside a runtime task.
  wake_node& claim_node_locked(std::coroutine_handle<> h, bool park) {
    check_unused_locked();
    rx_node_.prepare(h);
    rx_node_busy_ = true;
    if (park) rx_waiter_ = &rx_node_;
    return rx_node_;
  }

  /// The claimed node's await resumes: frees the node. Takes the value, as
  /// try_take() does.
  poll release_node_and_take(std::optional<T>& out) {
    lock_guard guard(lock_);
    rx_node_busy_ = false;
    return try_take_locked(out);
  }

  /// The claimed node's await is cancelled: frees the node, and returns
  /// whether it had been woken (or pushed to its task by a yield), which the
  /// caller must then purge from its task.
  bool release_node_cancelled() noexcept {
    lock_guard guard(lock_);
    rx_node_busy_ = false;
    if (rx_waiter_ == &rx_node_) {
      rx_waiter_ = nullptr;
      return false;
    }
    return true;
  }

  /// A parked plain thread (blocking_recv) gives up its node.
  void cancel_park(wake_node* node) noexcept {
    lock_guard guard(lock_);
    if (rx_waiter_ == node) rx_waiter_ = nullptr;
  }

  /// The node claim_node_locked() handed out.
  kyoto::detail::wake_node& claimed_node() noexcept { return rx_node_; }

  /// The receiver's "an await completed" flag (the receiver's owner only).
  bool& rx_completed() noexcept { return rx_completed_; }

  kyoto::detail::mutex& lock() const noexcept { return lock_; }

 private:
  void wake_receiver() noexcept {
    if (wake_node* r = std::exchange(rx_waiter_, nullptr)) r->wake();
  }

  void wake_sender() noexcept {
    if (wake_node* t = std::exchange(tx_waiter_, nullptr)) t->wake();
  }

  void check_unused_locked() const {
    if (rx_waiter_ != nullptr || rx_node_busy_) {
      throw_misuse("kyoto::sync::oneshot::receiver: awaited by two coroutines at once");
    }
  }

  // Ordered so that the small fields share the first 16 bytes with the
  // lock: 80 bytes for a small T (one frame-pool class).
  mutable kyoto::detail::mutex lock_;
  bool rx_node_busy_ = false;  ///< an await is suspended with rx_node_
  bool tx_done_ = false;       ///< sent, or the sender is gone
  bool rx_closed_ = false;     ///< closed, or the receiver is gone
  bool taken_ = false;         ///< the receiver has the value
  bool rx_completed_ = false;  ///< an await completed (not guarded: receiver only)
  bool tx_awaiting_ = false;   ///< a closed() is suspended (not guarded: sender only)
  /// The two halves; the second to go frees the state.
  kyoto::detail::atomic<int> refs_{2};
  std::optional<T> value_;
  /// The receiver's awaits' node; in use while rx_node_busy_.
  wake_node rx_node_;
  /// The parked receiver (rx_node_, or a blocking_recv thread's node).
  wake_node* rx_waiter_ = nullptr;
  /// The sender parked in closed() (its awaiter's node), until woken.
  wake_node* tx_waiter_ = nullptr;
};

}  // namespace detail

/// Awaiter of a receiver; gives result<T, recv_error>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — the
/// value, if it arrived meanwhile, stays in the channel for the next await.
/// While suspended it uses the channel's node (see the file comment).
template <class T>
class [[nodiscard]] recv_awaiter {
  using poll = typename detail::state<T>::poll;

 public:
  explicit recv_awaiter(detail::state<T>* s) noexcept : state_(s) {}
  /// Movable until awaited (so it can be passed to join()).
  recv_awaiter(recv_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : state_(o.state_), value_(std::move(o.value_)) {
    assert(!o.suspended_ && "a oneshot recv_awaiter moved while awaited");
  }
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;
  ~recv_awaiter() {
    if (suspended_ && state_->release_node_cancelled()) {
      kyoto::detail::wake_node& node = state_->claimed_node();
      node.task->purge(&node);
    }
  }

  bool await_ready() {
    if (state_->rx_completed()) {
      detail::throw_misuse("kyoto::sync::oneshot::receiver: awaited after it completed");
    }
    state_->lock().lock();
    kyoto::detail::unlock_guard unlock(state_->lock());
    const poll p = state_->peek_locked();
    if (p != poll::empty) {
      if (kyoto::detail::coop_proceed()) {
        state_->try_take_locked(value_);
        return true;
      }
      yield_ = true;  // out of budget: yield first, take it when resumed
    }
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(state_->lock());
    kyoto::detail::wake_node& node = state_->claim_node_locked(h, !yield_);
    suspended_ = true;
    if (yield_) kyoto::detail::coop_yield(node);
  }

  result<T, recv_error> await_resume() {
    if (suspended_) {
      suspended_ = false;
      state_->release_node_and_take(value_);
    }
    state_->rx_completed() = true;
    if (value_) return std::move(*value_);
    return unexpected(recv_error{});
  }

 private:
  detail::state<T>* state_;
  std::optional<T> value_;
  bool suspended_ = false;
  bool yield_ = false;  ///< the budget made us yield before taking the value
};

/// Awaiter of sender::closed(): completes once the receiver closed or is
/// gone (tokio's Sender::closed).
///
/// Resumed on the awaiting task's thread (woken by the thread that closes
/// or drops the receiver). Cancel safety: cancel safe — once closed, the
/// channel stays closed and a later closed() completes at once.
template <class T>
class [[nodiscard]] closed_awaiter {
 public:
  explicit closed_awaiter(detail::state<T>* s) noexcept : state_(s) {}
  /// Movable until awaited (so it can be passed to join()).
  closed_awaiter(closed_awaiter&& o) noexcept : state_(o.state_), yield_(o.yield_) {
    assert(o.phase_ == phase::idle && "a oneshot closed_awaiter moved while awaited");
  }
  closed_awaiter(const closed_awaiter&) = delete;
  closed_awaiter& operator=(const closed_awaiter&) = delete;
  ~closed_awaiter() {
    if (phase_ == phase::waiting) {
      if (state_->cancel_sender_wait(&node_)) node_.task->purge(&node_);
    } else if (phase_ == phase::yielding) {
      node_.task->purge(&node_);  // cancelled while yielding (budget)
    } else {
      return;
    }
    state_->tx_awaiting() = false;
  }

  bool await_ready() {
    if (state_->tx_awaiting()) {
      detail::throw_misuse(
          "kyoto::sync::oneshot::sender::closed: awaited by two coroutines at once");
    }
    state_->lock().lock();
    kyoto::detail::unlock_guard unlock(state_->lock());
    if (state_->is_closed_locked()) {
      if (kyoto::detail::coop_proceed()) return true;
      yield_ = true;  // out of budget: yield first, then complete
    }
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(state_->lock());
    node_.prepare(h);
    state_->tx_awaiting() = true;
    if (yield_) {
      kyoto::detail::coop_yield(node_);
      phase_ = phase::yielding;
    } else {
      state_->park_sender_locked(&node_);
      phase_ = phase::waiting;
    }
  }

  void await_resume() noexcept {
    if (phase_ != phase::idle) state_->tx_awaiting() = false;
    phase_ = phase::done;
  }

 private:
  enum class phase : unsigned char { idle, waiting, yielding, done };

  detail::state<T>* state_;
  kyoto::detail::wake_node node_;
  phase phase_ = phase::idle;
  bool yield_ = false;  ///< the budget made us yield
};

/// The sending half: sends one value, synchronously. Move-only; dropping it
/// unsent completes the receiver with recv_error.
///
/// Thread safety: used by one thread at a time; any thread.
template <class T>
class sender {
 public:
  sender(sender&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  sender& operator=(sender&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;
  ~sender() { reset(); }

  /// Sends `value` and wakes the receiver; hands the value back in a
  /// send_error if the receiver is gone or closed. A sender sends once:
  /// afterwards it is empty, and another send throws std::logic_error (as
  /// does a send while this sender's closed() is suspended, e.g. in a
  /// join: send() gives the channel up under it).
  result<void, send_error<T>> send(T value) {
    if (state_ == nullptr) {
      detail::throw_misuse(
          "kyoto::sync::oneshot::sender::send: the sender is empty (it already sent, or was "
          "moved from)");
    }
    if (state_->tx_awaiting()) {
      detail::throw_misuse(
          "kyoto::sync::oneshot::sender::send: a closed() of this sender is still being awaited");
    }
    const bool sent = state_->send(value);  // if it throws, we still own the state
    std::exchange(state_, nullptr)->unref();
    if (sent) return {};
    return unexpected(send_error<T>{std::move(value)});
  }

  /// Whether the receiver is gone or closed (a send would fail). Never
  /// waits.
  bool is_closed() const {
    if (state_ == nullptr) {
      detail::throw_misuse(
          "kyoto::sync::oneshot::sender::is_closed: the sender is empty (it already sent, or was "
          "moved from)");
    }
    return state_->is_closed();
  }

  /// Completes once the receiver closed or is gone (tokio's closed), so the
  /// producer can give up the work. Must be awaited in a runtime task, by
  /// one coroutine at a time (two at once throw std::logic_error); the
  /// sender must outlive the awaiter, and cannot send() while it is
  /// suspended. Cancel safe.
  closed_awaiter<T> closed() {
    if (state_ == nullptr) {
      detail::throw_misuse(
          "kyoto::sync::oneshot::sender::closed: the sender is empty (it already sent, or was "
          "moved from)");
    }
    return closed_awaiter<T>(state_);
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>();
  explicit sender(detail::state<T>* s) noexcept : state_(s) {}

  void reset() noexcept {
    if (state_ != nullptr) std::exchange(state_, nullptr)->drop_sender();
  }

  detail::state<T>* state_;
};

/// The receiving half: `co_await rx` gives the value, or recv_error if the
/// sender went away without sending. Move-only.
///
/// Thread safety: used by one task or thread at a time.
template <class T>
class receiver {
 public:
  receiver(receiver&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  ~receiver() { reset(); }

  /// Waits for the value. Awaiting again after an await completed throws
  /// std::logic_error (tokio panics); after a cancelled await it is fine.
  /// Must be awaited in a runtime task, by one coroutine at a time (two at
  /// once throw std::logic_error); the receiver must outlive the await.
  /// Cancel safe.
  recv_awaiter<T> operator co_await() {
    check("kyoto::sync::oneshot::receiver: awaiting an empty (moved-from) receiver");
    if (state_->rx_completed()) {
      detail::throw_misuse("kyoto::sync::oneshot::receiver: awaited after it completed");
    }
    return recv_awaiter<T>(state_);
  }

  /// Takes the value if it has arrived (tokio's try_recv).
  result<T, try_recv_error> try_recv() {
    check("kyoto::sync::oneshot::receiver::try_recv: empty (moved-from) receiver");
    std::optional<T> out;
    switch (state_->try_take(out)) {
      case detail::state<T>::poll::value:
        state_->rx_completed() = true;
        return std::move(*out);
      case detail::state<T>::poll::empty:
        return unexpected(try_recv_error(try_recv_error::kind::empty));
      case detail::state<T>::poll::closed:
        break;
    }
    return unexpected(try_recv_error(try_recv_error::kind::closed));
  }

  /// Waits on a plain thread; throws std::logic_error on a runtime thread.
  result<T, recv_error> blocking_recv() {
    kyoto::detail::check_blocking_allowed("kyoto::sync::oneshot::receiver::blocking_recv");
    check("kyoto::sync::oneshot::receiver::blocking_recv: empty (moved-from) receiver");
    kyoto::detail::wake_node node;
    node.prepare_thread();
    std::optional<T> out;
    for (;;) {
      typename detail::state<T>::poll p;
      {
        detail::lock_guard guard(state_->lock());
        p = state_->try_take_locked(out);
        if (p == detail::state<T>::poll::empty) state_->park_locked(&node);
      }
      if (p != detail::state<T>::poll::empty) {
        state_->rx_completed() = true;
        if (p == detail::state<T>::poll::value) return std::move(*out);
        return unexpected(recv_error{});
      }
      node.parker->park();
      state_->cancel_park(&node);  // woken, or an early return from park
    }
  }

  /// Closes the channel: the sender's send fails from now on. A value sent
  /// before is still received; without one, receiving reports closed at once.
  void close() {
    check("kyoto::sync::oneshot::receiver::close: empty (moved-from) receiver");
    state_->close();
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>();
  explicit receiver(detail::state<T>* s) noexcept : state_(s) {}

  void check(const char* what) const {
    if (state_ == nullptr) detail::throw_misuse(what);
  }
  void reset() noexcept {
    if (state_ != nullptr) std::exchange(state_, nullptr)->drop_receiver();
  }

  detail::state<T>* state_;
};

/// A new oneshot channel (tokio's oneshot::channel).
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  auto* s = new detail::state<T>();
  return {sender<T>(s), receiver<T>(s)};
}

}  // namespace kyoto::sync::oneshot
