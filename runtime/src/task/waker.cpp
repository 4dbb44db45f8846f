// The public waker's core; the state machine is described in
// <kyoto/runtime/detail/waker_core.hpp>.
#include <kyoto/runtime/waker.hpp>

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/waker_core.hpp>

#include <thread>

namespace kyoto::detail {

waker_core* waker_core::make() {
  return new waker_core();
}

void waker_core::arm(std::coroutine_handle<> h, const char* operation) {
  if (current_task() == nullptr) [[unlikely]]
    throw_outside_task(operation);
  node_.next = nullptr;
  node_.prepare(h);
  // Release: publishes the node's fields to the waker whose acquire CAS in
  // wake() takes `armed` (the waker copy also reaches that thread through
  // the user's own hand-off, but the core does not rely on it).
  state_.store(armed, std::memory_order_release);
}

void waker_core::wake() noexcept {
  std::uint8_t expected = armed;
  // Acquire: pairs with the release store in arm(), so node_ is prepared.
  // Relaxed on failure: a wake that loses does nothing and reads nothing.
  if (!state_.compare_exchange_strong(expected, waking, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
    return;  // woken already, being woken, or disarmed: coalesced
  }
  // The awaiter cannot be destroyed (nor its task freed, nor its scheduler)
  // until we store `woken`: its disarm() waits for it.
  node_.wake();
  // Release: pairs with the acquire load in disarm(): our use of the task
  // and its scheduler happens before the awaiter's destructor goes on.
  state_.store(woken, std::memory_order_release);
}

void waker_core::disarm() noexcept {
  std::uint8_t cur = armed;
  // Relaxed: winning means no waker ever touches the node; there is
  // nothing to publish or to see.
  if (state_.compare_exchange_strong(cur, disarmed, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
    return;
  }
  if (cur == disarmed) return;  // never armed, or disarmed before
  // A wake won. Wait for it to end (a few instructions, maybe stretched by
  // preemption). Acquire: pairs with the release store of `woken` in wake().
  for (int i = 0; state_.load(std::memory_order_acquire) != woken; ++i) {
    if (i < 64) {
      spin_pause();
    } else {
      std::this_thread::yield();
    }
  }
  // The node is on the task's ready stack or in this run's batch unless the
  // coroutine was resumed already; purge() finds it or does nothing.
  // A core armed inside a nested task (a task_local scope) and disarmed
  // after that task ended, from the enclosing one: the nested task
  // completed, so it resumed every woken node; nothing to purge.
  if (node_.task == current_task()) node_.task->purge(&node_);
  state_.store(disarmed, std::memory_order_relaxed);  // relaxed: only this thread reads it now
}

void waker_core::unref() noexcept {
  // Acq_rel: the last owner sees every other owner's use before freeing
  // (shared_ptr's ordering).
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace kyoto::detail

namespace kyoto {

waker suspension::arm(std::coroutine_handle<> h) {
  if (core_ && !core_->unique()) {
    // Wakers of the previous suspension exist: they must not resume this
    // one. Give them the old core, disarmed, and start a new one.
    core_->disarm();
    core_.reset();
  }
  if (!core_) {
    core_ = core_ref(detail::waker_core::make());
  } else {
    core_->disarm();  // woken (and maybe not resumed: a non-suspending await_suspend)
  }
  core_->arm(h, "kyoto::suspension::arm");
  core_->add_ref();
  return waker(core_ref(core_.get()));
}

void suspension::disarm() noexcept {
  if (core_) core_->disarm();
}

void waker::wake() noexcept {
  if (core_) {
    core_->wake();
    core_.reset();
  }
}

void waker::wake_by_ref() const noexcept {
  if (core_) core_->wake();
}

}  // namespace kyoto
