// The receiver's side of an mpsc await that recv() and recv_many() share:
// take at once under the channel lock when something is there (and the
// budget allows), else park the receiver (the protocol is in
// detail/chan.hpp).
#pragma once

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <cassert>
#include <coroutine>
#include <utility>

namespace kyoto::detail {

/// What the receive awaiters share: the channel, the receiver's node and
/// the await's state. The awaiter owns what is received.
template <class T>
class mpsc_recv_waiter {
  using status = typename chan<T>::recv_status;

 public:
  explicit mpsc_recv_waiter(chan<T>* c) noexcept : chan_(c) {}
  /// Movable until awaited; the source is used up.
  mpsc_recv_waiter(mpsc_recv_waiter&& o) noexcept
      : chan_(o.chan_), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "an mpsc receive awaiter moved while awaited");
  }
  mpsc_recv_waiter(const mpsc_recv_waiter&) = delete;
  mpsc_recv_waiter& operator=(const mpsc_recv_waiter&) = delete;
  ~mpsc_recv_waiter() {
    if (suspended_ && chan_->cancel_receiver(&node_)) node_.task->purge(&node_);
  }

  /// The awaiters' await_ready(): `take()` receives under the lock if
  /// something is there and the budget allows (then true). Returns false
  /// holding the lock, which suspend() (their await_suspend()) releases —
  /// see the awaitable contract in runtime/detail/awaitable.hpp.
  template <class Take>
  bool ready(const char* operation, Take&& take) {
    if (done_) throw_awaited_twice(operation);
    chan_->lock().lock();
    unlock_guard unlock(chan_->lock());
    if (chan_->peek_recv_locked() != status::empty) {
      if (coop_proceed()) {
        take();
        return true;
      }
      yield_ = true;  // out of budget: yield first, receive when resumed
    }
    unlock.release();  // keeps the lock for suspend()
    return false;
  }

  /// The awaiters' await_suspend(); releases the lock ready() kept.
  void suspend(std::coroutine_handle<> h) {
    unlock_guard unlock(chan_->lock());
    node_.prepare(h);
    if (yield_) {
      chan_->claim_recv_locked();
      coop_yield(node_);
    } else {
      chan_->park_receiver_locked(&node_);
    }
    suspended_ = true;
  }

  /// The awaiters' await_resume(): whether the await suspended (the
  /// caller then finishes its receive on the channel).
  bool resume() noexcept {
    done_ = true;
    return std::exchange(suspended_, false);
  }

  /// Whether the awaiter was awaited already (or moved from).
  bool done() const noexcept { return done_; }

  chan<T>* channel() const noexcept { return chan_; }

 private:
  chan<T>* chan_;
  wake_node node_;
  bool suspended_ = false;
  bool yield_ = false;  ///< the budget made us yield before receiving
  bool done_ = false;   ///< awaited once already
};

}  // namespace kyoto::detail
