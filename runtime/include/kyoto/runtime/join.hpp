// kyoto::join and kyoto::join_all: wait for several operations at once,
// inside the calling task.
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/join_branch.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace kyoto {

namespace detail {

/// A join's value for one branch: the awaited type, or std::monostate for
/// void.
template <class A>
using join_value_t =
    std::conditional_t<std::is_void_v<await_result_t<A>>, std::monostate, await_result_t<A>>;

template <class R>
auto take_join_value(result_storage<R>& r) {
  if constexpr (std::is_void_v<R>) {
    return std::monostate{};
  } else {
    return r.take();
  }
}

/// The awaiter of join(a, b, ...). Holds the operations (by value, or by
/// reference for lvalue arguments), their results and the branch frames.
template <class... A>
class join_awaiter {
 public:
  template <class... U>
  explicit join_awaiter(U&&... a) : awaitables_(std::forward<U>(a)...) {}
  /// Movable until awaited (the branches exist only once it is).
  join_awaiter(join_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<std::tuple<A...>>)
      : awaitables_(std::move(o.awaitables_)) {
    assert(o.state_.remaining == 0 && !o.state_.parent_suspended);
  }
  join_awaiter(const join_awaiter&) = delete;
  join_awaiter& operator=(const join_awaiter&) = delete;

  bool await_ready() const noexcept { return sizeof...(A) == 0; }

  bool await_suspend(std::coroutine_handle<> parent) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((branches_[I] = run_join_branch<await_result_t<A>, A>(
            &state_, static_cast<A&&>(std::get<I>(awaitables_)), std::get<I>(results_))),
       ...);
    }(std::index_sequence_for<A...>{});
    state_.branches = branches_;
    return start_join_branches(state_, parent);
  }

  std::tuple<join_value_t<A>...> await_resume() {
    if (state_.error) std::rethrow_exception(state_.error);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::tuple<join_value_t<A>...>(take_join_value(std::get<I>(results_))...);
    }(std::index_sequence_for<A...>{});
  }

 private:
  std::tuple<A...> awaitables_;
  std::tuple<result_storage<await_result_t<A>>...> results_;
  std::array<join_branch, sizeof...(A)> branches_;
  join_state state_;
};

/// The awaiter of join_all(range).
template <class A, bool Owned>
class join_all_awaiter {
  using element = std::conditional_t<Owned, A, A*>;
  using R = await_result_t<A>;

 public:
  explicit join_all_awaiter(std::vector<element> items)
      : items_(std::move(items)),
        results_(std::make_unique<result_storage<R>[]>(items_.size())),
        branches_(items_.size()) {}
  /// Movable until awaited.
  join_all_awaiter(join_all_awaiter&& o) noexcept
      : items_(std::move(o.items_)),
        results_(std::move(o.results_)),
        branches_(std::move(o.branches_)) {
    assert(!o.state_.parent_suspended);
  }
  join_all_awaiter(const join_all_awaiter&) = delete;
  join_all_awaiter& operator=(const join_all_awaiter&) = delete;

  bool await_ready() const noexcept { return items_.empty(); }

  bool await_suspend(std::coroutine_handle<> parent) {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if constexpr (Owned) {
        branches_[i] = run_join_branch<R, A>(&state_, std::move(items_[i]), results_[i]);
      } else {
        branches_[i] = run_join_branch<R, A&>(&state_, *items_[i], results_[i]);
      }
    }
    state_.branches = branches_;
    return start_join_branches(state_, parent);
  }

  auto await_resume() {
    if (state_.error) std::rethrow_exception(state_.error);
    if constexpr (std::is_void_v<R>) {
      return;
    } else {
      std::vector<R> out;
      out.reserve(items_.size());
      for (std::size_t i = 0; i < items_.size(); ++i)
        out.push_back(results_[i].take());
      return out;
    }
  }

 private:
  std::vector<element> items_;
  std::unique_ptr<result_storage<R>[]> results_;
  std::vector<join_branch> branches_;
  join_state state_;
};

}  // namespace detail

/// Awaits every operation concurrently inside the calling task and returns
/// their results as a tuple, in argument order (tokio::join!). A branch
/// producing void gives std::monostate.
///
/// The operations run interleaved on the awaiting task's thread: while one
/// waits, the others run; never two at once. Arguments are awaitables
/// (tasks, join_handles, sleeps, channel operations, ...): rvalues are moved
/// into the join; lvalues are awaited in place and must make a fresh awaiter
/// when awaited (a task, a join_handle, a oneshot receiver — not a bare
/// sleep or send, which must be passed as rvalues; this is checked at
/// compile time). If a branch throws, the others are cancelled and the
/// exception is rethrown.
///
/// Thread safety: awaited by one task; its branches run on that task's
/// thread. Cancel safety: cancelling the join cancels every branch still
/// running (an lvalue task awaited by a cancelled branch is cancelled and
/// left empty); each operation's own cancel safety applies.
template <class... A>
  requires((detail::awaitable<A> && detail::join_operand<A>) && ...)
[[nodiscard]] detail::join_awaiter<A...> join(A&&... a) {
  return detail::join_awaiter<A...>(std::forward<A>(a)...);
}

/// Awaits every element of `range` concurrently inside the calling task and
/// returns their results in input order as a std::vector (void elements:
/// returns void). An rvalue range's elements are moved into the join; an
/// lvalue range's elements are awaited in place (the range must outlive the
/// await). Failure and cancellation as join().
template <std::ranges::input_range Range>
  requires detail::awaitable<std::ranges::range_value_t<Range>> &&
           detail::join_operand<std::conditional_t<std::is_lvalue_reference_v<Range>,
                                                   std::ranges::range_value_t<Range>&,
                                                   std::ranges::range_value_t<Range>>>
[[nodiscard]] auto join_all(Range&& range) {
  using A = std::ranges::range_value_t<Range>;
  if constexpr (std::is_lvalue_reference_v<Range>) {
    std::vector<A*> items;
    if constexpr (std::ranges::sized_range<Range>) items.reserve(std::ranges::size(range));
    for (auto& x : range)
      items.push_back(std::addressof(x));
    return detail::join_all_awaiter<A, false>(std::move(items));
  } else {
    std::vector<A> items;
    if constexpr (std::ranges::sized_range<Range>) items.reserve(std::ranges::size(range));
    for (auto& x : range)
      items.push_back(std::move(x));
    return detail::join_all_awaiter<A, true>(std::move(items));
  }
}

}  // namespace kyoto
