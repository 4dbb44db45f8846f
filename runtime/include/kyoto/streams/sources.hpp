// kyoto::streams::{iter, once, empty, pending}: streams made from values
// (tokio-stream's stream::iter, once, empty, pending).
#pragma once

#include <kyoto/runtime/yield_now.hpp>
#include <kyoto/stream.hpp>

#include <kyoto/runtime/detail/coop.hpp>

#include <coroutine>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>

namespace kyoto::streams {

/// The items of `range` (taken by value: a container is moved in), in
/// order. Each item spends one unit of the cooperative budget; once it is
/// spent, the stream yields the task first (as tokio's iter), so a loop
/// over an endless range does not starve the thread. Cancel safe.
template <std::ranges::input_range R>
stream<std::ranges::range_value_t<std::remove_cvref_t<R>>> iter(R range) {
  for (auto&& v : range) {
    if (!kyoto::detail::coop_proceed()) co_await kyoto::yield_now();
    co_yield std::move(v);
  }
}

/// One item, then the end. Cancel safe.
template <class T>
stream<std::decay_t<T>> once(T value) {
  co_yield std::move(value);
}

/// No item: the first next() gives nullopt. Cancel safe.
template <class T>
stream<T> empty() {
  co_return;
}

/// Never yields and never ends: every next() waits until cancelled (a
/// select branch that never wins, a timeout that always elapses). Cancel
/// safe.
template <class T>
stream<T> pending() {
  co_await std::suspend_always{};  // nothing ever wakes it; destroyed with the stream
}

}  // namespace kyoto::streams
