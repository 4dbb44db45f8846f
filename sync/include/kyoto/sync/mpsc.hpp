// kyoto::sync::mpsc: multi-producer, single-consumer channels (tokio's
// sync::mpsc), bounded and unbounded.
//
//   auto [tx, rx] = kyoto::sync::mpsc::channel<int>(100);
//   kyoto::spawn([](auto tx) -> kyoto::task<> {
//     (co_await tx.send(1)).expect("receiver gone");
//   }, tx);                                   // a copy is tokio's tx.clone()
//   while (std::optional<int> v = co_await rx.recv()) { ... }
//
// Values are delivered in the order each sender sent them. recv() yields
// std::nullopt only once every sender is gone (or the receiver closed) and
// the buffer is drained. A send that fails hands its value back inside the
// error, never losing it. The protocol is in detail/chan.hpp.
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

namespace kyoto::sync::mpsc {

template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
class receiver;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel();

/// The error of send() and blocking_send(): the receiver is gone. Holds the
/// value that was not sent (tokio's SendError).
template <class T>
struct send_error {
  T value;
  const char* what() const noexcept { return "channel closed"; }
};

/// The error of try_send(): full or closed, with the value that was not
/// sent (tokio's TrySendError).
template <class T>
struct try_send_error {
  enum class reason : unsigned char { full, closed };

  reason why;
  /// The value that was not sent.
  T value;

  /// The channel had no free slot.
  bool is_full() const noexcept { return why == reason::full; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// The value that was not sent (tokio's into_inner()).
  T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value); }
  const char* what() const noexcept {
    return why == reason::full ? "no available capacity" : "channel closed";
  }
};

/// The error of try_recv() (tokio's TryRecvError).
class try_recv_error {
 public:
  enum class kind : unsigned char { empty, disconnected };

  explicit try_recv_error(kind k) noexcept : kind_(k) {}
  /// Nothing buffered, but senders remain.
  bool is_empty() const noexcept { return kind_ == kind::empty; }
  /// Nothing buffered and no sender left (or the receiver closed).
  bool is_disconnected() const noexcept { return kind_ == kind::disconnected; }
  const char* what() const noexcept {
    return kind_ == kind::empty ? "receiving on an empty channel" : "receiving on a closed channel";
  }
  friend bool operator==(const try_recv_error&, const try_recv_error&) = default;

 private:
  kind kind_;
};

namespace detail {
using kyoto::detail::chan;
[[noreturn]] void throw_empty_handle(const char* operation);
[[noreturn]] void throw_awaited_twice(const char* operation);
}  // namespace detail

/// Awaiter of sender::send(); gives result<void, send_error<T>>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancelling a
/// pending send sends nothing (the value is destroyed with the awaiter)
/// and passes on a slot it may have been granted, so no other sender is
/// held up. Use reserve() (when it lands) to keep the value.
template <class T>
class [[nodiscard]] send_awaiter {
  using status = typename detail::chan<T>::send_status;

 public:
  send_awaiter(detail::chan<T>* c, T value) : chan_(c), value_(std::move(value)) {}
  /// Movable until awaited (so it can be passed to join()).
  /// The source is used up (GCC 12 moves the operand of `co_await
  /// std::move(x)` into a temporary: the temporary does the await).
  send_awaiter(send_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : chan_(o.chan_),
        value_(std::move(o.value_)),
        status_(o.status_),
        done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a send_awaiter moved while awaited");
  }
  send_awaiter(const send_awaiter&) = delete;
  send_awaiter& operator=(const send_awaiter&) = delete;
  ~send_awaiter() {
    if (suspended_ && chan_->cancel_sender(&waiter_)) waiter_.node.task->purge(&waiter_.node);
  }

  bool await_ready() {
    if (done_) detail::throw_awaited_twice("kyoto::sync::mpsc::sender::send");
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_send_locked(value_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(chan_->lock());
    waiter_.node.prepare(h);
    if (status_ == status::granted) {
      // Out of budget: a slot is ours; yield, and send when resumed.
      kyoto::detail::coop_yield(waiter_.node);
    } else {
      chan_->enqueue_sender_locked(&waiter_);
    }
    suspended_ = true;
  }

  result<void, send_error<T>> await_resume() {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      // Written under the lock before our wake; the wake orders it.
      status_ = waiter_.st == kyoto::detail::send_waiter::state::granted
                    ? chan_->send_granted(value_)
                    : status::closed;
    }
    if (status_ == status::sent) return {};
    return unexpected(send_error<T>{std::move(value_)});
  }

 private:
  detail::chan<T>* chan_;
  T value_;
  kyoto::detail::send_waiter waiter_;
  status status_ = status::full;
  bool suspended_ = false;
  bool done_ = false;  ///< awaited once already
};

/// Awaiter of receiver::recv(); gives std::optional<T>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled recv has received nothing, and a value that arrived meanwhile
/// stays first in the channel.
template <class T>
class [[nodiscard]] recv_awaiter {
  using status = typename detail::chan<T>::recv_status;

 public:
  explicit recv_awaiter(detail::chan<T>* c) noexcept : chan_(c) {}
  /// Movable until awaited (so it can be passed to join()).
  /// The source is used up (see send_awaiter's move constructor).
  recv_awaiter(recv_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : chan_(o.chan_), value_(std::move(o.value_)), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a recv_awaiter moved while awaited");
  }
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;
  ~recv_awaiter() {
    if (suspended_ && chan_->cancel_receiver(&node_)) node_.task->purge(&node_);
  }

  bool await_ready() {
    if (done_) detail::throw_awaited_twice("kyoto::sync::mpsc::receiver::recv");
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    const status s = chan_->peek_recv_locked();
    if (s != status::empty) {
      if (kyoto::detail::coop_proceed()) {
        chan_->try_recv_locked(value_);
        return true;
      }
      yield_ = true;  // out of budget: yield first, receive when resumed
    }
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(chan_->lock());
    node_.prepare(h);
    if (yield_) {
      chan_->claim_recv_locked();
      kyoto::detail::coop_yield(node_);
    } else {
      chan_->park_receiver_locked(&node_);
    }
    suspended_ = true;
  }

  std::optional<T> await_resume() {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      // A parked receiver is woken only when its recv can complete.
      [[maybe_unused]] const auto s = chan_->finish_recv(value_);
      assert(s != status::empty);
    }
    return std::exchange(value_, std::nullopt);
  }

 private:
  detail::chan<T>* chan_;
  kyoto::detail::wake_node node_;
  std::optional<T> value_;
  bool suspended_ = false;
  bool yield_ = false;  ///< the budget made us yield before receiving
  bool done_ = false;   ///< awaited once already
};

/// The receiving half of a channel (bounded or unbounded). Move-only;
/// destroying it closes the channel and destroys what was never received.
///
/// Thread safety: one receiver, used by one task (or thread) at a time.
template <class T>
class receiver {
 public:
  receiver(receiver&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  ~receiver() { reset(); }

  /// Receives the next value, waiting for one; std::nullopt once every
  /// sender is gone (or close() was called) and the buffer is drained. Must
  /// be awaited in a runtime task; one receive at a time (another receive
  /// while a recv() is in progress throws std::logic_error); the awaiter is
  /// awaited once, and this receiver must outlive it. Cancel safe.
  recv_awaiter<T> recv() { return recv_awaiter<T>(checked("kyoto::sync::mpsc::receiver::recv")); }

  /// Takes the next value without waiting (tokio's try_recv).
  result<T, try_recv_error> try_recv() {
    std::optional<T> out;
    switch (checked("kyoto::sync::mpsc::receiver::try_recv")->try_recv(out)) {
      case detail::chan<T>::recv_status::value:
        return std::move(*out);
      case detail::chan<T>::recv_status::empty:
        return unexpected(try_recv_error(try_recv_error::kind::empty));
      case detail::chan<T>::recv_status::disconnected:
        break;
    }
    return unexpected(try_recv_error(try_recv_error::kind::disconnected));
  }

  /// recv() for a plain thread: blocks it until a value arrives or the
  /// channel is closed and drained. Throws std::logic_error on a runtime
  /// thread, where blocking would stall the runtime.
  std::optional<T> blocking_recv() {
    kyoto::detail::check_blocking_allowed("kyoto::sync::mpsc::receiver::blocking_recv");
    return checked("kyoto::sync::mpsc::receiver::blocking_recv")->blocking_recv();
  }

  /// Closes the channel: sends fail from now on (waiting senders get their
  /// value back); values already buffered can still be received.
  void close() { checked("kyoto::sync::mpsc::receiver::close")->close(); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded_channel();

  explicit receiver(detail::chan<T>* c) noexcept : chan_(c) {}

  detail::chan<T>* checked(const char* op) const {
    if (chan_ == nullptr) detail::throw_empty_handle(op);
    return chan_;
  }
  void reset() noexcept {
    if (chan_ != nullptr) std::exchange(chan_, nullptr)->drop_receiver();
  }

  detail::chan<T>* chan_;
};

/// The receiving half of an unbounded channel.
template <class T>
using unbounded_receiver = receiver<T>;

namespace detail {

/// What both sender types share: a counted reference to the channel. A
/// copy is another sender (tokio's clone()); a moved-from one is empty.
template <class T>
class sender_base {
 protected:
  explicit sender_base(chan<T>* c) noexcept : chan_(c) {}
  sender_base(const sender_base& o) noexcept : chan_(o.chan_) {
    if (chan_ != nullptr) chan_->add_sender();
  }
  sender_base(sender_base&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  sender_base& operator=(sender_base o) noexcept {
    std::swap(chan_, o.chan_);
    return *this;
  }
  ~sender_base() {
    if (chan_ != nullptr) chan_->drop_sender();
  }

  /// The channel; throws std::logic_error naming `op` if moved from.
  chan<T>* checked(const char* op) const {
    if (chan_ == nullptr) throw_empty_handle(op);
    return chan_;
  }

  chan<T>* chan_;
};

}  // namespace detail

/// The sending half of a bounded channel. Copy it to get another sender
/// (tokio's clone()); the channel stays open while any sender lives.
///
/// Thread safety: each sender is used by one task or thread at a time;
/// copies may be used concurrently from any threads.
template <class T>
class sender : private detail::sender_base<T> {
  using detail::sender_base<T>::checked;

 public:
  /// Sends `value`, waiting for a free slot; senders waiting for room are
  /// served in order. The awaited result holds the value back in a
  /// send_error if the receiver is gone. Must be awaited in a runtime task;
  /// the awaiter is awaited once, and this sender must outlive it. Cancel
  /// safety: see send_awaiter.
  send_awaiter<T> send(T value) {
    return send_awaiter<T>(checked("kyoto::sync::mpsc::sender::send"), std::move(value));
  }

  /// Sends `value` if a slot is free right now; otherwise hands it back in
  /// a try_send_error (full or closed). Never waits.
  result<void, try_send_error<T>> try_send(T value) {
    using status = typename detail::chan<T>::send_status;
    const status s = checked("kyoto::sync::mpsc::sender::try_send")->try_send(value);
    if (s == status::sent) return {};
    const auto why =
        s == status::full ? try_send_error<T>::reason::full : try_send_error<T>::reason::closed;
    return unexpected(try_send_error<T>{why, std::move(value)});
  }

  /// send() for a plain thread: blocks it until there is room. Throws
  /// std::logic_error on a runtime thread.
  result<void, send_error<T>> blocking_send(T value) {
    kyoto::detail::check_blocking_allowed("kyoto::sync::mpsc::sender::blocking_send");
    if (checked("kyoto::sync::mpsc::sender::blocking_send")->blocking_send(value) ==
        detail::chan<T>::send_status::sent) {
      return {};
    }
    return unexpected(send_error<T>{std::move(value)});
  }

  /// Whether the receiver is gone (or closed).
  bool is_closed() const { return checked("kyoto::sync::mpsc::sender::is_closed")->is_closed(); }

  /// Whether both senders send to the same channel.
  bool same_channel(const sender& other) const noexcept { return this->chan_ == other.chan_; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);

  explicit sender(detail::chan<T>* c) noexcept : detail::sender_base<T>(c) {}
};

/// The sending half of an unbounded channel: send() never waits. Copy it
/// to get another sender.
///
/// Thread safety: as sender.
template <class T>
class unbounded_sender : private detail::sender_base<T> {
  using detail::sender_base<T>::checked;

 public:
  /// Sends `value` at once (the buffer grows as needed); hands it back in a
  /// send_error if the receiver is gone. Any thread, no await.
  result<void, send_error<T>> send(T value) {
    if (checked("kyoto::sync::mpsc::unbounded_sender::send")->try_send(value) ==
        detail::chan<T>::send_status::sent) {
      return {};
    }
    return unexpected(send_error<T>{std::move(value)});
  }

  /// Whether the receiver is gone (or closed).
  bool is_closed() const {
    return checked("kyoto::sync::mpsc::unbounded_sender::is_closed")->is_closed();
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const unbounded_sender& other) const noexcept {
    return this->chan_ == other.chan_;
  }

 private:
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded_channel();

  explicit unbounded_sender(detail::chan<T>* c) noexcept : detail::sender_base<T>(c) {}
};

namespace detail {
[[noreturn]] void throw_bad_capacity(std::size_t capacity);
}  // namespace detail

/// The largest capacity channel() accepts.
inline constexpr std::size_t max_capacity = std::numeric_limits<std::size_t>::max() >> 3;

/// A channel holding at most `capacity` values (tokio's mpsc::channel).
/// Throws std::invalid_argument if capacity is 0 or above max_capacity.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0 || capacity > max_capacity) detail::throw_bad_capacity(capacity);
  auto* c = new detail::chan<T>(capacity);
  return {sender<T>(c), receiver<T>(c)};
}

/// A channel without a capacity limit (tokio's mpsc::unbounded_channel).
template <class T>
std::pair<unbounded_sender<T>, unbounded_receiver<T>> unbounded_channel() {
  auto* c = new detail::chan<T>(detail::chan<T>::unbounded);
  return {unbounded_sender<T>(c), receiver<T>(c)};
}

}  // namespace kyoto::sync::mpsc
