// kyoto::time::timeout and timeout_at: an operation bounded by a deadline
// (tokio's time::timeout).
//
// # How a timeout runs
//
// The awaiter holds the operation (as a select branch does: `select_op`,
// so rvalues are owned and lvalue tasks and sleeps keep their progress) and
// a timer. Awaiting it:
//
// 1. asks the operation first (await_ready, then await_suspend with the
//    awaiting coroutine's own handle): an operation that completes during
//    this first poll wins, whatever the deadline (tokio polls the inner
//    future before the delay). No timer, no allocation.
// 2. If the operation waits and the deadline has passed, it is cancelled
//    there and then (tokio: poll once, then Elapsed).
// 3. Otherwise the timer is armed. Its wake_node resumes a tiny coroutine,
//    the *timer coroutine*, not the awaiting one: the operation and the
//    timer need different handles, so that whichever is resumed knows who
//    woke it. The timer coroutine's frame is placed in the awaiter itself
//    when it fits (`frame_`), so arming allocates nothing.
//
// Then exactly one of two things resumes the awaiting coroutine:
//
// - the operation completes (its own wake, or a child task's symmetric
//   transfer): await_resume disarms the timer (unregisters it; if it fired
//   meanwhile, takes its node back from the task's ready stack, by the wake
//   rule of task_header.hpp) and returns the value, or rethrows;
// - the timer fires: the timer coroutine first *yields once* (re-queues
//   the task), so that an operation woken in the same instant, whose node
//   is already queued on the task, is resumed first and wins (tokio polls
//   the inner future first when the task runs). Resumed again, it cancels
//   the operation (destroys its awaiter and, for an rvalue, the operand:
//   destructors run, a kernel request is cancelled) and transfers to the
//   awaiting coroutine, which returns `elapsed`.
//
// Every step runs on the awaiting task's thread, inside its runs; the only
// other thread involved is the driver that fires the timer, synchronised by
// the driver's lock (cancel_timer) as for a sleep. So no state here is
// atomic. The timer coroutine is always destroyed by the awaiter. The timer
// half lives in time/detail/timeout_core.hpp; the operation is a select_op
// (runtime/detail/select_op.hpp).
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/select_op.hpp>
#include <kyoto/time/detail/deadline.hpp>
#include <kyoto/time/detail/timeout_core.hpp>

#include <chrono>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace kyoto::time {

/// The error of a timeout whose deadline passed before its operation
/// completed (tokio's time::error::Elapsed).
///
/// Thread safety: a plain value. Cancel safety: n/a.
class elapsed {
 public:
  /// "deadline has elapsed" (tokio's Display).
  const char* what() const noexcept { return "deadline has elapsed"; }
  /// Every elapsed equals every other (tokio's Elapsed is PartialEq).
  friend constexpr bool operator==(const elapsed&, const elapsed&) noexcept { return true; }
};

/// The awaiter of timeout() and timeout_at(): gives
/// `kyoto::result<T, time::elapsed>`, T being what `co_await op` gives
/// (`result<void, elapsed>` for a void operation).
///
/// Which thread resumes: the awaiting task's, as for any kyoto operation;
/// the timer is the awaiting thread's driver's.
///
/// Thread safety: awaited by one task. Movable until awaited, not after.
/// Cancel safety: cancelling the timeout (destroying it while it waits)
/// cancels the operation as the timer would, and unregisters the timer; it
/// is as cancel safe as its operation.
template <class A>
class [[nodiscard]] timeout_awaiter : private kyoto::detail::timeout_core {
  using op_type = kyoto::detail::select_op<A>;
  using value_type = kyoto::detail::await_result_t<A>;
  static_assert(!std::is_reference_v<value_type>,
                "kyoto::time::timeout: the operation must give a value, not a reference");

 public:
  /// What awaiting the timeout gives.
  using result_type = kyoto::result<value_type, elapsed>;

  /// Takes `op` (an rvalue is moved in; an lvalue is referred to).
  template <class U>
  timeout_awaiter(instant deadline, U&& op)
      : timeout_core(deadline, &cancel_op), op_(true, std::forward<U>(op)) {}
  /// Movable until awaited.
  timeout_awaiter(timeout_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<op_type>)
      // Only the timeout_core part of `o` is moved here: o.op_ is intact below.
      : timeout_core(std::move(static_cast<timeout_core&>(o))), op_(std::move(o.op_)) {}
  timeout_awaiter& operator=(timeout_awaiter&&) = delete;
  ~timeout_awaiter() { disarm(); }  // before op_ goes: nothing may wake the timer coroutine then

  using timeout_core::deadline;

  /// The operation is ready: its value wins, whatever the deadline. Not
  /// ready, the operation may hold a lock until its await_suspend(), which
  /// ours calls at once (after arming the timer, for an operation whose
  /// await_suspend returns a coroutine) — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready() { return static_cast<bool>(op_.ready()); }

  /// Polls the operation once (see the file comment), then arms the timer.
  /// Returns like the operation's await_suspend (bool, or a coroutine to
  /// transfer to), so that one completing at once never suspends us.
  auto await_suspend(std::coroutine_handle<> parent) {
    using suspend_result = decltype(op_.suspend(parent));
    if constexpr (std::is_convertible_v<suspend_result, std::coroutine_handle<>>) {
      // The operation may run (and resume `parent`) as soon as we return
      // its handle: arm first; if due, the timer coroutine is queued.
      arm(parent, true);
      try {
        return std::coroutine_handle<>(op_.suspend(parent));
      } catch (...) {
        disarm();
        throw;
      }
    } else {
      if constexpr (std::is_void_v<suspend_result>) {
        op_.suspend(parent);
      } else if (!static_cast<bool>(op_.suspend(parent))) {
        return false;  // completed during its first poll: its value wins
      }
      // The operation waits; nothing resumes `parent` before we return (our
      // task is running here: a wake-up only queues its node).
      if (arm(parent, false)) return true;
      op_.cancel();  // polled once, the deadline had passed: elapsed
      mark_expired();
      return false;
    }
  }

  /// The operation's value, or unexpected(elapsed) if the deadline passed
  /// first. Rethrows what the operation threw.
  result_type await_resume() {
    if (expired()) {
      disarm();
      return kyoto::unexpected<elapsed>(elapsed{});
    }
    disarm();
    if constexpr (std::is_void_v<value_type>) {
      op_.resume();
      return result_type();
    } else {
      return result_type(op_.resume());
    }
  }

 private:
  static void cancel_op(kyoto::detail::timeout_core* core) noexcept {
    static_cast<timeout_awaiter*>(core)->op_.cancel();
  }

  op_type op_;
};

/// Awaits `op` until `deadline` (tokio::time::timeout_at): gives
/// `kyoto::result<T, time::elapsed>` holding op's value, or `elapsed` if
/// the deadline passed first. Then the operation has been **cancelled**
/// before the timeout returns: an rvalue operation is destroyed (its
/// destructors run, an I/O request is cancelled, a task's frame is
/// destroyed); an lvalue `task<T>&` is left running in place and a
/// `sleep_awaiter&` keeps its deadline, so a later timeout (or select)
/// given them resumes waiting (tokio's `&mut fut`). Other lvalues must make
/// a fresh awaiter when awaited (a join_handle, a oneshot receiver); the
/// operation itself is left alone.
///
/// The operation is polled first: if it is ready, or completes during its
/// first poll, its value wins even when the deadline has passed (tokio).
/// If it is woken in the same instant as the timer, it wins too. An
/// exception from the operation propagates. `deadline == instant::max()`
/// never elapses.
///
/// Must be awaited in a runtime task (std::logic_error otherwise). Which
/// thread resumes: the awaiting task's.
///
/// Thread safety: the returned awaiter is awaited by one task. Cancel
/// safety: as cancel safe as the operation (a cancelled recv() lost no
/// message; a cancelled read may have read bytes).
template <class A>
  requires kyoto::detail::select_operand<A>
[[nodiscard]] timeout_awaiter<A> timeout_at(instant deadline, A&& op) {
  return timeout_awaiter<A>(deadline, std::forward<A>(op));
}

/// Awaits `op` for at most `duration` (tokio::time::timeout); see
/// timeout_at(). The deadline is taken when timeout() is called, not when
/// it is awaited. A duration of zero or less still polls `op` once; one
/// too long for the clock never elapses.
///
/// Thread safety and cancel safety: as timeout_at().
template <class Rep, class Period, class A>
  requires kyoto::detail::select_operand<A>
[[nodiscard]] timeout_awaiter<A> timeout(std::chrono::duration<Rep, Period> duration, A&& op) {
  return timeout_awaiter<A>(kyoto::detail::deadline_after(duration), std::forward<A>(op));
}

}  // namespace kyoto::time
