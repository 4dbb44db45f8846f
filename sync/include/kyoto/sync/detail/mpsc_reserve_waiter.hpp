// The wait for `n` slots of a bounded mpsc channel that reserve(),
// reserve_many() and reserve_owned() share (the protocol is in
// detail/chan.hpp).
#pragma once

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <utility>

namespace kyoto::detail {
/// What the reserve awaiters share: waiting for `n` slots. The slots, once
/// acquired, belong to whoever called resume().
template <class T>
class mpsc_reserve_waiter {
  using status = typename chan<T>::send_status;

 public:
  mpsc_reserve_waiter(chan<T>* c, std::size_t n) noexcept : chan_(c), n_(n) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  mpsc_reserve_waiter(mpsc_reserve_waiter&& o) noexcept
      : chan_(o.chan_), n_(o.n_), status_(o.status_), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a reserve awaiter moved while awaited");
  }
  mpsc_reserve_waiter(const mpsc_reserve_waiter&) = delete;
  mpsc_reserve_waiter& operator=(const mpsc_reserve_waiter&) = delete;
  ~mpsc_reserve_waiter() {
    // Unqueues it (handing on a partial assignment), or hands on the slots
    // it was granted and never took.
    if (suspended_ && chan_->cancel_sender(&waiter_, n_)) waiter_.node.task->purge(&waiter_.node);
  }

  /// The awaiters' await_ready(): returns false holding the lock, which
  /// suspend() (their await_suspend()) releases — see the awaitable contract
  /// in runtime/detail/awaitable.hpp.
  bool ready(const char* operation) {
    if (done_) throw_awaited_twice(operation);
    chan_->lock().lock();
    unlock_guard unlock(chan_->lock());
    status_ = chan_->begin_reserve_locked(n_, &waiter_);
    if (status_ == status::sent || status_ == status::closed) return true;
    unlock.release();  // keeps the lock for suspend()
    return false;
  }

  void suspend(std::coroutine_handle<> h) {
    unlock_guard unlock(chan_->lock());
    waiter_.node.prepare(h);
    if (status_ == status::granted) {
      coop_yield(waiter_.node);  // out of budget: the slots are ours
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
      return waiter_.st == send_waiter::state::granted;
    }
    return status_ == status::sent;
  }

  chan<T>* channel() const noexcept { return chan_; }
  std::size_t count() const noexcept { return n_; }

 private:
  chan<T>* chan_;
  std::size_t n_;
  send_waiter waiter_;
  status status_ = status::full;
  bool suspended_ = false;
  bool done_ = false;  ///< awaited once already
};

}  // namespace kyoto::detail
