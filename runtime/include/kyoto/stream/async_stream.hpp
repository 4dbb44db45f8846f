// kyoto::async_stream: what every stream is (tokio's Stream trait).
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>

#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

template <class O>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

/// What `co_await s.next()` gives for a stream `S`.
template <class S>
using next_result_t = await_result_t<decltype(std::declval<S&>().next())>;

}  // namespace detail

/// A stream of items: anything whose `next()` returns an awaitable giving
/// `std::optional<T>` — an item, or nullopt at the end. `kyoto::stream<T>`,
/// every adapter of `kyoto::streams` and every wrapper
/// (`streams::receiver_stream`, ...) is one.
///
/// Thread safety and cancel safety are the model's; kyoto's own streams
/// say theirs (docs/streams.md has the table).
template <class S>
concept async_stream =
    requires(S& s) { s.next(); } && detail::awaitable<decltype(std::declval<S&>().next())> &&
    detail::is_optional_v<detail::next_result_t<S>>;

/// The item type of a stream: `T` for a `next()` giving `std::optional<T>`.
template <async_stream S>
using stream_item_t = typename detail::next_result_t<S>::value_type;

}  // namespace kyoto
