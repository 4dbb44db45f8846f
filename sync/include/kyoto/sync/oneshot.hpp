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
/// \namespace kyoto::sync::oneshot
/// One value sent once from one task to another (tokio::sync::oneshot).
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/oneshot_state.hpp>

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

/// Awaiter of a receiver; gives result<T, recv_error>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — the
/// value, if it arrived meanwhile, stays in the channel for the next await.
/// While suspended it uses the channel's node (see the file comment).
template <class T>
class [[nodiscard]] recv_awaiter {
  using poll = typename kyoto::detail::oneshot_state<T>::poll;

 public:
  /// Made by `co_await` on a receiver; not constructed by users.
  explicit recv_awaiter(kyoto::detail::oneshot_state<T>* s) noexcept : state_(s) {}
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

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (state_->rx_completed()) {
      kyoto::detail::throw_oneshot_misuse(
          "kyoto::sync::oneshot::receiver: awaited after it completed");
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

  /// Parks the awaiting coroutine `h` on the channel's node (or yields it,
  /// when out of budget) and releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(state_->lock());
    kyoto::detail::wake_node& node = state_->claim_node_locked(h, !yield_);
    suspended_ = true;
    if (yield_) kyoto::detail::coop_yield(node);
  }

  /// The value, or recv_error if the sender went away without sending.
  result<T, recv_error> await_resume() {
    if (suspended_) {
      suspended_ = false;
      state_->release_node_and_take(value_);
    }
    state_->rx_completed() = true;
    if (value_) return std::move(*value_);
    return unexpected(recv_error{});
  }

  /// For task dumps: a receive on this channel.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "oneshot recv";
    d.object = state_;
  }

 private:
  kyoto::detail::oneshot_state<T>* state_;
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
  /// Made by sender::closed(); not constructed by users.
  explicit closed_awaiter(kyoto::detail::oneshot_state<T>* s) noexcept : state_(s) {}
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

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (state_->tx_awaiting()) {
      kyoto::detail::throw_oneshot_misuse(
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

  /// Parks the awaiting coroutine `h` (or yields it, when out of budget)
  /// and releases the lock await_ready() kept.
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

  /// Nothing to give: the receiver is closed or gone.
  void await_resume() noexcept {
    if (phase_ != phase::idle) state_->tx_awaiting() = false;
    phase_ = phase::done;
  }

 private:
  enum class phase : unsigned char { idle, waiting, yielding, done };

  kyoto::detail::oneshot_state<T>* state_;
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
  /// Takes over `other`'s channel; `other` is left empty (its send()
  /// throws std::logic_error).
  sender(sender&&) noexcept = default;
  /// Drops this sender as the destructor does (if it had not sent, its
  /// receiver gets recv_error), then takes over `other`'s channel; `other`
  /// is left empty.
  sender& operator=(sender&&) noexcept = default;

  /// Sends `value` and wakes the receiver; hands the value back in a
  /// send_error if the receiver is gone or closed. A sender sends once:
  /// afterwards it is empty, and another send throws std::logic_error (as
  /// does a send while this sender's closed() is suspended, e.g. in a
  /// join: send() gives the channel up under it).
  result<void, send_error<T>> send(T value) {
    if (!state_) {
      kyoto::detail::throw_oneshot_misuse(
          "kyoto::sync::oneshot::sender::send: the sender is empty (it already sent, or was "
          "moved from)");
    }
    if (state_->tx_awaiting()) {
      kyoto::detail::throw_oneshot_misuse(
          "kyoto::sync::oneshot::sender::send: a closed() of this sender is still being awaited");
    }
    const bool sent = state_->send(value);  // if it throws, we still own the state
    state_.release()->unref();              // send() already did what drop_sender() does
    if (sent) return {};
    return unexpected(send_error<T>{std::move(value)});
  }

  /// Whether the receiver is gone or closed (a send would fail). Never
  /// waits.
  bool is_closed() const {
    if (!state_) {
      kyoto::detail::throw_oneshot_misuse(
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
    if (!state_) {
      kyoto::detail::throw_oneshot_misuse(
          "kyoto::sync::oneshot::sender::closed: the sender is empty (it already sent, or was "
          "moved from)");
    }
    return closed_awaiter<T>(state_.get());
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>();
  explicit sender(kyoto::detail::oneshot_state<T>* s) noexcept : state_(s) {}

  /// Empty once sent or moved from; dropping it unsent completes the
  /// receiver.
  kyoto::detail::counted_ref<kyoto::detail::oneshot_state<T>,
                             &kyoto::detail::oneshot_state<T>::drop_sender>
      state_;
};

/// The receiving half: `co_await rx` gives the value, or recv_error if the
/// sender went away without sending. Move-only.
///
/// Thread safety: used by one task or thread at a time.
template <class T>
class receiver {
 public:
  /// Takes over `other`'s channel; `other` is left empty (awaiting it
  /// throws std::logic_error).
  receiver(receiver&&) noexcept = default;
  /// Drops this receiver (as the destructor does), then takes over
  /// `other`'s channel; `other` is left empty.
  receiver& operator=(receiver&&) noexcept = default;

  /// Waits for the value. Awaiting again after an await completed throws
  /// std::logic_error (tokio panics); after a cancelled await it is fine.
  /// Must be awaited in a runtime task, by one coroutine at a time (two at
  /// once throw std::logic_error); the receiver must outlive the await.
  /// Cancel safe.
  recv_awaiter<T> operator co_await() {
    check("kyoto::sync::oneshot::receiver: awaiting an empty (moved-from) receiver");
    if (state_->rx_completed()) {
      kyoto::detail::throw_oneshot_misuse(
          "kyoto::sync::oneshot::receiver: awaited after it completed");
    }
    return recv_awaiter<T>(state_.get());
  }

  /// Takes the value if it has arrived (tokio's try_recv).
  result<T, try_recv_error> try_recv() {
    check("kyoto::sync::oneshot::receiver::try_recv: empty (moved-from) receiver");
    std::optional<T> out;
    switch (state_->try_take(out)) {
      case kyoto::detail::oneshot_state<T>::poll::value:
        state_->rx_completed() = true;
        return std::move(*out);
      case kyoto::detail::oneshot_state<T>::poll::empty:
        return unexpected(try_recv_error(try_recv_error::kind::empty));
      case kyoto::detail::oneshot_state<T>::poll::closed:
        break;
    }
    return unexpected(try_recv_error(try_recv_error::kind::closed));
  }

  /// Waits on a plain thread; throws std::logic_error on a runtime thread.
  result<T, recv_error> blocking_recv() {
    kyoto::detail::check_may_block("kyoto::sync::oneshot::receiver::blocking_recv");
    check("kyoto::sync::oneshot::receiver::blocking_recv: empty (moved-from) receiver");
    kyoto::detail::wake_node node;
    node.prepare_thread();
    std::optional<T> out;
    for (;;) {
      typename kyoto::detail::oneshot_state<T>::poll p;
      {
        kyoto::detail::lock_guard guard(state_->lock());
        p = state_->try_take_locked(out);
        if (p == kyoto::detail::oneshot_state<T>::poll::empty) state_->park_locked(&node);
      }
      if (p != kyoto::detail::oneshot_state<T>::poll::empty) {
        state_->rx_completed() = true;
        if (p == kyoto::detail::oneshot_state<T>::poll::value) return std::move(*out);
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
  explicit receiver(kyoto::detail::oneshot_state<T>* s) noexcept : state_(s) {}

  void check(const char* what) const {
    if (!state_) kyoto::detail::throw_oneshot_misuse(what);
  }

  /// Empty once moved from; dropping it closes the channel.
  kyoto::detail::counted_ref<kyoto::detail::oneshot_state<T>,
                             &kyoto::detail::oneshot_state<T>::drop_receiver>
      state_;
};

/// A new oneshot channel (tokio's oneshot::channel).
template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  auto* s = new kyoto::detail::oneshot_state<T>();
  return {sender<T>(s), receiver<T>(s)};
}

}  // namespace kyoto::sync::oneshot
