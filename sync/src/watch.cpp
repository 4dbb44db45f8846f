// The non-template parts of kyoto::sync::watch (the waiter lists, the
// handles' drops, sender::closed()) and of kyoto::sync::barrier, with their
// misuse errors. The protocols are in the headers' file comments.
#include <kyoto/sync/barrier.hpp>
#include <kyoto/sync/watch.hpp>

#include <kyoto/runtime/detail/coop.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

void throw_concurrent_changed() {
  throw std::logic_error(
      "kyoto::sync::watch::receiver::changed: another changed() on this receiver is in progress "
      "(a receiver is used by one task at a time; copy it for another)");
}

namespace {

/// Precondition: lock held. Wakes and empties `list`.
void wake_all_locked(intrusive_list<watch_waiter>& list) noexcept {
  while (watch_waiter* w = list.pop_front()) {
    w->st = watch_waiter::state::woken;
    w->node.wake();
  }
}

}  // namespace

void watch_shared_base::notify_receivers() noexcept {
  lock_guard guard(lock_);
  wake_all_locked(changed_waiters_);
}

bool watch_shared_base::drop_receiver() noexcept {
  // Release: publishes what this receiver did before going; pairs with the
  // acquire load in receiver_count().
  if (rx_count_.fetch_sub(1, std::memory_order_release) == 1) {
    lock_guard guard(lock_);
    // Still none? A subscribe() may have reopened the channel since our
    // decrement; then the last of the new receivers wakes the waiters. Under
    // lock_, this read is ordered with watch_closed_awaiter's read under lock_.
    if (rx_count_.load(std::memory_order_relaxed) == 0) wake_all_locked(closed_waiters_);
  }
  // Acq_rel: the last handle sees every other handle's writes before it
  // frees the state (the shared_ptr argument).
  return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
}

bool watch_shared_base::drop_sender() noexcept {
  // Release: publishes the sender's last writes; pairs with the acquire in
  // load_state() (a receiver that sees CLOSED sees them).
  state_.fetch_or(closed_bit, std::memory_order_release);
  notify_receivers();
  // Acq_rel: as in drop_receiver().
  return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
}

bool watch_shared_base::cancel_wait(watch_waiter* w, bool closed_list) noexcept {
  lock_guard guard(lock_);
  if (w->st == watch_waiter::state::parked) {
    (closed_list ? closed_waiters_ : changed_waiters_).remove(w);
    w->st = watch_waiter::state::idle;
    return false;
  }
  return true;  // woken (under lock_, which we now hold: the wake is over)
}

watch_closed_awaiter::~watch_closed_awaiter() {
  // yield_ is ours; a parked watch_waiter's st is the wakers' (read it under the
  // lock, in cancel_wait()).
  if (suspended_ && (yield_ || shared_->cancel_wait(&waiter_, true))) {
    waiter_.node.task->purge(&waiter_.node);
  }
}

bool watch_closed_awaiter::await_ready() {
  shared_->lock().lock();
  kyoto::detail::unlock_guard unlock(shared_->lock());
  if (shared_->receiver_count() != 0) {
    unlock.release();  // keeps lock_ for await_suspend, which parks
    return false;
  }
  if (kyoto::detail::coop_proceed()) return true;
  yield_ = true;  // out of budget: yield first, look again when resumed
  return false;
}

void watch_closed_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (yield_) {
    waiter_.node.prepare(h);
    waiter_.st = watch_waiter::state::yielded;
    suspended_ = true;
    kyoto::detail::coop_yield(waiter_.node);
    return;
  }
  kyoto::detail::unlock_guard unlock(shared_->lock());
  waiter_.node.prepare(h);  // may throw (outside a task): nothing parked yet
  shared_->park_closed_locked(&waiter_);
  suspended_ = true;
}

bool watch_closed_awaiter::await_resume() noexcept {
  suspended_ = false;
  return shared_->receiver_count() == 0;
}

task<> watch_wait_closed(watch_shared_base* s) {
  for (;;) {
    // Not `while (!co_await ...)`: GCC 12 miscompiles a co_await in a plain
    // if/while condition (the coroutine never resumes, or traps).
    const bool none_left = co_await watch_closed_awaiter(s);
    if (none_left) co_return;
  }
}

}  // namespace kyoto::detail

namespace kyoto::sync {

barrier::~barrier() {
  kyoto::detail::lock_guard guard(lock_);
  if (!waiters_.empty()) {
    // A parked wait would later touch freed memory: fail loudly instead.
    std::fputs("kyoto::sync::barrier: destroyed while a wait() is in progress\n", stderr);
    std::terminate();
  }
}

task<barrier_wait_result> barrier::wait() {
  for (;;) {
    // A statement, not an if condition: see wait_closed().
    const std::optional<barrier_wait_result> r =
        co_await kyoto::detail::barrier_arrive_awaiter(this);
    if (r.has_value()) co_return *r;
  }
}

}  // namespace kyoto::sync

namespace kyoto::detail {

barrier_arrive_awaiter::~barrier_arrive_awaiter() {
  switch (phase_) {
    case phase::parked: {
      bool woken;
      {
        lock_guard guard(barrier_->lock_);
        woken = waiter_.released;
        // Not released: unlink; the arrival stays counted (tokio's).
        if (!woken) barrier_->waiters_.remove(&waiter_);
      }
      if (woken) waiter_.node.task->purge(&waiter_.node);
      break;
    }
    case phase::yielded:
      waiter_.node.task->purge(&waiter_.node);
      break;
    case phase::idle:
    case phase::leader:
      break;
  }
}

bool barrier_arrive_awaiter::await_ready() {
  kyoto::sync::barrier& b = *barrier_;
  b.lock_.lock();
  kyoto::detail::unlock_guard unlock(b.lock_);
  if (b.arrived_ + 1 < b.n_) {
    unlock.release();  // keeps the lock for await_suspend, which arrives and parks
    return false;
  }
  if (!kyoto::detail::coop_proceed()) {
    yield_first_ = true;  // out of budget: yield before arriving
    return false;
  }
  // The n-th arrival: release the generation.
  b.arrived_ = 0;
  while (barrier_waiter* w = b.waiters_.pop_front()) {
    w->released = true;
    w->node.wake();
  }
  phase_ = phase::leader;
  return true;
}

void barrier_arrive_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (yield_first_) {
    waiter_.node.prepare(h);  // may throw: then nothing happened
    phase_ = phase::yielded;
    kyoto::detail::coop_yield(waiter_.node);
    return;
  }
  kyoto::sync::barrier& b = *barrier_;
  kyoto::detail::unlock_guard unlock(b.lock_);
  waiter_.node.prepare(h);  // may throw (outside a task): not arrived yet
  ++b.arrived_;
  b.waiters_.push_back(&waiter_);
  phase_ = phase::parked;
}

std::optional<kyoto::sync::barrier_wait_result> barrier_arrive_awaiter::await_resume() noexcept {
  const phase p = std::exchange(phase_, phase::idle);
  switch (p) {
    case phase::leader:
      return kyoto::sync::barrier_wait_result(true);
    case phase::parked:
      return kyoto::sync::barrier_wait_result(false);  // released: wakes are precise
    case phase::yielded:
    case phase::idle:
      break;
  }
  return std::nullopt;  // yielded before arriving: try again
}

}  // namespace kyoto::detail
