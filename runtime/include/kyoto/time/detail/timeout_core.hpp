// The timer half of a timeout (time/timeout.hpp): the deadline, the timer
// and the *timer coroutine* that cancels the operation when the timer
// fires, with its frame kept inline. See the file comment of timeout.hpp
// for the protocol; timeout_awaiter<A> derives from timeout_core and adds
// the operation.
#pragma once

#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/time/detail/timer_entry.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

namespace kyoto::detail {

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
  time::instant deadline() const noexcept { return deadline_; }

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
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): frame_ is raw frame storage
  timeout_core(time::instant deadline, void (*cancel_op)(timeout_core*) noexcept) noexcept
      : deadline_(deadline), cancel_op_(cancel_op) {}
  /// Movable until awaited (the derived awaiter's move constructor).
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): frame_ is raw frame storage
  timeout_core(timeout_core&& o) noexcept : deadline_(o.deadline_), cancel_op_(o.cancel_op_) {
    assert(o.state_ == timer_state::idle && !o.timer_ && "a timeout awaiter moved while awaited");
  }
  ~timeout_core() { disarm(); }

  /// Whether the deadline has passed (no timer needed to know it).
  bool past_deadline() const noexcept {
    return deadline_ != time::instant::max() && time::clock::now() >= deadline_;
  }

  /// Arms the timer for `parent`, the awaiting coroutine. Returns false,
  /// arming nothing, if the deadline has passed, unless `queue_if_due`:
  /// then the timer coroutine is queued on the task at once (state due), to
  /// cancel the operation when the task next runs. A deadline of
  /// instant::max() never passes: nothing is armed (true).
  bool arm(std::coroutine_handle<> parent, bool queue_if_due) {
    parent_ = parent;
    if (deadline_ == time::instant::max()) return true;
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
      registered = register_timer(&entry_, deadline_);
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
        if (!cancel_timer(&entry_)) node_.task->purge(&node_);
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
      coop_yield(core.node_);
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
    return !address_sanitizer && size <= inline_frame;
  }

  time::instant deadline_;
  void (*cancel_op_)(timeout_core*) noexcept;
  std::coroutine_handle<> parent_;  ///< the awaiting coroutine (a select branch, say)
  std::coroutine_handle<> timer_;   ///< the timer coroutine, while it exists
  wake_node node_;                  ///< the timer's waiter; resumes timer_
  timer_entry entry_;
  timer_state state_ = timer_state::idle;
  alignas(__STDCPP_DEFAULT_NEW_ALIGNMENT__) unsigned char frame_[inline_frame];
};

inline void* timeout_timer::promise_type::operator new(std::size_t size, timeout_core& core) {
  if (timeout_core::fits_inline(size)) return core.frame_;
  return frame_pool::allocate(size);
}

inline void timeout_timer::promise_type::operator delete(void* p, std::size_t size) noexcept {
  // The size decides, as in operator new: no flag to keep.
  if (!timeout_core::fits_inline(size)) frame_pool::deallocate(p, size);
}

}  // namespace kyoto::detail
