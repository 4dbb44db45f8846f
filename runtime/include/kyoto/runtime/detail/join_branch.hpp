// The branches of join/join_all: one small coroutine per awaitable, all
// resumed by the task that awaits the join (so they run concurrently with
// each other, never in parallel).
//
// The join's await_suspend starts each branch directly. A branch that
// finishes at once returns to that loop; if every branch did, the awaiting
// coroutine never suspends. Otherwise it suspends, and the branch that
// finishes last transfers to it symmetrically. A branch that throws ends
// the join: the other branches are cancelled (their frames destroyed) and
// the exception is rethrown to the awaiter, as a panic propagates out of
// tokio's join!. A try_join branch can also end the join with an error
// value: it stores the error, sets `join_state::value_failed` and finishes;
// its final_awaiter stops the join as for an exception.
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>
#include <kyoto/runtime/detail/unique_coroutine.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <span>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

class join_branch;

/// What the branches of one join share. Owned by the join's awaiter.
struct join_state {
  std::coroutine_handle<> parent;  ///< the coroutine awaiting the join
  std::span<join_branch> branches;
  std::size_t remaining = 0;      ///< branches not finished
  bool parent_suspended = false;  ///< await_suspend returned true
  /// A branch failed (an exception, or a try_join error value): the others
  /// were cancelled. Never unset.
  bool stopped = false;
  /// Set by a try_join branch's body just before it finishes with an error
  /// value; consumed by that branch's final_awaiter (no branch runs in
  /// between: the body's last statement is followed by its final suspend).
  bool value_failed = false;
  std::exception_ptr error;  ///< the exception that stopped the join, if one did

  /// Destroys every branch that has not finished (a branch threw).
  void cancel_unfinished() noexcept;
};

/// A join branch's coroutine; owns its frame.
class join_branch {
 public:
  class promise_type : public pooled_frame {
   public:
    template <class... Args>
    explicit promise_type(join_state* s, Args&...) noexcept : state_(s) {}

    join_branch get_return_object() noexcept {
      return join_branch(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        join_state& s = *p.state_;
        p.done_ = true;
        const bool failed = p.error_ || std::exchange(s.value_failed, false);
        if (failed && !s.stopped) {
          s.stopped = true;
          s.error = std::move(p.error_);
          s.cancel_unfinished();
          s.remaining = 0;
        } else if (s.remaining > 0) {
          --s.remaining;
        }
        if (s.remaining == 0 && s.parent_suspended) return s.parent;
        return std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

   private:
    friend class join_branch;
    join_state* state_;
    std::exception_ptr error_;
    bool done_ = false;
  };

  join_branch() noexcept = default;

  void start() const { frame_.resume(); }
  bool finished() const noexcept { return !frame_ || frame_.get().promise().done_; }
  void reset() noexcept { frame_.reset(); }

 private:
  explicit join_branch(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}
  unique_coroutine<promise_type> frame_;
};

inline void join_state::cancel_unfinished() noexcept {
  for (join_branch& b : branches) {
    if (!b.finished()) b.reset();
  }
}

/// Awaits `a` and stores its outcome in `out`: a branch of a join. An rvalue
/// operand is moved into the branch's frame (A is a value type), so
/// cancelling the branch destroys it; an lvalue operand (A is T&) is awaited
/// in place, through a fresh awaiter (see join_operand).
template <class R, class A>
join_branch run_join_branch(join_state*, A a, result_storage<R>& out) {
  if constexpr (std::is_void_v<R>) {
    co_await static_cast<A&&>(a);
    out.set_value();
  } else {
    // Kept out of the set_value() call: no temporary spans the co_await.
    R value = co_await static_cast<A&&>(a);
    out.set_value(static_cast<R&&>(value));
  }
}

/// An operand of join/join_all: rvalues are moved into the branch; an
/// lvalue must make a fresh awaiter when awaited (a task, a join_handle, a
/// oneshot receiver), so that cancelling the branch cancels the await. A
/// bare awaiter (a sleep, a send, a recv) passed as an lvalue would stay
/// registered with a cancelled branch: pass it as an rvalue.
template <class A>
concept join_operand =
    !std::is_lvalue_reference_v<A> || has_member_co_await<A> || has_free_co_await<A>;

/// Starts every branch of `s`; returns whether the awaiting coroutine must
/// suspend (see the file comment).
inline bool start_join_branches(join_state& s, std::coroutine_handle<> parent) {
  s.parent = parent;
  s.remaining = s.branches.size();
  for (join_branch& b : s.branches) {
    if (s.stopped) break;
    b.start();
  }
  if (s.remaining == 0) return false;
  s.parent_suspended = true;
  return true;
}

}  // namespace kyoto::detail
