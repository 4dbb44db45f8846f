// kyoto::streams' one-input adapters: map, filter, filter_map, then, take,
// take_while, skip, skip_while, fuse (tokio-stream's StreamExt).
//
// Each adapter owns its input stream and its callable, so nothing can
// dangle. map, filter and filter_map are plain objects whose next() drives
// the input's next() directly (detail/fused.hpp): no coroutine frame per
// item, and their cancel safety is their input's (a cancelled next()
// cancels the input's next(), which for every kyoto stream and wrapper
// loses nothing). The others are kyoto::streams whose body holds the input
// and the callable; they are cancel safe whatever their input: a next()
// on the adapter that is cancelled leaves the adapter's body suspended in
// its input's next(), which is therefore never cancelled by it (see
// kyoto/stream.hpp). The callables run on the consumer's thread, inside
// its next().
#pragma once

#include <kyoto/stream.hpp>
#include <kyoto/stream/async_stream.hpp>
#include <kyoto/streams/pipe.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/streams/detail/fused.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::streams {

namespace detail {

template <class F, class T>
using map_result_t = std::decay_t<std::invoke_result_t<F&, T&&>>;

}  // namespace detail

/// `f(item)` for every item of `s`. A plain object, not a coroutine
/// (detail/fused.hpp): an item that is ready costs one call of `f`. Over
/// another map, filter or filter_map it joins that adapter's object, so a
/// chain of them is one awaiter over the input.
template <async_stream S, class F>
auto map(S s, F f) {
  return kyoto::detail::make_fused(std::move(s),
                                   kyoto::detail::map_stage<F, stream_item_t<S>>{std::move(f)});
}

/// The items of `s` for which `pred(const item&)` is true. A plain object,
/// as map.
template <async_stream S, class P>
auto filter(S s, P pred) {
  return kyoto::detail::make_fused(
      std::move(s), kyoto::detail::filter_stage<P, stream_item_t<S>>{std::move(pred)});
}

/// The values of `f(item)` (a `std::optional`) that are not empty. A plain
/// object, as map.
template <async_stream S, class F>
auto filter_map(S s, F f) {
  return kyoto::detail::make_fused(
      std::move(s), kyoto::detail::filter_map_stage<F, stream_item_t<S>>{std::move(f)});
}

/// What `co_await f(item)` gives, for every item (an async map). `f`
/// returns an awaitable (typically a task); it is awaited inside the
/// adapter's body, so cancelling a next() does not cancel it.
template <async_stream S, class F>
stream<std::decay_t<kyoto::detail::await_result_t<std::invoke_result_t<F&, stream_item_t<S>&&>>>>
then(S s, F f) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    auto op = std::invoke(f, std::move(*v));
    auto out = co_await std::move(op);
    co_yield std::move(out);
  }
}

/// The first `n` items of `s`; `s` is not polled after the n-th.
template <async_stream S>
stream<stream_item_t<S>> take(S s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

/// The items of `s` while `pred(const item&)` holds; ends at (and drops)
/// the first item for which it does not.
template <async_stream S, class P>
stream<stream_item_t<S>> take_while(S s, P pred) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    const bool keep = std::invoke(pred, std::as_const(*v));
    if (!keep) co_return;
    co_yield std::move(*v);
  }
}

/// The items of `s` after the first `n`.
template <async_stream S>
stream<stream_item_t<S>> skip(S s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
  }
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

/// The items of `s` from the first for which `pred(const item&)` is false.
template <async_stream S, class P>
stream<stream_item_t<S>> skip_while(S s, P pred) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    const bool skipping = std::invoke(pred, std::as_const(*v));
    if (!skipping) {
      co_yield std::move(*v);
      break;
    }
  }
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

/// `s`, never polled again after its first nullopt (every kyoto::stream is
/// already fused; this makes any async_stream so).
template <async_stream S>
stream<stream_item_t<S>> fuse(S s) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

// ---- the `|` forms: streams::map(f) etc. ----

/// `s | map(f)`.
template <class F>
auto map(F f) {
  return adapter_closure(
      [f = std::move(f)]<class S>(S s) mutable { return map(std::move(s), std::move(f)); });
}
/// `s | filter(pred)`.
template <class P>
auto filter(P pred) {
  return adapter_closure(
      [p = std::move(pred)]<class S>(S s) mutable { return filter(std::move(s), std::move(p)); });
}
/// `s | filter_map(f)`.
template <class F>
auto filter_map(F f) {
  return adapter_closure(
      [f = std::move(f)]<class S>(S s) mutable { return filter_map(std::move(s), std::move(f)); });
}
/// `s | then(f)`.
template <class F>
auto then(F f) {
  return adapter_closure(
      [f = std::move(f)]<class S>(S s) mutable { return then(std::move(s), std::move(f)); });
}
/// `s | take(n)`.
inline auto take(std::size_t n) {
  return adapter_closure([n]<class S>(S s) { return take(std::move(s), n); });
}
/// `s | take_while(pred)`.
template <class P>
auto take_while(P pred) {
  return adapter_closure([p = std::move(pred)]<class S>(S s) mutable {
    return take_while(std::move(s), std::move(p));
  });
}
/// `s | skip(n)`.
inline auto skip(std::size_t n) {
  return adapter_closure([n]<class S>(S s) { return skip(std::move(s), n); });
}
/// `s | skip_while(pred)`.
template <class P>
auto skip_while(P pred) {
  return adapter_closure([p = std::move(pred)]<class S>(S s) mutable {
    return skip_while(std::move(s), std::move(p));
  });
}
/// `s | fuse()`.
inline auto fuse() {
  return adapter_closure([]<class S>(S s) { return fuse(std::move(s)); });
}

}  // namespace kyoto::streams
