// kyoto::try_join: wait for several operations at once inside the calling
// task, stopping at the first failure (tokio::try_join!).
//
// Built on join's branches (detail/join_branch.hpp): each operation runs in
// a branch coroutine resumed by the awaiting task. A branch whose operation
// gives a result-shaped value (kyoto::result, or anything with value_type,
// error_type, has_value(), error() and operator*) that holds an error
// stores the error and finishes with `join_state::value_failed` set; its
// final_awaiter then cancels the other branches exactly as for an
// exception.
#pragma once

#include <kyoto/runtime/join.hpp>
#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/join_branch.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto {

namespace detail {

/// A value that is either a success or an error (kyoto::result,
/// std::expected): what try_join looks inside.
template <class R>
concept result_shaped = requires(R& r) {
  typename R::value_type;
  typename R::error_type;
  { r.has_value() } -> std::convertible_to<bool>;
  std::move(r).error();
};

/// What a branch contributes to try_join's tuple: a result-shaped branch its
/// value type, any other branch its value; void becomes std::monostate.
template <class R>
struct try_join_value {
  using type = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
};
template <class R>
  requires result_shaped<R>
struct try_join_value<R> {
  using type = std::conditional_t<std::is_void_v<typename R::value_type>, std::monostate,
                                  typename R::value_type>;
};
template <class R>
using try_join_value_t = typename try_join_value<R>::type;

/// Folds one branch result R into the error type found so far.
template <class Found, class R>
struct merge_try_join_error {
  using type = Found;
};
template <class Found, class R>
  requires result_shaped<R>
struct merge_try_join_error<Found, R> {
  static_assert(std::is_void_v<Found> || std::is_same_v<Found, typename R::error_type>,
                "kyoto::try_join: the branches' results have different error types");
  using type = typename R::error_type;
};

/// The common error type of the result-shaped branch results among R...,
/// or void if there is none.
template <class... R>
struct try_join_error {
  using type = void;
};
template <class R, class... Rest>
struct try_join_error<R, Rest...> {
  using type = typename merge_try_join_error<typename try_join_error<Rest...>::type, R>::type;
};

/// Stand-in for std::optional<void> when no branch can fail by value.
struct no_error_slot {};

template <class R>
try_join_value_t<R> take_try_join_value(result_storage<R>& r) {
  if constexpr (std::is_void_v<R>) {
    return std::monostate{};
  } else if constexpr (result_shaped<R>) {
    if constexpr (std::is_void_v<typename R::value_type>) {
      return std::monostate{};
    } else {
      R whole = r.take();
      return std::move(*whole);
    }
  } else {
    return r.take();
  }
}

/// A branch of try_join: as run_join_branch, but an error value stops the
/// join (it is stored in `err`).
template <class R, class A, class Slot>
join_branch run_try_join_branch(join_state* s, A a, result_storage<R>& out, Slot& err) {
  if constexpr (std::is_void_v<R>) {
    co_await static_cast<A&&>(a);
    out.set_value();
  } else {
    // Kept out of the set_value() call: no temporary spans the co_await.
    R value = co_await static_cast<A&&>(a);
    if constexpr (result_shaped<R>) {
      if (!value.has_value()) {
        // The first error stops the join, so no other branch gets here.
        err.emplace(std::move(value).error());
        s->value_failed = true;
        co_return;
      }
    }
    out.set_value(static_cast<R&&>(value));
  }
}

/// The awaiter of try_join(a, b, ...).
template <class... A>
class try_join_awaiter {
  using error_type = typename try_join_error<await_result_t<A>...>::type;
  using slot_type =
      std::optional<std::conditional_t<std::is_void_v<error_type>, no_error_slot, error_type>>;
  using values = std::tuple<try_join_value_t<await_result_t<A>>...>;

 public:
  template <class... U>
  explicit try_join_awaiter(U&&... a) : awaitables_(std::forward<U>(a)...) {}
  /// Movable until awaited (the branches exist only once it is).
  try_join_awaiter(try_join_awaiter&& o) noexcept(
      std::is_nothrow_move_constructible_v<std::tuple<A...>>)
      : awaitables_(std::move(o.awaitables_)) {
    assert(o.state_.remaining == 0 && !o.state_.parent_suspended);
  }
  try_join_awaiter(const try_join_awaiter&) = delete;
  try_join_awaiter& operator=(const try_join_awaiter&) = delete;

  bool await_ready() const noexcept { return sizeof...(A) == 0; }

  bool await_suspend(std::coroutine_handle<> parent) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((branches_[I] = run_try_join_branch<await_result_t<A>, A>(
            &state_, static_cast<A&&>(std::get<I>(awaitables_)), std::get<I>(results_), error_)),
       ...);
    }(std::index_sequence_for<A...>{});
    state_.branches = branches_;
    return start_join_branches(state_, parent);
  }

  auto await_resume() {
    if (state_.error) std::rethrow_exception(state_.error);
    if constexpr (std::is_void_v<error_type>) {
      return take_all();
    } else {
      using out = kyoto::result<values, error_type>;
      if (state_.stopped) return out(kyoto::unexpected<error_type>(std::move(error_).value()));
      return out(take_all());
    }
  }

 private:
  values take_all() {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return values(take_try_join_value(std::get<I>(results_))...);
    }(std::index_sequence_for<A...>{});
  }

  std::tuple<A...> awaitables_;
  std::tuple<result_storage<await_result_t<A>>...> results_;
  slot_type error_;
  std::array<join_branch, sizeof...(A)> branches_;
  join_state state_;
};

}  // namespace detail

/// Awaits every operation concurrently inside the calling task, stopping at
/// the first failure (tokio::try_join!).
///
/// A failure is an exception thrown by an operation, or an error value: an
/// operation whose result is result-shaped (kyoto::result<T, E>, e.g. a
/// channel send, or anything with has_value() and error()) and holds an
/// error. The first failure cancels every other branch (destroys it, as
/// join does) before try_join returns:
///
/// - if at least one operation gives a result-shaped value, every such
///   value must have the same error type E (checked at compile time), and
///   try_join gives `kyoto::result<std::tuple<V...>, E>`: the values (a
///   result-shaped branch contributes its value, others their result; void
///   becomes std::monostate) or the first error value;
/// - otherwise it gives `std::tuple<V...>`, as join does;
/// - an exception is rethrown, in both cases.
///
/// Arguments are passed as to join (rvalues moved in, lvalues awaited in
/// place and must make a fresh awaiter). Branches run interleaved on the
/// awaiting task's thread, never two at once.
///
/// Thread safety: awaited by one task. Cancel safety: cancelling the
/// try_join cancels every branch still running; each operation's own cancel
/// safety applies (a branch that already completed keeps its effect).
template <class... A>
  requires((detail::awaitable<A> && detail::join_operand<A>) && ...)
[[nodiscard]] detail::try_join_awaiter<A...> try_join(A&&... a) {
  return detail::try_join_awaiter<A...>(std::forward<A>(a)...);
}

}  // namespace kyoto
