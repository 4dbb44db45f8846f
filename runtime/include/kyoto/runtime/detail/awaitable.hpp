// Concepts and helpers for "anything that can be co_awaited".
//
// # The awaiter contract: await_ready() may leave a lock held
//
// kyoto's awaiters follow the language's protocol, with one extra rule
// that every code driving an awaiter by hand must honour. An awaiter whose
// check needs the primitive's lock (a bounded mpsc send or recv, a
// semaphore acquire, a oneshot, broadcast or watch receive: about a dozen
// awaiters under sync/) takes the lock in await_ready() and, when the
// operation cannot complete at once, returns false *with the lock still
// held*; await_suspend() then registers the waiter and releases it. Checking
// and registering under one lock hold is what makes a wake impossible to
// miss, and it saves a second lock round trip on the slow path.
//
// What this requires of the awaiter:
//  - await_ready() that returns true, or throws, holds nothing;
//  - await_suspend() releases the lock on every path: when it suspends,
//    when it returns false or another coroutine to resume, and when it
//    throws (detail::unlock_guard in mutex.hpp does that).
//
// What this requires of whoever drives the awaiter (the compiler's
// co_await does all of it; select and join must too):
//  - after await_ready() returned false, call await_suspend() on the same
//    awaiter, on the same thread, before doing anything else that may
//    throw, block, take another primitive's lock or await: no other
//    awaiter's await_ready() in between, no allocation that may throw;
//  - never destroy, move or drop the awaiter between the two calls (its
//    destructor does not know about the held lock);
//  - never call await_ready() again before await_suspend().
// An awaiter is movable only until await_ready() is called; after
// await_suspend() it may be destroyed at any suspension (cancellation),
// which unregisters it under the same lock (the wake rule,
// task_header.hpp).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/await_point.hpp>  // get_awaiter

#include <coroutine>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

template <class A>
concept is_awaiter = requires(A& a, std::coroutine_handle<> h) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_resume();
};

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

/// The type of `co_await std::declval<A>()`.
template <class A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

/// Something `co_await` accepts (in a kyoto task). Its awaiter follows the
/// contract in the file comment: an await_ready() that returns false may
/// hold a lock that only the await_suspend() that must follow releases.
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
    return task<R>(std::forward<A>(a));
  } else if constexpr (std::is_lvalue_reference_v<A> ||
                       !std::is_move_constructible_v<std::remove_cvref_t<A>>) {
    return await_in_task<R, A&&>(static_cast<A&&>(a));
  } else {
    return await_in_task<R, A>(static_cast<A&&>(a));
  }
}

}  // namespace kyoto::detail
