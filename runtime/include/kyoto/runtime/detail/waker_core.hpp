// The shared state behind kyoto::suspension and kyoto::waker.
//
// # Why a core
//
// kyoto resumes coroutines, it does not poll futures: a wake resumes one
// suspended coroutine, once. A kyoto primitive wakes its awaiter's
// wake_node under the synchronisation the awaiter's destructor also takes
// (the wake rule, task_header.hpp), so a wake never reaches a destroyed
// frame. A public waker is called by code kyoto does not see (a plain
// thread, a C library's callback), at any time, any number of times, maybe
// long after the awaiting task was cancelled. So the wake_node lives in a
// reference-counted `waker_core` that every waker and the awaiter's
// suspension share, and the core's own state word is the synchronisation
// of the wake rule: the first wake and the suspension's disarm() race on
// it, and exactly one of them wins.
//
// # The state machine (state_)
//
//   armed     the suspension waits; the node is prepared (coroutine, task).
//   waking    a waker won armed -> waking and is inside node_.wake(): it
//             touches the task and its scheduler until it stores `woken`.
//   woken     the wake is over: the node is on the task's ready stack, or
//             was taken by a run and resumed. Later wakes do nothing.
//   disarmed  the suspension gave up before any wake (its awaiter was
//             destroyed: cancellation), or the core was never armed. Wakes
//             do nothing. Initial state.
//
// Transitions:
//
//   arm(h)       (the awaiting task's thread, in await_suspend) disarmed or
//                woken -> armed, after preparing the node; only while no
//                other waker shares the core (suspension::arm makes a new
//                core otherwise), so no wake races it.
//   wake()       (any thread) armed -> waking (CAS), node_.wake(), then
//                waking -> woken. A wake that finds any other state does
//                nothing: wakes coalesce into the one resumption.
//   disarm()     (the awaiting task's thread, while it runs) armed ->
//                disarmed (CAS): no wake will touch the node. If a wake won
//                instead, wait for `woken`, then purge the node from the
//                task's ready stack (a no-op if it was resumed already).
//
// Hence the wake rule holds: the task, its frames and its scheduler are
// alive while a waker is in `waking`, because the awaiter's destructor (the
// only way the frame can go away, cancellation included) waits in disarm()
// for the wake to end. After that no waker touches anything but the core,
// which the waker's own reference keeps alive.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <cstdint>

namespace kyoto::detail {

/// The reference-counted state one suspension shares with its wakers. See
/// the file comment.
class KYOTO_EXPORT waker_core {
 public:
  static constexpr std::uint8_t armed = 0;     ///< waiting for the first wake
  static constexpr std::uint8_t waking = 1;    ///< a waker is inside node_.wake()
  static constexpr std::uint8_t woken = 2;     ///< the wake is over
  static constexpr std::uint8_t disarmed = 3;  ///< no wake will resume anything

  waker_core() noexcept = default;
  waker_core(const waker_core&) = delete;
  waker_core& operator=(const waker_core&) = delete;

  /// A new core, disarmed, holding one reference (the caller's).
  static waker_core* make();

  /// Prepares the node for `h` and moves to `armed`. The calling thread is
  /// running the awaiting task, and no waker shares the core. Throws
  /// std::logic_error naming `operation` outside a runtime task.
  void arm(std::coroutine_handle<> h, const char* operation);

  /// The first wake since arm() resumes the coroutine; others do nothing.
  /// Any thread.
  void wake() noexcept;

  /// No wake resumes anything after this returns; a wake that already won
  /// is waited for and its node purged. The thread running the awaiting
  /// task (its awaiter's destructor, or a re-arm).
  void disarm() noexcept;

  /// Takes one more reference (a waker copy). Any thread.
  void add_ref() noexcept {
    // Relaxed: the caller holds a reference, and a new one publishes
    // nothing (shared_ptr's copy).
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Drops a reference; frees the core at zero. Any thread.
  void unref() noexcept;

  /// Whether the caller's reference is the only one, so nobody else can
  /// wake the core. Acquire: pairs with the release decrement in unref() of
  /// the last other holder, whose wake is then over.
  bool unique() const noexcept { return refs_.load(std::memory_order_acquire) == 1; }

 private:
  /// Resumes the awaiting coroutine in its task; prepared by arm().
  wake_node node_;
  /// Wakers plus the suspension; the core is freed at zero.
  atomic<std::uint32_t> refs_{1};
  /// armed / waking / woken / disarmed; see the file comment. Written by
  /// the awaiting task's thread (arm, disarm) and by wakers (any thread).
  atomic<std::uint8_t> state_{disarmed};
};

}  // namespace kyoto::detail
