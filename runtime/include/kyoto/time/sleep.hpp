// kyoto::time::sleep and sleep_until.
#pragma once

#include <kyoto/time/clock.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/time/detail/deadline.hpp>
#include <kyoto/time/detail/timer_entry.hpp>
#include <kyoto/time/detail/timer_registration.hpp>

#include <cassert>
#include <chrono>
#include <coroutine>

namespace kyoto::time {

/// Waits until a deadline (tokio's Sleep). Returned by sleep() and
/// sleep_until(); await it directly: `co_await time::sleep(10ms);`.
///
/// Resolution is 1 ms: the task resumes at the first millisecond tick at
/// or after the deadline, on the thread of its runtime. A deadline already
/// past completes at once, without suspending.
///
/// Thread safety: used by one task. Cancel safety: cancel safe; destroying
/// a waiting sleep unregisters its timer (no kernel round trip).
class sleep_awaiter {
 public:
  /// A sleep until `deadline` (sleep() and sleep_until() make them).
  explicit sleep_awaiter(instant deadline) noexcept : deadline_(deadline) {}
  /// Movable while not being awaited (so it can be passed to join()).
  sleep_awaiter(sleep_awaiter&& o) noexcept : deadline_(o.deadline_), state_(o.state_) {
    assert(o.state_ != state::waiting && "a sleep_awaiter moved while awaited");
  }
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  ~sleep_awaiter() {
    if (state_ == state::yielding) {
      node_.task->purge(&node_);  // cancelled while yielding (budget)
      return;
    }
    if (state_ != state::waiting) return;
    // Fired, but our task was cancelled before resuming us: take the node
    // back from the task's ready stack.
    if (!detail::cancel_timer(&entry_)) node_.task->purge(&node_);
  }

  /// When the sleep completes.
  instant deadline() const noexcept { return deadline_; }
  /// Whether the deadline has passed.
  bool is_elapsed() const noexcept { return clock::now() >= deadline_; }

  /// True, without suspending, if the deadline has passed (and the task
  /// still has cooperative budget).
  bool await_ready() noexcept {
    if (state_ != state::done && !is_elapsed()) return false;
    if (kyoto::detail::coop_proceed()) return true;
    state_ = state::yielding;  // out of budget: yield first (coop.hpp)
    return false;
  }
  /// Registers the timer (or yields when out of budget); false, resuming
  /// at once, if the deadline passed meanwhile.
  bool await_suspend(std::coroutine_handle<> h) {
    node_.prepare(h);
    if (state_ == state::yielding) {
      kyoto::detail::coop_yield(node_);
      return true;
    }
    entry_.waiter = &node_;
    if (!detail::register_timer(&entry_, deadline_)) return false;
    state_ = state::waiting;
    return true;
  }
  /// Nothing to give: the deadline has passed.
  void await_resume() noexcept { state_ = state::done; }

  /// For task dumps: the deadline, as the time left until it.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "sleep";
    d.detail = kyoto::detail::wait_detail::deadline;
    d.value =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - clock::now()).count();
  }

 private:
  enum class state : unsigned char { idle, waiting, yielding, done };

  instant deadline_;
  kyoto::detail::wake_node node_;
  kyoto::detail::timer_entry entry_;
  state state_ = state::idle;
};

/// Completes at `deadline` (tokio::time::sleep_until). Must be awaited in a
/// runtime task (std::logic_error otherwise).
inline sleep_awaiter sleep_until(instant deadline) noexcept {
  return sleep_awaiter(deadline);
}

/// Completes `duration` from now (tokio::time::sleep); the deadline is
/// taken when sleep() is called. Durations too long for the clock wait
/// forever. Must be awaited in a runtime task (std::logic_error otherwise).
template <class Rep, class Period>
sleep_awaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
  return sleep_awaiter(kyoto::detail::deadline_after(duration));
}

}  // namespace kyoto::time
