// kyoto::time::pause, resume and advance: paused time for tests (tokio's
// test-util feature; docs/testing.md).
#pragma once

#include <kyoto/runtime/yield_now.hpp>
#include <kyoto/time/clock.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <coroutine>

namespace kyoto::detail {
/// Moves the calling runtime's paused clock forward by `d` and fires the
/// timers due (time::advance). Defined in runtime/src/time/pause.cpp.
KYOTO_EXPORT void advance_clock(time::clock::duration d);
}  // namespace kyoto::detail

namespace kyoto::time {

/// Freezes the calling runtime's clock (tokio::time::pause): from now on
/// time::clock::now() stands still, and moves only by time::advance() or,
/// when every task is idle and the runtime would sleep until a timer, by
/// jumping straight to that timer's deadline (auto-advance), so a test that
/// sleeps an hour finishes at once.
///
/// Must be called from a task of a current_thread runtime. Throws
/// std::logic_error naming the cause when called outside a runtime, on a
/// multi_thread runtime (its workers' clocks cannot be frozen together),
/// or when time is already paused. Thread safety: the runtime's thread.
KYOTO_EXPORT void pause();

/// Lets the calling runtime's clock run again from where pause() and
/// advance() left it (tokio::time::resume): time does not jump back.
/// Throws std::logic_error outside a runtime, or if time is not paused.
/// Thread safety: the runtime's thread.
KYOTO_EXPORT void resume();

/// Awaiter returned by advance(): moves the paused clock when awaited, then
/// yields so the tasks its timers woke run first. Awaited by one task;
/// resumed on the runtime's thread. Cancel safety: the clock has moved once
/// the awaiter is first awaited; destroying it afterwards cancels only the
/// yield.
class advance_awaiter {
 public:
  /// An advance by `d`, not yet done.
  explicit advance_awaiter(clock::duration d) noexcept : by_(d) {}

  /// Moves the clock by the duration and fires the timers now due; throws
  /// std::logic_error if time is not paused (or outside a current_thread
  /// runtime) and std::invalid_argument for a negative duration. Never
  /// ready: the task then yields.
  bool await_ready() {
    detail::advance_clock(by_);
    return false;
  }
  /// Queues the task behind the tasks the fired timers woke.
  void await_suspend(std::coroutine_handle<> h) { yield_.await_suspend(h); }
  /// Nothing to give.
  void await_resume() noexcept { yield_.await_resume(); }

 private:
  clock::duration by_;
  yield_awaiter yield_;
};

/// Moves the calling runtime's paused clock forward by `d`, fires the
/// timers that are due by then, and yields so the tasks they woke run
/// before the caller resumes (tokio::time::advance):
/// `co_await time::advance(100ms);`. Nothing happens until it is awaited.
/// Errors as advance_awaiter::await_ready().
inline advance_awaiter advance(clock::duration d) noexcept {
  return advance_awaiter(d);
}

}  // namespace kyoto::time
