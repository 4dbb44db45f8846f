// kyoto::buf_chain: one buf that reads a first buf, then a second (Rust's
// `Buf::chain` / `bytes::buf::Chain`).
#pragma once

#include <kyoto/bytes/buf.hpp>
#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>

#include <kyoto/bytes/detail/buf_ops.hpp>
#include <kyoto/bytes/detail/shared.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

namespace kyoto {

/// A buf that reads all of `A`, then `B`: `remaining()` is the sum, `chunk()`
/// is the first one's while it has bytes, and the `get_*` accessors read
/// across the seam. Holds both by value, or by reference when made from
/// lvalues (`kyoto::buf_chain c(a, b)` reads `a` and `b` in place, as the
/// crate's `(&mut a).chain(&mut b)`; they must outlive the chain).
/// Thread safety: that of its parts; one chain is used by one thread at a
/// time.
template <class A, class B>
  requires buf<std::remove_reference_t<A>> && buf<std::remove_reference_t<B>>
class buf_chain : public detail::buf_get<buf_chain<A, B>> {
 public:
  /// Name used in error messages.
  static constexpr const char* buf_name = "kyoto::buf_chain";

  /// A chain reading `first`, then `last` (moved in, or referred to when
  /// lvalues).
  template <class FA, class FB>
  buf_chain(FA&& first, FB&& last)
      : first_(std::forward<FA>(first)), last_(std::forward<FB>(last)) {}

  /// The first buf.
  [[nodiscard]] std::remove_reference_t<A>& first_ref() noexcept { return first_; }
  /// The second buf.
  [[nodiscard]] std::remove_reference_t<B>& last_ref() noexcept { return last_; }

  /// Bytes left in both.
  [[nodiscard]] std::size_t remaining() const noexcept {
    return first_.remaining() + last_.remaining();
  }
  /// The first buf's chunk while it has bytes, then the second's.
  [[nodiscard]] std::span<const std::byte> chunk() const noexcept {
    return first_.has_remaining() ? std::span<const std::byte>(first_.chunk())
                                  : std::span<const std::byte>(last_.chunk());
  }
  /// Consumes `n` bytes, from the first buf and then the second. Throws
  /// std::out_of_range if n > remaining() (and consumes nothing).
  void advance(std::size_t n) {
    if (n > remaining())
      detail::bytes_out_of_range(buf_name, "advance", n, "remaining", remaining());
    const std::size_t from_first = std::min(n, first_.remaining());
    first_.advance(from_first);
    last_.advance(n - from_first);
  }
  /// The next `n` bytes as a kyoto::bytes: shared without copying when they
  /// lie in one part that shares (a bytes or bytes_mut), else copied.
  /// Throws std::out_of_range if n > remaining().
  [[nodiscard]] bytes copy_to_bytes(std::size_t n) {
    if (n > remaining()) {
      detail::bytes_out_of_range(buf_name, "copy_to_bytes", n, "remaining", remaining());
    }
    const std::size_t in_first = first_.remaining();
    if (in_first >= n) return first_.copy_to_bytes(n);
    if (in_first == 0) return last_.copy_to_bytes(n);
    bytes_mut out = bytes_mut::with_capacity(n);
    out.resize(n);
    this->copy_to_slice(out.as_span());
    return std::move(out).freeze();
  }

 private:
  /// Read first.
  A first_;
  /// Read once the first is empty.
  B last_;
};

/// Deduces values from rvalues and references from lvalues.
template <class FA, class FB>
buf_chain(FA&&, FB&&) -> buf_chain<FA, FB>;

}  // namespace kyoto
