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
// atomic. The timer coroutine is always destroyed by the awaiter.
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/select_op.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/time/detail/timer_entry.hpp>

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
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

namespace detail {

class timeout_core;

/// The timer coroutine of a timeout (see the file comment). Owns nothing:
/// the awaiter keeps and destroys its handle.
class timeout_timer {
 public:
  class promise_type {
   public:
    timeout_timer get_return_object() noexcept {
      return timeout_timer(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    /// Never reached: the body ends suspended in its last step.
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    /// The body's steps are noexcept.
    void unhandled_exception() const noexcept { std::terminate(); }

    /// In the awaiter's inline buffer when the frame fits, else the pool.
    static void* operator new(std::size_t size, timeout_core& core);
    static void operator delete(void* p, std::size_t size) noexcept;
  };

  /// The created (suspended) coroutine.
  std::coroutine_handle<> handle() const noexcept { return h_; }

 private:
  explicit timeout_timer(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

/// The part of timeout's awaiter that does not depend on the operation:
/// the deadline, the timer, the timer coroutine and its frame.
class timeout_core {
 public:
  timeout_core(const timeout_core&) = delete;
  timeout_core& operator=(const timeout_core&) = delete;

  /// The deadline.
  instant deadline() const noexcept { return deadline_; }

 protected:
  /// Where the timer stands. Only the awaiting task's thread reads and
  /// writes it.
  enum class timer_state : unsigned char {
    idle,     ///< nothing armed (not awaited yet, completed, or no deadline)
    armed,    ///< the timer is in the wheel; it may have fired (cancel_timer says)
    due,      ///< the deadline had passed when armed: the node is queued on our task
    yielded,  ///< the timer fired; its coroutine yielded (node queued on our task)
    expired,  ///< the operation was cancelled: the result is `elapsed`
  };

  /// `cancel_op` cancels the operation of the awaiter deriving from us.
  timeout_core(instant deadline, void (*cancel_op)(timeout_core*) noexcept) noexcept
      : deadline_(deadline), cancel_op_(cancel_op) {}
  /// Movable until awaited (the derived awaiter's move constructor).
  timeout_core(timeout_core&& o) noexcept : deadline_(o.deadline_), cancel_op_(o.cancel_op_) {
    assert(o.state_ == timer_state::idle && !o.timer_ && "a timeout awaiter moved while awaited");
  }
  ~timeout_core() { disarm(); }

  /// Whether the deadline has passed (no timer needed to know it).
  bool past_deadline() const noexcept {
    return deadline_ != instant::max() && clock::now() >= deadline_;
  }

  /// Arms the timer for `parent`, the awaiting coroutine. Returns false,
  /// arming nothing, if the deadline has passed, unless `queue_if_due`:
  /// then the timer coroutine is queued on the task at once (state due), to
  /// cancel the operation when the task next runs. A deadline of
  /// instant::max() never passes: nothing is armed (true).
  bool arm(std::coroutine_handle<> parent, bool queue_if_due) {
    parent_ = parent;
    if (deadline_ == instant::max()) return true;
    const bool due = past_deadline();
    if (due && !queue_if_due) return false;
    // prepare() throws outside a runtime task: before anything is created.
    node_.prepare(parent);
    timer_ = run_timer(*this).handle();
    node_.handle = timer_;
    if (due) {
      state_ = timer_state::due;
      node_.task->wake(&node_);  // our task is running: this only queues the node
      return true;
    }
    entry_.waiter = &node_;
    bool registered = false;
    try {
      registered = time::detail::register_timer(&entry_, deadline_);
    } catch (...) {
      std::exchange(timer_, {}).destroy();
      throw;
    }
    if (registered) {
      state_ = timer_state::armed;
      return true;
    }
    // Due between the check above and the wheel's (its tick rounding).
    if (!queue_if_due) {
      std::exchange(timer_, {}).destroy();
      return false;
    }
    state_ = timer_state::due;
    node_.task->wake(&node_);
    return true;
  }

  /// Undoes arm(): unregisters the timer, takes its node back from our
  /// task if it was woken, destroys the timer coroutine. Idempotent.
  void disarm() noexcept {
    switch (state_) {
      case timer_state::armed:
        // False: it fired; the driver woke our node under its lock, so that
        // wake is over and the node is on our task's ready stack or batch.
        if (!time::detail::cancel_timer(&entry_)) node_.task->purge(&node_);
        break;
      case timer_state::due:
      case timer_state::yielded:
        node_.task->purge(&node_);
        break;
      case timer_state::idle:
      case timer_state::expired:
        break;
    }
    state_ = timer_state::idle;
    if (timer_) std::exchange(timer_, {}).destroy();
  }

  /// Whether the timer cancelled the operation (before disarm()).
  bool expired() const noexcept { return state_ == timer_state::expired; }
  /// The operation was cancelled without a timer (the deadline had passed
  /// at the first poll).
  void mark_expired() noexcept { state_ = timer_state::expired; }

 private:
  friend class timeout_timer::promise_type;

  /// The timer coroutine's first step: resumed by the timer, it yields
  /// once, so that an operation whose wake-up is already queued on the task
  /// runs first and wins. Skipped when the deadline had passed at arming.
  struct fired_step {
    timeout_core& core;
    bool await_ready() const noexcept { return core.state_ == timer_state::due; }
    void await_suspend(std::coroutine_handle<>) const noexcept {
      core.state_ = timer_state::yielded;
      kyoto::detail::coop_yield(core.node_);
    }
    void await_resume() const noexcept {}
  };

  /// The last step: cancels the operation, then resumes the awaiting
  /// coroutine (which returns elapsed). Never resumed itself.
  struct expire_step {
    timeout_core& core;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
      core.state_ = timer_state::expired;
      core.cancel_op_(&core);
      return core.parent_;
    }
    void await_resume() const noexcept {}
  };

  static timeout_timer run_timer(timeout_core& core) {
    co_await fired_step{core};
    co_await expire_step{core};
  }

  /// Room for the timer coroutine's frame (72 bytes with GCC 12, 48 with
  /// Clang 19, at every optimisation level); a bigger one comes from the
  /// frame pool.
  static constexpr std::size_t inline_frame = 80;
  /// Whether a timer coroutine frame of `size` bytes goes in `frame_`.
  /// Never under AddressSanitizer: a heap frame (the pool is bypassed there)
  /// has its use after destruction caught.
  static constexpr bool fits_inline(std::size_t size) noexcept {
    return !kyoto::detail::address_sanitizer && size <= inline_frame;
  }

  instant deadline_;
  void (*cancel_op_)(timeout_core*) noexcept;
  std::coroutine_handle<> parent_;  ///< the awaiting coroutine (a select branch, say)
  std::coroutine_handle<> timer_;   ///< the timer coroutine, while it exists
  kyoto::detail::wake_node node_;   ///< the timer's waiter; resumes timer_
  kyoto::detail::timer_entry entry_;
  timer_state state_ = timer_state::idle;
  alignas(__STDCPP_DEFAULT_NEW_ALIGNMENT__) unsigned char frame_[inline_frame];
};

inline void* timeout_timer::promise_type::operator new(std::size_t size, timeout_core& core) {
  if (timeout_core::fits_inline(size)) return core.frame_;
  return kyoto::detail::frame_pool::allocate(size);
}

inline void timeout_timer::promise_type::operator delete(void* p, std::size_t size) noexcept {
  // The size decides, as in operator new: no flag to keep.
  if (!timeout_core::fits_inline(size)) kyoto::detail::frame_pool::deallocate(p, size);
}

/// What `co_await op` gives inside the result: the awaited type.
template <class A>
using timeout_value_t = kyoto::detail::await_result_t<A>;

}  // namespace detail

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
class [[nodiscard]] timeout_awaiter : private detail::timeout_core {
  using op_type = kyoto::detail::select_op<A>;
  using value_type = detail::timeout_value_t<A>;
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
  timeout_awaiter(timeout_awaiter&& o) : timeout_core(std::move(o)), op_(std::move(o.op_)) {}
  timeout_awaiter& operator=(timeout_awaiter&&) = delete;
  ~timeout_awaiter() { disarm(); }  // before op_ goes: nothing may wake the timer coroutine then

  using timeout_core::deadline;

  /// The operation is ready: its value wins, whatever the deadline.
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
  static void cancel_op(detail::timeout_core* core) noexcept {
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
  return timeout_awaiter<A>(detail::deadline_after(duration), std::forward<A>(op));
}

}  // namespace kyoto::time
