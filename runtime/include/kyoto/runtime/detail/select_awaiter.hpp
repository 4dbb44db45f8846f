// The awaiter of select(...) / select_biased(...): holds every branch's
// operation (select_op) and branch coroutine (select_branch), makes the
// start pass in await_ready and takes the winner's result. See the file
// comment of select.hpp for the protocol.
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/select_branch.hpp>
#include <kyoto/runtime/detail/select_op.hpp>

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto::detail {

/// The operand of a select argument: the argument itself, or the operand
/// of a when() branch (select.hpp specialises this for when_branch).
template <class A>
struct unwrap_when {
  using type = A;
};
/// The operand type of a select argument (when_branch unwrapped).
template <class A>
using select_operand_t = typename unwrap_when<std::remove_cvref_t<A>>::type;
/// Whether a select argument is a when() branch.
template <class A>
inline constexpr bool is_when_v = !std::is_same_v<select_operand_t<A>, std::remove_cvref_t<A>>;
/// The operation type select holds for an argument of type A.
template <class A>
using select_arg_t = std::conditional_t<is_when_v<A>, select_operand_t<A>, A>;

/// A select's value for one branch: the awaited type, or std::monostate.
template <class A>
using select_value_t =
    std::conditional_t<std::is_void_v<await_result_t<A>>, std::monostate, await_result_t<A>>;

/// Throws kyoto::all_branches_disabled; defined next to it in select.hpp
/// (the only way to make a select_awaiter).
[[noreturn]] inline void throw_all_branches_disabled();

/// The awaiter of select(a, b, ...) / select_biased(...).
template <bool Biased, class... A>
class select_awaiter {
  static constexpr std::size_t n = sizeof...(A);
  static_assert(n > 0 && n <= 64, "kyoto::select takes 1 to 64 branches");
  using ops_type = std::tuple<select_op<A>...>;

 public:
  using result_type = std::variant<select_value_t<A>...>;

  template <class... U>
  explicit select_awaiter(U&&... u) : ops_(make_op<A>(std::forward<U>(u))...) {}
  /// Movable until awaited.
  select_awaiter(select_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<ops_type>)
      : ops_(std::move(o.ops_)) {
    assert(o.state_.winner == select_state::none && !o.state_.parent_suspended);
  }
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;

  /// The start pass (see select.hpp). A branch whose await_ready() returns
  /// false is started (its await_suspend() called) before any other branch
  /// is asked: await_ready() may return false holding a lock that
  /// await_suspend() releases — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready() {
    state_.self = this;
    state_.cancel_losers = &cancel_losers_of;
    std::size_t start = 0;
    if constexpr (!Biased && n > 1) {
      start = thread_rand().next_below(static_cast<std::uint32_t>(n));
    }
    bool any = false;
    std::uint64_t deferred = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = start + k < n ? start + k : start + k - n;
      const bool done = visit(i, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        auto& op = std::get<I>(ops_);
        if (!op.enabled()) return false;
        any = true;
        if (op.ready()) return win_ready(I);
        if (op.deferred()) {
          deferred |= std::uint64_t{1} << I;
          return false;
        }
        return start_branch<I>();
      });
      if (done) return true;
    }
    for (std::size_t k = 0; deferred != 0 && k < n; ++k) {
      const std::size_t i = start + k < n ? start + k : start + k - n;
      if ((deferred >> i & 1) == 0) continue;
      if (visit(i, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            return start_branch<I>();
          }))
        return true;
    }
    if (!any) all_disabled_ = true;
    return !any;
  }

  void await_suspend(std::coroutine_handle<> parent) noexcept {
    state_.parent = parent;
    state_.parent_suspended = true;
  }

  result_type await_resume() {
    if (all_disabled_) throw_all_branches_disabled();
    if (state_.error) std::rethrow_exception(state_.error);
    return take<0>();
  }

 private:
  template <class Arg, class U>
  static select_op<Arg> make_op(U&& u) {
    if constexpr (is_when_v<U>) {
      const bool enabled = u.enabled();
      return select_op<Arg>(enabled, u.operand());
    } else {
      return select_op<Arg>(true, std::forward<U>(u));
    }
  }

  template <class F>
  static bool visit(std::size_t i, F&& f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      bool r = false;
      (void)((i == I && ((r = f(std::integral_constant<std::size_t, I>{})), true)) || ...);
      return r;
    }(std::index_sequence_for<A...>{});
  }

  bool win_ready(std::size_t i) noexcept {
    state_.winner = i;
    cancel_losers_of(this, i);
    return true;
  }

  /// Starts branch I; true if the select is over (it or an earlier-started
  /// branch won meanwhile: only it can, as nothing else runs).
  template <std::size_t I>
  bool start_branch() {
    branches_[I] = run_select_branch(&state_, I, std::get<I>(ops_));
    branches_[I].start();
    return state_.winner != select_state::none;
  }

  static void cancel_losers_of(void* self, std::size_t winner) noexcept {
    auto& s = *static_cast<select_awaiter*>(self);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (s.template cancel_one<I>(winner), ...);
    }(std::index_sequence_for<A...>{});
  }

  template <std::size_t I>
  void cancel_one(std::size_t winner) noexcept {
    if (I == winner) return;
    std::get<I>(ops_).cancel();
    branches_[I].reset();
  }

  template <std::size_t I>
  result_type take() {
    if constexpr (I + 1 < n) {
      if (state_.winner != I) return take<I + 1>();
    }
    auto& op = std::get<I>(ops_);
    if constexpr (std::is_void_v<typename select_op_t<I>::result_type>) {
      op.resume();
      return result_type(std::in_place_index<I>);
    } else {
      return result_type(std::in_place_index<I>, op.resume());
    }
  }
  template <std::size_t I>
  using select_op_t = std::tuple_element_t<I, ops_type>;

  ops_type ops_;
  std::array<select_branch, n> branches_;  // destroyed before ops_
  select_state state_;
  bool all_disabled_ = false;
};

}  // namespace kyoto::detail
