// kyoto::sync::mpsc's closed(): waiting, as a sender, for the receiver to
// close or go away (tokio's Sender::closed), for bounded and unbounded
// senders alike.
#pragma once

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>

#include <cassert>
#include <coroutine>

namespace kyoto::sync::mpsc {

/// Awaiter of sender::closed() and unbounded_sender::closed(): completes
/// once the receiver closed or is gone (tokio's Sender::closed).
///
/// Resumed on the awaiting task's thread (woken by the thread that closes
/// or drops the receiver). Cancel safety: cancel safe — once closed, the
/// channel stays closed and every later closed() completes at once.
template <class T>
class [[nodiscard]] closed_awaiter {
 public:
  /// Made by closed(); not constructed by users.
  explicit closed_awaiter(kyoto::detail::chan<T>* c) noexcept : chan_(c) {}
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

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
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

  /// Queues the awaiting coroutine `h` (or yields it, when out of budget)
  /// and releases the lock await_ready() kept.
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

  /// Nothing to give: the receiver is closed or gone.
  void await_resume() noexcept { state_ = state::done; }

 private:
  enum class state : unsigned char { idle, waiting, yielding, done };

  kyoto::detail::chan<T>* chan_;
  kyoto::detail::closed_waiter waiter_;
  state state_ = state::idle;
  bool yield_ = false;  ///< the budget made us yield
};

}  // namespace kyoto::sync::mpsc
