// kyoto::buf_take: a buf that reads at most `limit` bytes of another (Rust's
// `Buf::take` / `bytes::buf::Take`).
#pragma once

#include <kyoto/bytes/buf.hpp>
#include <kyoto/bytes/bytes.hpp>

#include <kyoto/bytes/detail/buf_ops.hpp>
#include <kyoto/bytes/detail/shared.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

namespace kyoto {

/// A buf over the first `limit` bytes of `B`: reading it consumes the inner
/// buf, and it ends after `limit` bytes (or when the inner one does). Holds
/// the inner buf by value, or by reference when made from an lvalue (then
/// reading consumes that buf in place; it must outlive the take).
/// Thread safety: that of the inner buf; one take is used by one thread at
/// a time.
template <class B>
  requires buf<std::remove_reference_t<B>>
class buf_take : public detail::buf_get<buf_take<B>> {
 public:
  /// Name used in error messages.
  static constexpr const char* buf_name = "kyoto::buf_take";

  /// Reads at most `limit` bytes of `inner` (moved in, or referred to when
  /// an lvalue).
  template <class FB>
  buf_take(FB&& inner, std::size_t limit) : inner_(std::forward<FB>(inner)), limit_(limit) {}

  /// The inner buf.
  [[nodiscard]] std::remove_reference_t<B>& get_ref() noexcept { return inner_; }
  /// How many more bytes this take may read.
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// Sets how many more bytes this take may read.
  void set_limit(std::size_t limit) noexcept { limit_ = limit; }

  /// min(inner remaining, limit).
  [[nodiscard]] std::size_t remaining() const noexcept {
    return std::min(inner_.remaining(), limit_);
  }
  /// The inner chunk, cut at the limit.
  [[nodiscard]] std::span<const std::byte> chunk() const noexcept {
    const std::span<const std::byte> c = inner_.chunk();
    return c.first(std::min(c.size(), limit_));
  }
  /// Consumes `n` bytes of the inner buf. Throws std::out_of_range if
  /// n > remaining().
  void advance(std::size_t n) {
    if (n > remaining())
      detail::bytes_out_of_range(buf_name, "advance", n, "remaining", remaining());
    inner_.advance(n);
    limit_ -= n;
  }
  /// The inner buf's copy_to_bytes(n) (which shares when it can). Throws
  /// std::out_of_range if n > remaining().
  [[nodiscard]] bytes copy_to_bytes(std::size_t n) {
    if (n > remaining()) {
      detail::bytes_out_of_range(buf_name, "copy_to_bytes", n, "remaining", remaining());
    }
    bytes b = inner_.copy_to_bytes(n);
    limit_ -= n;
    return b;
  }

 private:
  /// The buf read from.
  B inner_;
  /// Bytes this take may still read.
  std::size_t limit_;
};

/// Deduces a value from an rvalue and a reference from an lvalue.
template <class FB>
buf_take(FB&&, std::size_t) -> buf_take<FB>;

}  // namespace kyoto
