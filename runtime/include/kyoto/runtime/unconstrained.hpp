// kyoto::unconstrained: opt an awaitable out of the cooperative budget
// (tokio::task::unconstrained).
//
// The budget (detail/coop.hpp) lives in the running thread's context and is
// refilled at the start of every run of a task; operations that complete
// at once spend it. unconstrained runs its awaitable as a nested task
// (detail/nested_run.hpp) and, around every run of it, replaces the budget
// with an unlimited one, restoring the enclosing run's budget after: the
// awaitable spends nothing and is never made to yield by the budget, while
// the rest of the task keeps its own.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/join_branch.hpp>
#include <kyoto/runtime/detail/nested_run.hpp>

#include <cstdint>
#include <limits>
#include <utility>

namespace kyoto {

namespace detail {

/// The nested-run hook of unconstrained(): an unlimited budget around every
/// run of the wrapped awaitable.
struct unconstrained_hook {
  static constexpr const char* operation = "kyoto::unconstrained";

  void enter() noexcept {
    saved = current_context.budget;
    // Four billion operations without a suspension before the budget would
    // bite: unlimited in practice, and coop_proceed() stays one decrement.
    current_context.budget = std::numeric_limits<std::uint32_t>::max();
  }
  void leave() noexcept { current_context.budget = saved; }

  std::uint32_t saved = 0;  ///< the enclosing run's budget
};

}  // namespace detail

/// Awaits `a` without the cooperative budget (tokio::task::unconstrained):
/// operations inside it that could complete at once always do, instead of
/// yielding every 128 operations, and they do not spend the awaiting
/// task's budget. Returns a lazy task giving `a`'s result (or rethrowing).
///
/// Use with care: a loop over an always-ready channel inside unconstrained
/// never gives its worker back, starving the other tasks and the timers on
/// it (the budget exists to prevent that). Explicit yields (yield_now) and
/// real waits still suspend.
///
/// `a` is passed as to join(): an rvalue is moved in, an lvalue is awaited
/// in place and must make a fresh awaiter. Must be awaited inside a runtime
/// task (throws std::logic_error otherwise). Thread safety: awaited by one
/// task. Cancel safety: cancelling it cancels `a`; `a`'s own cancel safety
/// applies.
template <class A>
  requires detail::awaitable<A> && detail::join_operand<A>
[[nodiscard]] task<detail::await_result_t<A>> unconstrained(A&& a) {
  using R = detail::await_result_t<A>;
  return detail::run_nested<R>(detail::unconstrained_hook{},
                               detail::nested_root(static_cast<A&&>(a), "kyoto::unconstrained"));
}

}  // namespace kyoto
