// kyoto::streams::{chain, merge}: two streams into one (tokio-stream's
// StreamExt::chain and merge).
#pragma once

#include <kyoto/runtime/select.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/stream/async_stream.hpp>
#include <kyoto/streams/pipe.hpp>

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto::streams {

/// The items of `a`, then those of `b` (which is not polled before `a`
/// ends). Cancel safe, whatever its inputs (see transform.hpp).
template <async_stream A, async_stream B>
  requires std::same_as<stream_item_t<A>, stream_item_t<B>>
stream<stream_item_t<A>> chain(A a, B b) {
  for (;;) {
    std::optional<stream_item_t<A>> v = co_await a.next();
    if (!v) break;
    co_yield std::move(*v);
  }
  for (;;) {
    std::optional<stream_item_t<A>> v = co_await b.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

/// The items of `a` and `b` as they come, until both end. Fair: when both
/// have an item ready, they take turns (tokio's Merge alternates which it
/// polls first).
///
/// Cancel safety: a cancelled next() on the merge is always safe (the
/// merge's body stays where it was). Inside, each round awaits
/// `a.next()` and `b.next()` in a select and cancels the loser's next():
/// so the inputs' next() must be cancel safe — every kyoto::stream, every
/// adapter and every wrapper of kyoto::streams is.
template <async_stream A, async_stream B>
  requires std::same_as<stream_item_t<A>, stream_item_t<B>>
stream<stream_item_t<A>> merge(A a, B b) {
  using T = stream_item_t<A>;
  bool a_done = false;
  bool b_done = false;
  bool a_first = true;
  while (!a_done || !b_done) {
    std::optional<T> v;
    if (a_done) {
      v = co_await b.next();
      if (!v) b_done = true;
    } else if (b_done) {
      v = co_await a.next();
      if (!v) a_done = true;
    } else if (a_first) {
      auto r = co_await kyoto::select_biased(a.next(), b.next());
      a_first = false;
      if (r.index() == 0) {
        v = std::move(std::get<0>(r));
        if (!v) a_done = true;
      } else {
        v = std::move(std::get<1>(r));
        if (!v) b_done = true;
      }
    } else {
      auto r = co_await kyoto::select_biased(b.next(), a.next());
      a_first = true;
      if (r.index() == 0) {
        v = std::move(std::get<0>(r));
        if (!v) b_done = true;
      } else {
        v = std::move(std::get<1>(r));
        if (!v) a_done = true;
      }
    }
    if (v) co_yield std::move(*v);
  }
}

/// `a | chain(std::move(b))`.
template <async_stream B>
auto chain(B b) {
  return adapter_closure(
      [b = std::move(b)]<class A>(A a) mutable { return chain(std::move(a), std::move(b)); });
}

/// `a | merge(std::move(b))`.
template <async_stream B>
auto merge(B b) {
  return adapter_closure(
      [b = std::move(b)]<class A>(A a) mutable { return merge(std::move(a), std::move(b)); });
}

}  // namespace kyoto::streams
