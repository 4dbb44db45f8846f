// kyoto::sync::mpsc's bounded channel (tokio's mpsc::channel and Sender):
// channel(capacity), the sender and the awaiters of its send(),
// send_timeout(), reserve(), reserve_many() and reserve_owned(). A sender
// that finds the channel full waits, FIFO with the other waiting senders.
//
// send_timeout_awaiter waits on two things at once (the channel and a
// timer), each with its own wake_node resuming the same coroutine:
// whichever resumes it first withdraws the other (under the channel lock,
// or by cancelling the timer under the driver's lock) and purges the
// other's node from the task if that one fired too, so the coroutine is
// resumed once. The protocol is in detail/chan.hpp.
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/sync/mpsc/closed_awaiter.hpp>
#include <kyoto/sync/mpsc/error.hpp>
#include <kyoto/sync/mpsc/permit.hpp>
#include <kyoto/sync/mpsc/receiver.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>
#include <kyoto/sync/detail/mpsc_handles.hpp>
#include <kyoto/sync/detail/mpsc_reserve_waiter.hpp>

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::sync::mpsc {

template <class T>
class weak_sender;

/// Awaiter of sender::send(); gives result<void, send_error<T>>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancelling a
/// pending send sends nothing (the value is destroyed with the awaiter)
/// and passes on a slot it may have been granted, so no other sender is
/// held up. Use reserve() to keep the value: a cancelled reserve loses
/// nothing.
template <class T>
class [[nodiscard]] send_awaiter {
  using status = typename kyoto::detail::chan<T>::send_status;

 public:
  /// Made by sender::send(); not constructed by users.
  send_awaiter(kyoto::detail::chan<T>* c, T value) : chan_(c), value_(std::move(value)) {}
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

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (done_) kyoto::detail::throw_awaited_twice("kyoto::sync::mpsc::sender::send");
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_send_locked(value_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  /// Queues the awaiting coroutine `h` for a slot (or yields it, when out
  /// of budget, holding a granted slot) and releases the lock await_ready()
  /// kept.
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

  /// Nothing once the value is sent; a send_error holding the value back
  /// if the receiver is closed or gone.
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

  /// For task dumps: a send on this (full) channel.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "mpsc send";
    d.object = chan_;
  }

 private:
  kyoto::detail::chan<T>* chan_;
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
  using status = typename kyoto::detail::chan<T>::send_status;

 public:
  /// Made by sender::send_timeout(); not constructed by users.
  send_timeout_awaiter(kyoto::detail::chan<T>* c, T value, kyoto::time::instant deadline)
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
      const bool timer_fired = !kyoto::detail::cancel_timer(&entry_);
      if (channel_woke) waiter_.node.task->purge(&waiter_.node);
      if (timer_fired) timer_node_.task->purge(&timer_node_);
    }
  }

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (done_) kyoto::detail::throw_awaited_twice("kyoto::sync::mpsc::sender::send_timeout");
    chan_->lock().lock();
    kyoto::detail::unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_send_locked(value_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for await_suspend
    return false;
  }

  /// Queues the awaiting coroutine `h` for a slot and registers the timer
  /// (or yields, when out of budget), releasing the lock await_ready()
  /// kept; false, resuming at once, if the deadline has already passed.
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
    if (!kyoto::detail::register_timer(&entry_, deadline_)) {
      timed_out_ = true;  // the deadline has passed: time out at once
      return false;
    }
    chan_->enqueue_sender_locked(&waiter_, 1);
    state_ = state::waiting;
    return true;
  }

  /// Nothing once the value is sent; otherwise a send_timeout_error
  /// (timeout or closed) holding the value back.
  result<void, send_timeout_error<T>> await_resume() {
    done_ = true;
    if (state_ == state::waiting) {
      // Resumed by the channel's wake or the timer's: settle both sources
      // (after these two calls neither can wake us any more).
      const bool timer_fired = !kyoto::detail::cancel_timer(&entry_);
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

  kyoto::detail::chan<T>* chan_;
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

/// Awaiter of sender::reserve(); gives result<permit<T>, send_error<>>.
///
/// Waits for a slot (served in order with the waiting sends). Resumed on
/// the awaiting task's thread. Cancel safety: cancel safe — a cancelled
/// reserve holds no slot (one it was granted passes on) and, unlike send(),
/// has no value to lose.
template <class T>
class [[nodiscard]] reserve_awaiter {
 public:
  /// Made by sender::reserve(); not constructed by users.
  explicit reserve_awaiter(kyoto::detail::chan<T>* c) noexcept : w_(c, 1) {}
  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve"); }
  /// Queues the awaiting coroutine `h` for a slot (or yields it) and
  /// releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  /// A permit for one slot, or send_error if the receiver is closed or gone.
  result<permit<T>, send_error<>> await_resume() {
    if (w_.resume()) return permit<T>(w_.channel());
    return unexpected(send_error<>{});
  }

 private:
  kyoto::detail::mpsc_reserve_waiter<T> w_;
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
  /// Made by sender::reserve_many(); not constructed by users.
  reserve_many_awaiter(kyoto::detail::chan<T>* c, std::size_t n) noexcept : w_(c, n) {}
  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve_many"); }
  /// Queues the awaiting coroutine `h` for `n` slots (or yields it) and
  /// releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  /// The `n` permits, or send_error if the receiver is closed or gone.
  result<permit_iterator<T>, send_error<>> await_resume() {
    if (w_.resume()) return permit_iterator<T>(w_.channel(), w_.count());
    return unexpected(send_error<>{});
  }

 private:
  kyoto::detail::mpsc_reserve_waiter<T> w_;
};

/// Awaiter of sender::reserve_owned(); gives result<owned_permit<T>,
/// send_error<>>. Owns the sender it reserves with (a copy or the moved
/// sender); on an error the sender is dropped, as in tokio. Cancel safety:
/// as reserve_awaiter; the sender is dropped with it.
template <class T>
class [[nodiscard]] reserve_owned_awaiter {
 public:
  /// Reserves with `tx`, which it owns (made by sender::reserve_owned()).
  explicit reserve_owned_awaiter(sender<T> tx) noexcept : tx_(std::move(tx)), w_(tx_.get(), 1) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  reserve_owned_awaiter(reserve_owned_awaiter&& o) noexcept
      : tx_(std::move(o.tx_)), w_(std::move(o.w_)) {}
  reserve_owned_awaiter(const reserve_owned_awaiter&) = delete;
  reserve_owned_awaiter& operator=(const reserve_owned_awaiter&) = delete;

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() { return w_.ready("kyoto::sync::mpsc::sender::reserve_owned"); }
  /// Queues the awaiting coroutine `h` for a slot (or yields it) and
  /// releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }
  /// An owned_permit holding the sender, or send_error (the sender is
  /// dropped) if the receiver is closed or gone.
  result<owned_permit<T>, send_error<>> await_resume() {
    if (w_.resume()) return owned_permit<T>(std::move(tx_));
    return unexpected(send_error<>{});
  }

 private:
  sender<T> tx_;  ///< declared first: outlives w_, whose destructor uses the channel
  kyoto::detail::mpsc_reserve_waiter<T> w_;
};

/// The sending half of a bounded channel. Copy it to get another sender
/// (tokio's clone()); the channel stays open while any sender lives (weak
/// senders do not count).
///
/// Thread safety: each sender is used by one task or thread at a time;
/// copies may be used concurrently from any threads. The awaiters it
/// returns must be awaited in a runtime task, and the sender must outlive
/// them (and the permits of reserve()/reserve_many()).
template <class T>
class sender : private kyoto::detail::mpsc_sender_base<T> {
  using kyoto::detail::mpsc_sender_base<T>::checked;

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
    using status = typename kyoto::detail::chan<T>::send_status;
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
    kyoto::detail::check_may_block("kyoto::sync::mpsc::sender::blocking_send");
    if (checked("kyoto::sync::mpsc::sender::blocking_send")->blocking_send(value) ==
        kyoto::detail::chan<T>::send_status::sent) {
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
    kyoto::detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::try_reserve");
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
    kyoto::detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::try_reserve_many");
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
    kyoto::detail::chan<T>* c = checked("kyoto::sync::mpsc::sender::downgrade");
    c->add_weak();
    return weak_sender<T>(c);
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const sender& other) const noexcept { return this->get() == other.get(); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  friend class weak_sender<T>;
  friend class owned_permit<T>;
  template <class>
  friend class reserve_owned_awaiter;

  explicit sender(kyoto::detail::chan<T>* c) noexcept : kyoto::detail::mpsc_sender_base<T>(c) {}

  static std::optional<try_send_error<>> try_reserve_on(kyoto::detail::chan<T>* c, std::size_t n) {
    using status = typename kyoto::detail::chan<T>::send_status;
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
    if (const auto e = try_reserve_on(this->get(), 1)) {
      const auto why = e->is_full() ? try_send_error<sender<T>>::reason::full
                                    : try_send_error<sender<T>>::reason::closed;
      return unexpected(try_send_error<sender<T>>{why, std::move(*this)});
    }
    return owned_permit<T>(std::move(*this));
  }
};

/// The largest capacity channel() accepts.
inline constexpr std::size_t max_capacity = std::numeric_limits<std::size_t>::max() >> 3;

/// A channel holding at most `capacity` values (tokio's mpsc::channel).
/// Throws std::invalid_argument if capacity is 0 or above max_capacity.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0 || capacity > max_capacity) kyoto::detail::throw_mpsc_bad_capacity(capacity);
  auto* c = new kyoto::detail::chan<T>(capacity);
  return {sender<T>(c), receiver<T>(c)};
}

}  // namespace kyoto::sync::mpsc

// downgrade() makes a weak_sender (and weak_sender.hpp includes this header
// back).
#include <kyoto/sync/mpsc/weak_sender.hpp>
