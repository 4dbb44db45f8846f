// kyoto::select: wait for the first of several operations, cancel the rest
// (tokio's select!).
//
// # How a select runs
//
// Every branch is an operation (`select_op`) held by the select's awaiter,
// which lives in the awaiting coroutine's frame. Awaiting the select makes
// one pass over the enabled branches, in start order (a random rotation,
// or argument order for select_biased):
//
// - a branch whose readiness is a pure check (an lvalue sleep: its
//   deadline; an lvalue task already started: whether it finished) is
//   checked; if not ready it is *deferred*;
// - any other branch gets its awaiter's await_ready(); if that says
//   "not ready", the branch is started at once (an await_ready that
//   returned false may hold a lock that only await_suspend releases, as a
//   bounded send does): a small coroutine (`select_branch`) calls the
//   awaiter's await_suspend.
//
// The first branch found ready wins without any branch coroutine: the
// common case of a busy loop (a channel with a value) allocates nothing.
// Deferred branches are started after the pass. If nothing finished, the
// awaiting coroutine suspends; the first branch to be resumed wins. The
// winner (ready or resumed) at once cancels every other branch: its
// awaiter is destroyed (which unregisters it, by the wake rule of
// task_header.hpp, also when it was already woken), its frame destroyed,
// and its operand destroyed if the select owns it. Only then does the
// awaiting coroutine resume and take the winner's result (await_resume).
// All of it runs on the awaiting task's thread, so no state here is atomic.
//
// Lvalue branches are not cancelled, only left: a `task<T>&` keeps running
// in place (its continuation is set to a no-op; the next select that is
// given it resumes waiting for it), a `time::sleep_awaiter&` keeps its
// deadline (each round awaits a fresh sleep_until(deadline)). Other lvalue
// operands must make a fresh awaiter when awaited (a join_handle): that
// awaiter is destroyed, the operation itself is left alone.
//
// The pieces, one per header under runtime/detail/: select_op.hpp (a
// branch's operation), select_branch.hpp (the branch coroutine and the
// state the branches share), select_awaiter.hpp (the pass and the result);
// an lvalue sleep's rounds are time/detail/sleep_round.hpp.
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/select_awaiter.hpp>
#include <kyoto/runtime/detail/select_op.hpp>

#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kyoto {

/// Thrown by `co_await select(...)` when every branch is disabled (each is
/// a `when(false, ...)`): tokio's `else` branch. Catch it where tokio would
/// write `else => ...`.
///
/// Thread safety: an ordinary exception value. Cancel safety: n/a.
class KYOTO_EXPORT all_branches_disabled : public std::runtime_error {
 public:
  all_branches_disabled() : std::runtime_error("kyoto::select: every branch is disabled") {}
};

/// A select branch with a precondition (tokio's `, if cond`): made by
/// when(). A disabled branch is never awaited (its operand is still
/// destroyed with the select). Pass it straight to select().
///
/// Thread safety: used by one task. Cancel safety: that of the operand.
template <class A>
class when_branch {
 public:
  /// A branch over the operand `a`, taking part in the select if
  /// `enabled`. Made by when().
  when_branch(bool enabled, A&& a) : enabled_(enabled), operand_(static_cast<A&&>(a)) {}
  /// Moves the operand; pass the branch to select() straight away.
  when_branch(when_branch&&) = default;
  when_branch(const when_branch&) = delete;
  when_branch& operator=(const when_branch&) = delete;

  /// Whether the branch takes part in the select.
  bool enabled() const noexcept { return enabled_; }
  /// The operand (moved from by select()).
  A&& operand() noexcept { return static_cast<A&&>(operand_); }

 private:
  bool enabled_;
  A operand_;  // a value for an rvalue argument, a reference for an lvalue
};

/// Makes `a` a select branch only if `enabled` (tokio's `branch, if cond`).
/// An rvalue operand is moved into the branch; an lvalue is referred to.
template <class A>
  requires detail::awaitable<A>
[[nodiscard]] when_branch<A> when(bool enabled, A&& a) {
  return when_branch<A>(enabled, std::forward<A>(a));
}

namespace detail {
template <class A>
struct unwrap_when<when_branch<A>> {
  using type = A;
};

[[noreturn]] inline void throw_all_branches_disabled() {
  throw all_branches_disabled();
}
}  // namespace detail

/// Awaits every operation concurrently inside the calling task until the
/// first completes (tokio::select!); returns a std::variant holding its
/// value at its branch's index (void: std::monostate). Every other branch
/// is cancelled before select returns: rvalue operands are destroyed
/// (destructors run), lvalue operands are left alone with their progress
/// (a `task<T>&` keeps running, a `time::sleep_awaiter&` keeps its
/// deadline: tokio's `&mut fut`).
///
/// Branches are tried from a random offset (fairness; see select_biased for
/// argument order). A branch wrapped in `when(false, op)` is skipped; if
/// every branch is, select throws all_branches_disabled (tokio's `else`).
/// If the winning operation throws, the others are cancelled first and the
/// exception propagates. An lvalue task that wins is left empty.
///
/// Thread safety: awaited by one task; the branches run on that task's
/// thread, never in parallel. Cancel safety: cancelling the select cancels
/// every branch (rvalues destroyed, lvalues left as on losing); in a loop,
/// a branch's value is lost only if its operation is not cancel safe (see
/// each operation's documentation: mpsc recv() and notified() are; a
/// partial read is not).
template <class... A>
  requires(detail::select_operand<detail::select_arg_t<A>> && ...)
[[nodiscard]] detail::select_awaiter<false, detail::select_arg_t<A>...> select(A&&... a) {
  return detail::select_awaiter<false, detail::select_arg_t<A>...>(std::forward<A>(a)...);
}

/// select() trying the branches in argument order (tokio's `biased;`): the
/// first ready branch by position wins. Everything else as select().
///
/// Thread safety and cancel safety: as select().
template <class... A>
  requires(detail::select_operand<detail::select_arg_t<A>> && ...)
[[nodiscard]] detail::select_awaiter<true, detail::select_arg_t<A>...> select_biased(A&&... a) {
  return detail::select_awaiter<true, detail::select_arg_t<A>...>(std::forward<A>(a)...);
}

}  // namespace kyoto
