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
// std::nullopt only once every sender is gone (or the receiver closed), no
// permit is outstanding, and the buffer is drained. A send that fails hands
// its value back inside the error, never losing it.
//
// Beyond send/recv, as tokio 1.24 (plus reserve_many and recv_many, from
// later tokio): permits (reserve() and try_reserve() take a slot first, the
// permit's send() then cannot fail; reserve_many(n) takes n; the owned forms
// hold a sender), closed() (wait for the receiver to close), send_timeout(),
// capacity(), weak senders (downgrade()/upgrade(): they do not keep the
// channel open), and recv_many() (take a batch).
//
// Every awaiter is cancel safe in the sense documented on it: destroying a
// suspended one unlinks it from the channel and passes on any slot it had
// been granted. send_timeout_awaiter waits on two things at once (the
// channel and a timer), each with its own wake_node resuming the same
// coroutine: whichever resumes it first withdraws the other (under the
// channel lock, or by cancelling the timer under the driver's lock) and
// purges the other's node from the task if that one fired too, so the
// coroutine is resumed once. The protocol is in detail/chan.hpp.
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::sync::mpsc {

template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
class weak_sender;
template <class T>
class weak_unbounded_sender;
template <class T>
class receiver;
template <class T>
class permit;
template <class T>
class permit_iterator;
template <class T>
class owned_permit;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel();

// ---- errors ----

/// The error of send() and blocking_send(): the receiver is gone. Holds the
/// value that was not sent (tokio's SendError<T>). send_error<> (no value)
/// is the error of reserve(), reserve_many() and reserve_owned() (tokio's
/// SendError<()>).
template <class T = void>
struct send_error {
  /// The value that was not sent.
  T value;
  /// tokio's Display: "channel closed".
  const char* what() const noexcept { return "channel closed"; }
};

/// The error of reserve(), reserve_many() and reserve_owned(): the
/// receiver closed or is gone (tokio's SendError<()>).
template <>
struct send_error<void> {
  /// tokio's Display: "channel closed".
  const char* what() const noexcept { return "channel closed"; }
  friend bool operator==(const send_error&, const send_error&) = default;
};

/// The error of try_send(): full or closed, with the value that was not
/// sent (tokio's TrySendError<T>). try_send_error<> (no value) is the error
/// of try_reserve() and try_reserve_many(); try_reserve_owned() gives its
/// sender back in a try_send_error<sender<T>>.
template <class T = void>
struct try_send_error {
  /// Why nothing was sent.
  enum class reason : unsigned char { full, closed };

  /// Full or closed.
  reason why;
  /// The value that was not sent.
  T value;

  /// The channel had no free slot.
  bool is_full() const noexcept { return why == reason::full; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// The value that was not sent (tokio's into_inner()).
  T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value); }
  /// tokio's Display: "no available capacity" or "channel closed".
  const char* what() const noexcept {
    return why == reason::full ? "no available capacity" : "channel closed";
  }
};

/// The error of try_reserve() and try_reserve_many() (tokio's
/// TrySendError<()>).
template <>
struct try_send_error<void> {
  /// Why nothing was reserved.
  enum class reason : unsigned char { full, closed };

  /// Full or closed.
  reason why;

  /// The channel had too few free slots.
  bool is_full() const noexcept { return why == reason::full; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// tokio's Display: "no available capacity" or "channel closed".
  const char* what() const noexcept {
    return why == reason::full ? "no available capacity" : "channel closed";
  }
  friend bool operator==(const try_send_error&, const try_send_error&) = default;
};

/// The error of send_timeout(): the time ran out while the channel stayed
/// full, or the receiver is gone; holds the value that was not sent
/// (tokio's SendTimeoutError).
template <class T>
struct send_timeout_error {
  /// Why nothing was sent.
  enum class reason : unsigned char { timeout, closed };

  /// Timed out or closed.
  reason why;
  /// The value that was not sent.
  T value;

  /// The timeout elapsed before a slot freed.
  bool is_timeout() const noexcept { return why == reason::timeout; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// The value that was not sent (tokio's into_inner()).
  T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value); }
  /// tokio's Display: "timed out waiting on send operation" or "channel
  /// closed".
  const char* what() const noexcept {
    return why == reason::timeout ? "timed out waiting on send operation" : "channel closed";
  }
};

/// The error of try_recv() (tokio's TryRecvError).
class try_recv_error {
 public:
  /// Why nothing was received.
  enum class kind : unsigned char { empty, disconnected };

  /// An error of kind `k`.
  explicit try_recv_error(kind k) noexcept : kind_(k) {}
  /// Nothing buffered, but senders remain.
  bool is_empty() const noexcept { return kind_ == kind::empty; }
  /// Nothing buffered and no sender left (or the receiver closed).
  bool is_disconnected() const noexcept { return kind_ == kind::disconnected; }
  /// tokio's Display: "receiving on an empty channel" or "receiving on a
  /// closed channel".
  const char* what() const noexcept {
    return kind_ == kind::empty ? "receiving on an empty channel" : "receiving on a closed channel";
  }
  friend bool operator==(const try_recv_error&, const try_recv_error&) = default;

 private:
  kind kind_;
};

namespace detail {
using kyoto::detail::chan;
using kyoto::detail::throw_awaited_twice;
using kyoto::detail::throw_empty_handle;
/// std::logic_error: a permit used after its send (or moved from).
[[noreturn]] void throw_used_permit(const char* operation);
}  // namespace detail

// ---- sending ----

/// Awaiter of sender::send(); gives result<void, send_error<T>>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancelling a
/// pending send sends nothing (the value is destroyed with the awaiter)
/// and passes on a slot it may have been granted, so no other sender is
/// held up. Use reserve() to keep the value: a cancelled reserve loses
/// nothing.
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
    if (suspended_ && chan_->cancel_sender(&waiter_, 1)) waiter_.node.task->purge(&waiter_.node);
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
      chan_->enqueue_sender_locked(&waiter_, 1);
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

/// Awaiter of sender::send_timeout(); gives result<void,
/// send_timeout_error<T>>.
///
/// A send that waits for a slot at most until a deadline (tokio's
/// send_timeout: the value is sent if a slot frees in time; a slot that
/// frees as the deadline passes still wins). Resumed on the awaiting task's
/// thread. Cancel safety: as send_awaiter (the value is destroyed, a
/// granted slot passes on, the timer is unregistered).
template <class T>
class [[nodiscard]] send_timeout_awaiter {
  using status = typename detail::chan<T>::send_status;

 public:
  send_timeout_awaiter(detail::chan<T>* c, T value, kyoto::time::instant deadline)
      : chan_(c), value_(std::move(value)), deadline_(deadline) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  send_timeout_awaiter(send_timeout_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : chan_(o.chan_),
        value_(std::move(o.value_)),
        deadline_(o.deadline_),
        status_(o.status_),
        timed_out_(o.timed_out_),
        done_(std::exchange(o.done_, true)) {
    assert(o.state_ == state::idle && "a send_timeout_awaiter moved while awaited");
  }
  send_timeout_awaiter(const send_timeout_awaiter&) = delete;
  send_timeout_awaiter& operator=(const send_timeout_awaiter&) = delete;
  ~send_timeout_awaiter() {
    if (state_ == state::yielding) {
      // Granted by the budget: pass the slot on.
      if (chan_->cancel_sender(&waiter_, 1)) waiter_.node.task->purge(&waiter_.node);
    } else if (state_ == state::waiting) {
      // Each source either is withdrawn here or has finished its wake (the
      // channel's under its lock, the timer's under the driver's).
      const bool channel_woke = chan_->cancel_sender(&waiter_, 1);
      const bool timer_fired = !kyoto::time::detail::cancel_timer(&entry_);
      if (channel_woke) waiter_.node.task->purge(&waiter_.node);
      if (timer_fired) timer_node_.task->purge(&timer_node_);
    }
  }

  bool await_ready() {
    if (done_) detail::throw_awaited_twice("kyoto::sync::mpsc::sender::send_timeout");
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_send_locked(value_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  bool await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(chan_->lock());
    waiter_.node.prepare(h);
    if (status_ == status::granted) {
      kyoto::detail::coop_yield(waiter_.node);  // out of budget, a slot is ours
      state_ = state::yielding;
      return true;
    }
    timer_node_.prepare(h);
    entry_.waiter = &timer_node_;
    // Lock order: the channel's, then the driver's (nothing takes a
    // channel lock under the driver's).
    if (!kyoto::time::detail::register_timer(&entry_, deadline_)) {
      timed_out_ = true;  // the deadline has passed: time out at once
      return false;
    }
    chan_->enqueue_sender_locked(&waiter_, 1);
    state_ = state::waiting;
    return true;
  }

  result<void, send_timeout_error<T>> await_resume() {
    done_ = true;
    if (state_ == state::waiting) {
      // Resumed by the channel's wake or the timer's: settle both sources
      // (after these two calls neither can wake us any more).
      const bool timer_fired = !kyoto::time::detail::cancel_timer(&entry_);
      const bool channel_woke = chan_->withdraw_sender(&waiter_);
      if (timer_fired && channel_woke) {
        // Both fired; one node resumed us, the other is still queued on
        // our task: purge both (purging the one that ran is a no-op).
        waiter_.node.task->purge(&waiter_.node);
        timer_node_.task->purge(&timer_node_);
      }
      if (!channel_woke) {
        timed_out_ = true;
      } else {
        // Written under the lock before the wake; withdraw_sender's lock
        // orders it.
        status_ = waiter_.st == kyoto::detail::send_waiter::state::granted
                      ? chan_->send_granted(value_)
                      : status::closed;
      }
    } else if (state_ == state::yielding) {
      status_ = chan_->send_granted(value_);
    }
    state_ = state::done;
    if (timed_out_) {
      return unexpected(
          send_timeout_error<T>{send_timeout_error<T>::reason::timeout, std::move(value_)});
    }
    if (status_ == status::sent) return {};
    return unexpected(
        send_timeout_error<T>{send_timeout_error<T>::reason::closed, std::move(value_)});
  }

 private:
  enum class state : unsigned char { idle, waiting, yielding, done };

  detail::chan<T>* chan_;
  T value_;
  kyoto::time::instant deadline_;
  kyoto::detail::send_waiter waiter_;  ///< the channel's node
  kyoto::detail::wake_node timer_node_;
  kyoto::detail::timer_entry entry_;
  status status_ = status::full;
  state state_ = state::idle;
  bool timed_out_ = false;
  bool done_ = false;  ///< awaited once already
};

// ---- permits ----

/// One reserved slot of a bounded channel (tokio's Permit): send() puts a
/// value in it without waiting and cannot fail. Dropping an unused permit
/// gives the slot back (to the first waiting sender, if any).
///
/// Made by sender::reserve()/try_reserve() and permit_iterator::next(); it
/// borrows the channel, as tokio's Permit<'_> borrows its Sender: a sender
/// of the channel must outlive it (use owned_permit otherwise). A permit
/// taken before the receiver closed still delivers after close(), and
/// recv() waits for it. Move-only.
///
/// Thread safety: one permit is used by one thread at a time; any thread.
template <class T>
class [[nodiscard]] permit {
 public:
  permit(permit&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  permit& operator=(permit&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;
  ~permit() { reset(); }

  /// Sends `value` into the reserved slot and wakes the receiver; the
  /// permit is used up (a second send throws std::logic_error). Never
  /// waits, never fails: if the receiver is gone meanwhile the value is
  /// destroyed, as in tokio. If moving the value in throws, nothing is sent
  /// and the permit still holds its slot.
  void send(T value) {
    if (chan_ == nullptr) detail::throw_used_permit("kyoto::sync::mpsc::permit::send");
    chan_->send_permit(value);  // a value the receiver will never see dies below
    chan_ = nullptr;
  }

 private:
  friend class permit_iterator<T>;
  template <class>
  friend class reserve_awaiter;
  friend class sender<T>;

  explicit permit(detail::chan<T>* c) noexcept : chan_(c) {}
  void reset() noexcept {
    if (chan_ != nullptr) std::exchange(chan_, nullptr)->release_permits(1);
  }

  detail::chan<T>* chan_;  ///< null once used or moved from
};

/// `n` reserved slots of a bounded channel, handed out one permit at a
/// time (tokio's PermitIterator, from reserve_many()/try_reserve_many()).
/// Dropping it gives the slots not handed out back. It borrows the channel
/// as permit does. Move-only.
///
/// Thread safety: used by one thread at a time; the permits it hands out
/// are independent.
template <class T>
class [[nodiscard]] permit_iterator {
 public:
  permit_iterator(permit_iterator&& o) noexcept
      : chan_(std::exchange(o.chan_, nullptr)), remaining_(std::exchange(o.remaining_, 0)) {}
  permit_iterator& operator=(permit_iterator&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
      remaining_ = std::exchange(o.remaining_, 0);
    }
    return *this;
  }
  permit_iterator(const permit_iterator&) = delete;
  permit_iterator& operator=(const permit_iterator&) = delete;
  ~permit_iterator() { reset(); }

  /// The next permit, or std::nullopt once all were handed out.
  std::optional<permit<T>> next() noexcept {
    if (remaining_ == 0) return std::nullopt;
    --remaining_;
    return permit<T>(chan_);
  }

  /// Permits not handed out yet (tokio's len()).
  std::size_t size() const noexcept { return remaining_; }
  /// Whether every permit was handed out.
  bool empty() const noexcept { return remaining_ == 0; }

 private:
  template <class>
  friend class reserve_many_awaiter;
  friend class sender<T>;

  permit_iterator(detail::chan<T>* c, std::size_t n) noexcept : chan_(c), remaining_(n) {}
  void reset() noexcept {
    if (chan_ != nullptr)
      std::exchange(chan_, nullptr)->release_permits(std::exchange(remaining_, 0));
  }

  detail::chan<T>* chan_;
  std::size_t remaining_;
};

/// A reserved slot that owns a sender of its channel (tokio's OwnedPermit,
/// from reserve_owned()/try_reserve_owned()): it keeps the channel open
/// and may outlive every other handle. send() gives the sender back;
/// dropping it unused gives the slot back, then drops the sender.
/// Move-only.
///
/// Thread safety: as permit.
template <class T>
class [[nodiscard]] owned_permit {
 public:
  owned_permit(owned_permit&& o) noexcept = default;
  owned_permit& operator=(owned_permit&& o) noexcept {
    if (this != &o) {
      reset();
      tx_ = std::move(o.tx_);
    }
    return *this;
  }
  owned_permit(const owned_permit&) = delete;
  owned_permit& operator=(const owned_permit&) = delete;
  ~owned_permit() { reset(); }

  /// Sends `value` into the reserved slot (as permit::send) and returns the
  /// sender. Throws std::logic_error once used (sent or released).
  sender<T> send(T value) {
    detail::chan<T>* c = tx_.chan_;
    if (c == nullptr) detail::throw_used_permit("kyoto::sync::mpsc::owned_permit::send");
    c->send_permit(value);
    return std::move(tx_);
  }

  /// Gives the slot back without sending and returns the sender (tokio's
  /// release()). Throws std::logic_error once used.
  sender<T> release() {
    detail::chan<T>* c = tx_.chan_;
    if (c == nullptr) detail::throw_used_permit("kyoto::sync::mpsc::owned_permit::release");
    c->release_permits(1);
    return std::move(tx_);
  }

 private:
  template <class>
  friend class reserve_owned_awaiter;
  friend class sender<T>;

  explicit owned_permit(sender<T> tx) noexcept : tx_(std::move(tx)) {}
  void reset() noexcept {
    if (tx_.chan_ != nullptr) {
      tx_.chan_->release_permits(1);
      sender<T> dropped = std::move(tx_);
    }
  }

  sender<T> tx_;  ///< empty once used or moved from
};

namespace detail {

/// What the reserve awaiters share: waiting for `n` slots. The slots, once
/// acquired, belong to whoever called resume().
template <class T>
class reserve_waiter {
  using status = typename chan<T>::send_status;

 public:
  reserve_waiter(chan<T>* c, std::size_t n) noexcept : chan_(c), n_(n) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  reserve_waiter(reserve_waiter&& o) noexcept
      : chan_(o.chan_), n_(o.n_), status_(o.status_), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a reserve awaiter moved while awaited");
  }
  reserve_waiter(const reserve_waiter&) = delete;
  reserve_waiter& operator=(const reserve_waiter&) = delete;
  ~reserve_waiter() {
    // Unqueues it (handing on a partial assignment), or hands on the slots
    // it was granted and never took.
    if (suspended_ && chan_->cancel_sender(&waiter_, n_)) waiter_.node.task->purge(&waiter_.node);
  }

  bool ready(const char* operation) {
    if (done_) throw_awaited_twice(operation);
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_reserve_locked(n_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for suspend()
    return false;
  }

  void suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(chan_->lock());
    waiter_.node.prepare(h);
    if (status_ == status::granted) {
      kyoto::detail::coop_yield(waiter_.node);  // out of budget: the slots are ours
    } else {
      chan_->enqueue_sender_locked(&waiter_, n_);
    }
    suspended_ = true;
  }

  /// Whether the slots were acquired (the caller owns them from now on).
  bool resume() noexcept {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      // Written under the lock before our wake; the wake orders it.
      return waiter_.st == kyoto::detail::send_waiter::state::granted;
    }
    return status_ == status::sent;
  }

  chan<T>* channel() const noexcept { return chan_; }
  std::size_t count() const noexcept { return n_; }

 private:
  chan<T>* chan_;
  std::size_t n_;
  kyoto::detail::send_waiter waiter_;
  status status_ = status::full;
  bool suspended_ = false;
  bool done_ = false;  ///< awaited once already
};

}  // namespace detail

/// Awaiter of sender::reserve(); gives result<permit<T>, send_error<>>.
///
/// Waits for a slot (served in order with the waiting sends). Resumed on
/// the awaiting task's thread. Cancel safety: cancel safe — a cancelled
/// reserve holds no slot (one it was granted passes on) and, unlike send(),
/// has no value to lose.
template <class T>
class [[nodiscard]] reserve_awaiter {
 public:
  explicit reserve_awaiter(detail::chan<T>* c) noexcept : w_(c, 1) {}
  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve"); }
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  result<permit<T>, send_error<>> await_resume() {
    if (w_.resume()) return permit<T>(w_.channel());
    return unexpected(send_error<>{});
  }

 private:
  detail::reserve_waiter<T> w_;
};

/// Awaiter of sender::reserve_many(n); gives result<permit_iterator<T>,
/// send_error<>>.
///
/// Waits until `n` slots are the caller's, FIFO with the other waiting
/// senders: slots that free while it is first in line are set aside for it
/// and the senders behind it wait (tokio's batch semaphore). Resumed on the
/// awaiting task's thread. Cancel safety: cancel safe — the slots it had
/// been assigned pass on.
template <class T>
class [[nodiscard]] reserve_many_awaiter {
 public:
  reserve_many_awaiter(detail::chan<T>* c, std::size_t n) noexcept : w_(c, n) {}
  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve_many"); }
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  result<permit_iterator<T>, send_error<>> await_resume() {
    if (w_.resume()) return permit_iterator<T>(w_.channel(), w_.count());
    return unexpected(send_error<>{});
  }

 private:
  detail::reserve_waiter<T> w_;
};

/// Awaiter of sender::reserve_owned(); gives result<owned_permit<T>,
/// send_error<>>. Owns the sender it reserves with (a copy or the moved
/// sender); on an error the sender is dropped, as in tokio. Cancel safety:
/// as reserve_awaiter; the sender is dropped with it.
template <class T>
class [[nodiscard]] reserve_owned_awaiter {
 public:
  explicit reserve_owned_awaiter(sender<T> tx) noexcept : tx_(std::move(tx)), w_(tx_.chan_, 1) {}
  reserve_owned_awaiter(reserve_owned_awaiter&& o) noexcept
      : tx_(std::move(o.tx_)), w_(std::move(o.w_)) {}
  reserve_owned_awaiter(const reserve_owned_awaiter&) = delete;
  reserve_owned_awaiter& operator=(const reserve_owned_awaiter&) = delete;

  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve_owned"); }
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  result<owned_permit<T>, send_error<>> await_resume() {
    if (w_.resume()) return owned_permit<T>(std::move(tx_));
    return unexpected(send_error<>{});
  }

 private:
  sender<T> tx_;  ///< declared first: outlives w_, whose destructor uses the channel
  detail::reserve_waiter<T> w_;
};

/// Awaiter of sender::closed() and unbounded_sender::closed(): completes
/// once the receiver closed or is gone (tokio's Sender::closed).
///
/// Resumed on the awaiting task's thread (woken by the thread that closes
/// or drops the receiver). Cancel safety: cancel safe — once closed, the
/// channel stays closed and every later closed() completes at once.
template <class T>
class [[nodiscard]] closed_awaiter {
 public:
  explicit closed_awaiter(detail::chan<T>* c) noexcept : chan_(c) {}
  /// Movable until awaited (so it can be passed to join()).
  closed_awaiter(closed_awaiter&& o) noexcept : chan_(o.chan_), yield_(o.yield_) {
    assert(o.state_ == state::idle && "a closed_awaiter moved while awaited");
  }
  closed_awaiter(const closed_awaiter&) = delete;
  closed_awaiter& operator=(const closed_awaiter&) = delete;
  ~closed_awaiter() {
    if (state_ == state::waiting) {
      if (chan_->cancel_closed(&waiter_)) waiter_.node.task->purge(&waiter_.node);
    } else if (state_ == state::yielding) {
      waiter_.node.task->purge(&waiter_.node);  // cancelled while yielding (budget)
    }
  }

  bool await_ready() {
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    if (chan_->is_closed_locked()) {
      if (kyoto::detail::coop_proceed()) return true;
      yield_ = true;  // out of budget: yield first, then complete
    }
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    kyoto::detail::unlock_guard unlock(chan_->lock());
    waiter_.node.prepare(h);
    if (yield_) {
      kyoto::detail::coop_yield(waiter_.node);
      state_ = state::yielding;
    } else {
      chan_->wait_closed_locked(&waiter_);
      state_ = state::waiting;
    }
  }

  void await_resume() noexcept { state_ = state::done; }

 private:
  enum class state : unsigned char { idle, waiting, yielding, done };

  detail::chan<T>* chan_;
  kyoto::detail::closed_waiter waiter_;
  state state_ = state::idle;
  bool yield_ = false;  ///< the budget made us yield
};

// ---- receiving ----

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

/// Awaiter of receiver::recv_many(); gives the number of values appended
/// (std::size_t).
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled recv_many has appended nothing, and values that arrived
/// meanwhile stay in the channel.
template <class T>
class [[nodiscard]] recv_many_awaiter {
  using status = typename detail::chan<T>::recv_status;

 public:
  recv_many_awaiter(detail::chan<T>* c, std::vector<T>* buffer, std::size_t limit) noexcept
      : chan_(c), buffer_(buffer), limit_(limit) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  recv_many_awaiter(recv_many_awaiter&& o) noexcept
      : chan_(o.chan_), buffer_(o.buffer_), limit_(o.limit_), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a recv_many_awaiter moved while awaited");
  }
  recv_many_awaiter(const recv_many_awaiter&) = delete;
  recv_many_awaiter& operator=(const recv_many_awaiter&) = delete;
  ~recv_many_awaiter() {
    if (suspended_ && chan_->cancel_receiver(&node_)) node_.task->purge(&node_);
  }

  bool await_ready() {
    if (done_) detail::throw_awaited_twice("kyoto::sync::mpsc::receiver::recv_many");
    if (limit_ == 0) return true;  // tokio: 0 at once, the channel untouched
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    const status s = chan_->peek_recv_locked();
    if (s != status::empty) {
      if (kyoto::detail::coop_proceed()) {
        count_ = chan_->take_many_locked(*buffer_, limit_);
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

  std::size_t await_resume() {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      // Woken for values or for the end (then 0).
      count_ = chan_->finish_recv_many(*buffer_, limit_);
    }
    return count_;
  }

 private:
  detail::chan<T>* chan_;
  std::vector<T>* buffer_;
  std::size_t limit_;
  kyoto::detail::wake_node node_;
  std::size_t count_ = 0;
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
  /// sender is gone (or close() was called), no permit is outstanding, and
  /// the buffer is drained. Must be awaited in a runtime task; one receive
  /// at a time (another receive while a recv() is in progress throws
  /// std::logic_error); the awaiter is awaited once, and this receiver must
  /// outlive it. Cancel safe.
  recv_awaiter<T> recv() { return recv_awaiter<T>(checked("kyoto::sync::mpsc::receiver::recv")); }

  /// Receives up to `limit` values at once, waiting for at least one, and
  /// appends them to `buffer` in order (tokio's recv_many); gives how many.
  /// 0 only when `limit` is 0 (at once) or the channel has ended (as
  /// recv()'s std::nullopt). If moving a value throws, the values moved
  /// before it are in `buffer` and the rest stay in the channel. The same
  /// rules as recv(); `buffer` must outlive the awaiter. Cancel safe.
  recv_many_awaiter<T> recv_many(std::vector<T>& buffer, std::size_t limit) {
    return recv_many_awaiter<T>(checked("kyoto::sync::mpsc::receiver::recv_many"), &buffer, limit);
  }

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

  /// Closes the channel: sends and reserves fail from now on (waiting
  /// senders get their value back), closed() completes; values already
  /// buffered can still be received, and permits already taken still
  /// deliver.
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

/// A counted reference to a channel: `Add` counts one more, `Drop` one
/// less. A copy is another reference; a moved-from one is empty.
template <class T, void (chan<T>::*Add)() noexcept, void (chan<T>::*Drop)() noexcept>
class chan_ref {
 protected:
  /// Adopts a reference the caller counted.
  explicit chan_ref(chan<T>* c) noexcept : chan_(c) {}
  chan_ref(const chan_ref& o) noexcept : chan_(o.chan_) {
    if (chan_ != nullptr) (chan_->*Add)();
  }
  chan_ref(chan_ref&& o) noexcept : chan_(std::exchange(o.chan_, nullptr)) {}
  chan_ref& operator=(const chan_ref& o) noexcept {
    chan<T>* const c = o.chan_;  // `o` may be this one
    if (c != nullptr) (c->*Add)();
    reset();
    chan_ = c;
    return *this;
  }
  chan_ref& operator=(chan_ref&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
    }
    return *this;
  }
  ~chan_ref() { reset(); }

  void reset() noexcept {
    if (chan_ != nullptr) (std::exchange(chan_, nullptr)->*Drop)();
  }

  chan<T>* chan_;
};

/// What both sender types share: a strong reference (it keeps the channel
/// open; tokio's clone()).
template <class T>
class sender_base : protected chan_ref<T, &chan<T>::add_sender, &chan<T>::drop_sender> {
  using base = chan_ref<T, &chan<T>::add_sender, &chan<T>::drop_sender>;

 protected:
  using base::base;
  using base::chan_;
  using base::reset;

  /// The channel; throws std::logic_error naming `op` if moved from.
  chan<T>* checked(const char* op) const {
    if (chan_ == nullptr) throw_empty_handle(op);
    return chan_;
  }
};

/// What both weak sender types share: a reference that keeps the channel's
/// memory, not the channel open.
template <class T>
class weak_base : protected chan_ref<T, &chan<T>::add_weak, &chan<T>::drop_weak> {
  using base = chan_ref<T, &chan<T>::add_weak, &chan<T>::drop_weak>;

 protected:
  using base::base;
  using base::chan_;

  /// The channel if a strong sender could be added to it (one counted for
  /// the caller), else null; throws std::logic_error naming `op` if moved
  /// from.
  chan<T>* upgraded(const char* op) const {
    if (chan_ == nullptr) throw_empty_handle(op);
    return chan_->try_add_sender() ? chan_ : nullptr;
  }
};

}  // namespace detail

/// The sending half of a bounded channel. Copy it to get another sender
/// (tokio's clone()); the channel stays open while any sender lives (weak
/// senders do not count).
///
/// Thread safety: each sender is used by one task or thread at a time;
/// copies may be used concurrently from any threads. The awaiters it
/// returns must be awaited in a runtime task, and the sender must outlive
/// them (and the permits of reserve()/reserve_many()).
template <class T>
class sender : private detail::sender_base<T> {
  using detail::sender_base<T>::checked;

 public:
  /// Sends `value`, waiting for a free slot; senders waiting for room are
  /// served in order. The awaited result holds the value back in a
  /// send_error if the receiver is gone. The awaiter is awaited once.
  /// Cancel safety: see send_awaiter (the value is lost; reserve() is the
  /// cancel-safe way).
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

  /// send() that gives up after `timeout` (tokio's send_timeout): the
  /// awaited result holds the value back in a send_timeout_error, timeout
  /// or closed. The deadline is taken now, with the timers' 1 ms
  /// resolution. Cancel safety: as send().
  template <class Rep, class Period>
  send_timeout_awaiter<T> send_timeout(T value, std::chrono::duration<Rep, Period> timeout) {
    return send_timeout_awaiter<T>(checked("kyoto::sync::mpsc::sender::send_timeout"),
                                   std::move(value), kyoto::time::sleep(timeout).deadline());
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

  /// Waits for a free slot and takes it (tokio's reserve): the permit's
  /// send() then cannot fail. send_error<> if the receiver closed or is
  /// gone. FIFO with the waiting sends. Cancel safe.
  reserve_awaiter<T> reserve() {
    return reserve_awaiter<T>(checked("kyoto::sync::mpsc::sender::reserve"));
  }

  /// Takes a free slot if there is one right now (tokio's try_reserve):
  /// try_send_error<> full or closed otherwise. Never waits.
  result<permit<T>, try_send_error<>> try_reserve() {
    detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::try_reserve");
    if (const auto e = try_reserve_on(c, 1)) return unexpected(*e);
    return permit<T>(c);
  }

  /// Waits until `n` slots are free and takes them all (later tokio's
  /// reserve_many), as permits handed out by the permit_iterator. n == 0
  /// gives an empty one at once. send_error<> if the receiver closed or
  /// is gone, or if `n` exceeds max_capacity() (as tokio: it could never
  /// succeed). Cancel safe.
  reserve_many_awaiter<T> reserve_many(std::size_t n) {
    return reserve_many_awaiter<T>(checked("kyoto::sync::mpsc::sender::reserve_many"), n);
  }

  /// Takes `n` slots if that many are free right now (later tokio's
  /// try_reserve_many); try_send_error<> full (also when `n` exceeds
  /// max_capacity()) or closed otherwise. Never waits.
  result<permit_iterator<T>, try_send_error<>> try_reserve_many(std::size_t n) {
    detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::try_reserve_many");
    if (const auto e = try_reserve_on(c, n)) return unexpected(*e);
    return permit_iterator<T>(c, n);
  }

  /// reserve() whose permit owns a copy of this sender (tokio's
  /// reserve_owned on a clone): the permit may outlive every other handle.
  reserve_owned_awaiter<T> reserve_owned() const& {
    checked("kyoto::sync::mpsc::sender::reserve_owned");
    return reserve_owned_awaiter<T>(*this);
  }

  /// reserve() whose permit owns this sender, moved in (tokio's
  /// reserve_owned(self)): `co_await std::move(tx).reserve_owned()`.
  reserve_owned_awaiter<T> reserve_owned() && {
    checked("kyoto::sync::mpsc::sender::reserve_owned");
    return reserve_owned_awaiter<T>(std::move(*this));
  }

  /// try_reserve() whose permit owns a copy of this sender; the error
  /// holds that copy (tokio's try_reserve_owned on a clone).
  result<owned_permit<T>, try_send_error<sender<T>>> try_reserve_owned() const& {
    checked("kyoto::sync::mpsc::sender::try_reserve_owned");
    return sender(*this).try_reserve_owned_impl();
  }

  /// try_reserve() whose permit owns this sender, moved in; the error
  /// gives it back (tokio's try_reserve_owned(self)).
  result<owned_permit<T>, try_send_error<sender<T>>> try_reserve_owned() && {
    checked("kyoto::sync::mpsc::sender::try_reserve_owned");
    return std::move(*this).try_reserve_owned_impl();
  }

  /// Completes once the receiver closed or is gone (tokio's closed), so a
  /// producer can stop early. Cancel safe.
  closed_awaiter<T> closed() {
    return closed_awaiter<T>(checked("kyoto::sync::mpsc::sender::closed"));
  }

  /// Whether the receiver is gone (or closed).
  bool is_closed() const { return checked("kyoto::sync::mpsc::sender::is_closed")->is_closed(); }

  /// Free slots now (tokio's capacity): max_capacity() less the buffered
  /// values, the outstanding permits and the slots set aside for a waiting
  /// reserve_many(). A snapshot; any thread.
  std::size_t capacity() const {
    return checked("kyoto::sync::mpsc::sender::capacity")->capacity();
  }

  /// The capacity the channel was made with (tokio's max_capacity).
  std::size_t max_capacity() const {
    return checked("kyoto::sync::mpsc::sender::max_capacity")->max_capacity();
  }

  /// A weak sender of this channel (tokio's downgrade): it does not keep
  /// the channel open, and upgrade() gives a sender while one still lives.
  weak_sender<T> downgrade() const {
    detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::downgrade");
    c->add_weak();
    return weak_sender<T>(c);
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const sender& other) const noexcept { return this->chan_ == other.chan_; }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  friend class weak_sender<T>;
  friend class owned_permit<T>;
  template <class>
  friend class reserve_owned_awaiter;

  explicit sender(detail::chan<T>* c) noexcept : detail::sender_base<T>(c) {}

  static std::optional<try_send_error<>> try_reserve_on(detail::chan<T>* c, std::size_t n) {
    using status = typename detail::chan<T>::send_status;
    switch (c->try_reserve(n)) {
      case status::sent:
        return std::nullopt;
      case status::full:
        return try_send_error<>{try_send_error<>::reason::full};
      default:
        break;
    }
    return try_send_error<>{try_send_error<>::reason::closed};
  }

  result<owned_permit<T>, try_send_error<sender<T>>> try_reserve_owned_impl() && {
    if (const auto e = try_reserve_on(this->chan_, 1)) {
      const auto why = e->is_full() ? try_send_error<sender<T>>::reason::full
                                    : try_send_error<sender<T>>::reason::closed;
      return unexpected(try_send_error<sender<T>>{why, std::move(*this)});
    }
    return owned_permit<T>(std::move(*this));
  }
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

  /// Completes once the receiver closed or is gone (tokio's closed). Must
  /// be awaited in a runtime task; this sender must outlive the awaiter.
  /// Cancel safe.
  closed_awaiter<T> closed() {
    return closed_awaiter<T>(checked("kyoto::sync::mpsc::unbounded_sender::closed"));
  }

  /// Whether the receiver is gone (or closed).
  bool is_closed() const {
    return checked("kyoto::sync::mpsc::unbounded_sender::is_closed")->is_closed();
  }

  /// A weak sender of this channel (tokio's downgrade): it does not keep
  /// the channel open, and upgrade() gives a sender while one still lives.
  weak_unbounded_sender<T> downgrade() const {
    detail::chan<T>* c = checked("kyoto::sync::mpsc::unbounded_sender::downgrade");
    c->add_weak();
    return weak_unbounded_sender<T>(c);
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const unbounded_sender& other) const noexcept {
    return this->chan_ == other.chan_;
  }

 private:
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded_channel();
  friend class weak_unbounded_sender<T>;

  explicit unbounded_sender(detail::chan<T>* c) noexcept : detail::sender_base<T>(c) {}
};

/// A sender that does not keep the channel open (tokio's WeakSender), from
/// sender::downgrade(). The receiver sees the end once every (strong)
/// sender is gone, weak ones or not; upgrade() then fails for good. Copy it
/// for another weak sender.
///
/// Thread safety: each one used by one thread at a time; copies from any
/// threads, and an upgrade racing the last sender's drop either gets a
/// sender (and the channel stays open for it) or gets none.
template <class T>
class weak_sender : private detail::weak_base<T> {
 public:
  /// A sender of the channel, or std::nullopt if every sender is gone
  /// (tokio's upgrade). Never waits. Throws std::logic_error if moved from.
  std::optional<sender<T>> upgrade() const {
    if (detail::chan<T>* c = this->upgraded("kyoto::sync::mpsc::weak_sender::upgrade")) {
      return sender<T>(c);
    }
    return std::nullopt;
  }

 private:
  friend class sender<T>;
  explicit weak_sender(detail::chan<T>* c) noexcept : detail::weak_base<T>(c) {}
};

/// The weak form of unbounded_sender (tokio's WeakUnboundedSender); see
/// weak_sender.
template <class T>
class weak_unbounded_sender : private detail::weak_base<T> {
 public:
  /// An unbounded sender of the channel, or std::nullopt if every sender is
  /// gone (tokio's upgrade). Throws std::logic_error if moved from.
  std::optional<unbounded_sender<T>> upgrade() const {
    if (detail::chan<T>* c = this->upgraded("kyoto::sync::mpsc::weak_unbounded_sender::upgrade")) {
      return unbounded_sender<T>(c);
    }
    return std::nullopt;
  }

 private:
  friend class unbounded_sender<T>;
  explicit weak_unbounded_sender(detail::chan<T>* c) noexcept : detail::weak_base<T>(c) {}
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
