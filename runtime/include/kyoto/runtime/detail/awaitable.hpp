// Concepts and helpers for "anything that can be co_awaited".
#pragma once

#include <kyoto/runtime/task.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };

template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

template <class A>
concept is_awaiter = requires(A& a, std::coroutine_handle<> h) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_resume();
};

/// The awaiter `co_await a` would use.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

/// The type of `co_await std::declval<A>()`.
template <class A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

/// Something `co_await` accepts (in a kyoto task).
template <class A>
concept awaitable = is_awaiter<std::remove_reference_t<awaiter_t<A>>>;

/// A task that awaits `a` (held by value, or by reference for an lvalue)
/// and returns its result.
template <class R, class A>
task<R> await_in_task(A a) {
  if constexpr (std::is_void_v<R>) {
    co_await static_cast<A&&>(a);
  } else {
    co_return co_await static_cast<A&&>(a);
  }
}

/// The awaitable as a task<R> for block_on: itself if it already is one;
/// an lvalue or an awaiter that cannot move is awaited in place (block_on
/// does not return before the task ends, and the caller's argument lives
/// until then); a movable rvalue is moved into the task.
template <class A>
auto as_task_for_block_on(A&& a) {
  using R = await_result_t<A>;
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, task<R>> && !std::is_lvalue_reference_v<A>) {
    return task<R>(std::move(a));
  } else if constexpr (std::is_lvalue_reference_v<A> ||
                       !std::is_move_constructible_v<std::remove_cvref_t<A>>) {
    return await_in_task<R, A&&>(static_cast<A&&>(a));
  } else {
    return await_in_task<R, A>(static_cast<A&&>(a));
  }
}

}  // namespace kyoto::detail
