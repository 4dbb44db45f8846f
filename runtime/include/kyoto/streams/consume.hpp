// kyoto::streams::{fold, collect, for_each, any, all}: tasks that consume a
// stream (tokio-stream's StreamExt::fold, collect, any, all; futures'
// for_each).
//
// Each takes its stream (and callable) by value and returns a lazy task.
// Cancel safety: destroying the task destroys the stream (and what was
// accumulated): not cancel safe in that sense, as in tokio, where dropping
// the future drops the accumulator.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/stream/async_stream.hpp>
#include <kyoto/streams/pipe.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::streams {

/// `f(f(f(init, a), b), c)...` over the items; the final accumulator.
template <async_stream S, class Acc, class F>
task<Acc> fold(S s, Acc init, F f) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return init;
    init = std::invoke(f, std::move(init), std::move(*v));
  }
}

/// Every item, added to a `C`: by push_back (a sequence), else insert (a
/// set or map), else `+=` (a std::string from strings); `std::vector` of
/// the item type by default.
template <class C = void, async_stream S>
auto collect(S s) -> task<std::conditional_t<std::is_void_v<C>, std::vector<stream_item_t<S>>, C>> {
  std::conditional_t<std::is_void_v<C>, std::vector<stream_item_t<S>>, C> out;
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return out;
    if constexpr (requires { out.push_back(std::move(*v)); }) {
      out.push_back(std::move(*v));
    } else if constexpr (requires { out.insert(std::move(*v)); }) {
      out.insert(std::move(*v));
    } else {
      out += std::move(*v);
    }
  }
}

/// Calls `f(item)` for every item; if `f` returns an awaitable (a task),
/// awaits it before the next item.
template <async_stream S, class F>
task<> for_each(S s, F f) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    using R = std::invoke_result_t<F&, stream_item_t<S>&&>;
    if constexpr (kyoto::detail::awaitable<R>) {
      auto op = std::invoke(f, std::move(*v));
      co_await std::move(op);
    } else {
      std::invoke(f, std::move(*v));
    }
  }
}

/// Whether some item satisfies `pred`; stops at the first that does.
template <async_stream S, class P>
task<bool> any(S s, P pred) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return false;
    const bool hit = std::invoke(pred, std::move(*v));
    if (hit) co_return true;
  }
}

/// Whether every item satisfies `pred`; stops at the first that does not.
template <async_stream S, class P>
task<bool> all(S s, P pred) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return true;
    const bool ok = std::invoke(pred, std::move(*v));
    if (!ok) co_return false;
  }
}

/// `s | fold(init, f)`.
template <class Acc, class F>
auto fold(Acc init, F f) {
  return adapter_closure([init = std::move(init), f = std::move(f)]<class S>(S s) mutable {
    return fold(std::move(s), std::move(init), std::move(f));
  });
}
/// `s | collect<C>()`.
template <class C = void>
auto collect() {
  return adapter_closure([]<class S>(S s) { return collect<C>(std::move(s)); });
}
/// `s | for_each(f)`.
template <class F>
auto for_each(F f) {
  return adapter_closure(
      [f = std::move(f)]<class S>(S s) mutable { return for_each(std::move(s), std::move(f)); });
}
/// `s | any(pred)`.
template <class P>
auto any(P pred) {
  return adapter_closure(
      [p = std::move(pred)]<class S>(S s) mutable { return any(std::move(s), std::move(p)); });
}
/// `s | all(pred)`.
template <class P>
auto all(P pred) {
  return adapter_closure(
      [p = std::move(pred)]<class S>(S s) mutable { return all(std::move(s), std::move(p)); });
}

}  // namespace kyoto::streams
