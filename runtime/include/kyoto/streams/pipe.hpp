// kyoto::streams' `|`: `s | streams::map(f)` is `streams::map(std::move(s), f)`.
#pragma once

#include <kyoto/stream/async_stream.hpp>

#include <type_traits>
#include <utility>

namespace kyoto::streams {

/// A partly applied adapter: what `streams::map(f)` (no stream) returns.
/// `std::move(s) | a` gives the adapted stream (or, for a consumer such as
/// fold, its task). Holds the callable and arguments by value.
///
/// Thread safety: a plain value. Cancel safety: n/a.
template <class Make>
class adapter_closure {
 public:
  /// Holds `make`, which builds the adapted stream from a stream.
  explicit adapter_closure(Make make) : make_(std::move(make)) {}

  /// Applies the adapter to `s`, which it takes over (an rvalue).
  template <async_stream S>
    requires(!std::is_lvalue_reference_v<S>)
  friend auto operator|(S&& s, adapter_closure a) {
    return std::move(a.make_)(std::forward<S>(s));
  }

 private:
  Make make_;
};

}  // namespace kyoto::streams
