// kyoto::waker and kyoto::suspension: writing a leaf awaitable that is
// completed from anywhere (tokio's std::task::Waker and Context::waker()).
//
// kyoto resumes coroutines instead of polling futures, so a wake means
// "resume this one suspended coroutine", and it must never reach a
// coroutine that was destroyed meanwhile (its task cancelled). The awaiter
// therefore owns a `suspension`; in await_suspend it arms it with the
// suspending coroutine's handle and gets a `waker`, which it hands to
// whatever completes the operation (a thread, a C callback, another task).
// The suspension's destructor disarms it: once the awaiter is gone, every
// wake does nothing. docs/awaitables.md walks through a complete awaiter;
// samples/async_in_depth.cpp is tokio's "Async in depth" Delay, ported.
//
//   struct delay_awaiter {
//     clock::time_point when;
//     kyoto::suspension suspension;  // disarms on destruction: cancel safe
//     bool await_ready() const noexcept { return clock::now() >= when; }
//     void await_suspend(std::coroutine_handle<> h) {
//       std::thread([w = suspension.arm(h), t = when]() mutable {
//         std::this_thread::sleep_until(t);
//         w.wake();
//       }).detach();
//     }
//     void await_resume() const noexcept {}
//   };
//
// The state machine and its orderings are in detail/waker_core.hpp.
#pragma once

#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/waker_core.hpp>

#include <coroutine>
#include <utility>

namespace kyoto {

class suspension;

/// Resumes one suspended coroutine (tokio's Waker). Made by
/// suspension::arm() inside an awaiter's await_suspend; copyable, each copy
/// a reference to the same shared state, which stays alive as long as any
/// copy does (so a waker never dangles, whatever happened to its task).
///
/// The first wake after the suspension was armed resumes the coroutine, on
/// its task's thread, when the task next runs; it may come before the
/// coroutine has finished suspending (even from inside await_suspend), or
/// long after. Every later wake of that arming, and every wake once the
/// suspension was disarmed (its awaiter destroyed: the task was cancelled,
/// aborted or finished), does nothing: wakes coalesce, and a stale waker is
/// harmless. Writes made before the wake that resumes the coroutine are
/// visible to it after it resumes; a wake that does nothing publishes
/// nothing.
///
/// Thread safety: wake(), wake_by_ref() and will_wake() may be called from
/// any thread (a plain std::thread, a C library's callback), concurrently
/// with each other and with the task; copying, assigning and destroying one
/// waker object are not thread-safe on that object (as std::shared_ptr).
/// Not async-signal-safe (a wake may take the scheduler's lock).
/// A default-constructed waker is empty: waking it does nothing.
class KYOTO_EXPORT waker {
 public:
  /// An empty waker: waking it does nothing (tokio's Waker::noop()).
  waker() noexcept = default;

  /// Resumes the coroutine if this is the first wake since it was armed,
  /// and drops this waker's reference (tokio's wake(self)): the waker is
  /// empty afterwards. Never blocks for long, never throws.
  void wake() noexcept;

  /// As wake(), keeping this waker (tokio's wake_by_ref).
  void wake_by_ref() const noexcept;

  /// Whether `other` resumes the same suspension as this one (copies of one
  /// waker; two empty wakers). Wakers from two armings of a suspension do
  /// not: the first one's wakes do nothing once it was re-armed. So an
  /// operation that keeps the latest waker may skip replacing it when this
  /// is true (tokio's will_wake idiom).
  bool will_wake(const waker& other) const noexcept { return core_.get() == other.core_.get(); }

  /// Whether this waker refers to a suspension (false once woken with
  /// wake(), or default-constructed).
  explicit operator bool() const noexcept { return static_cast<bool>(core_); }

 private:
  friend class suspension;
  using core_ref = detail::counted_ref<detail::waker_core, &detail::waker_core::unref,
                                       &detail::waker_core::add_ref>;
  explicit waker(core_ref core) noexcept : core_(std::move(core)) {}

  core_ref core_;
};

/// The point where a hand-written awaiter waits: a member of the awaiter,
/// armed in await_suspend with the suspending coroutine's handle, which
/// gives the waker that resumes it.
///
/// Rules for the awaiter (docs/awaitables.md):
///  - arm() only in await_suspend, with the handle it was given, and then
///    suspend (return void or true). To not suspend after all (return
///    false, or throw), call disarm() first.
///  - Keep the suspension inside the awaiter: its destructor disarms it,
///    which is what makes the awaiter cancel safe with respect to wakes.
///    The destructor runs on the awaiting task's thread (where the frame
///    is destroyed) and waits, at most a few instructions, for a wake that
///    is in progress on another thread.
///  - Anything else the completer holds into the awaiter (a buffer, a
///    result slot) is the awaiter's to revoke or to share-own.
///
/// An awaiter that suspends several times (a loop of awaits on one object)
/// arms the same suspension again each time; wakers from an earlier arming
/// then do nothing.
///
/// Thread safety: used by the awaiting task only. Movable (the shared state
/// is on the heap, so an awaiter may be moved before it is awaited, as
/// join() and select() do); not copyable.
class KYOTO_EXPORT suspension {
 public:
  suspension() noexcept = default;
  /// Takes over `o`'s arming, if any; `o` is left unarmed.
  suspension(suspension&& o) noexcept = default;
  suspension(const suspension&) = delete;
  suspension& operator=(const suspension&) = delete;
  suspension& operator=(suspension&&) = delete;
  /// Disarms: wakes after this do nothing (see disarm()).
  ~suspension() { disarm(); }

  /// Records that `h` (the coroutine whose await_suspend is running)
  /// waits here and returns a waker that resumes it. Disarms a previous
  /// arming first. Throws std::logic_error, naming kyoto::suspension::arm,
  /// outside a task running on a kyoto runtime; std::bad_alloc.
  [[nodiscard]] waker arm(std::coroutine_handle<> h);

  /// Stops every waker of the current arming from resuming the coroutine.
  /// If a wake already won, waits for it to end (a few instructions on
  /// another thread) and takes the coroutine off its task's ready queue.
  /// Only on the awaiting task's thread, while the task runs (the awaiter's
  /// destructor, or await_suspend before it returns false). Idempotent.
  void disarm() noexcept;

 private:
  using core_ref = waker::core_ref;
  core_ref core_;
};

}  // namespace kyoto
