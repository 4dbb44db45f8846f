// The read-only accessors that kyoto::bytes and kyoto::bytes_mut share
// (size, data, indexing, iteration, the span and string views, the Buf
// `remaining`/`chunk` pair and byte-wise comparison), written once and mixed
// in by CRTP. bytes_mut adds the writable overloads of data, operator[],
// begin, end and as_span beside these (with using-declarations, so both
// overload sets are visible).
#pragma once

#include <kyoto/bytes/detail/shared.hpp>

#include <compare>
#include <cstddef>
#include <span>
#include <string_view>

namespace kyoto::detail {

/// The const accessors of a contiguous byte window. `D` befriends this
/// class and has members `ptr_` (first byte) and `len_` (bytes in the
/// window), plus `static constexpr const char* buf_name` for error messages.
/// Thread safety: that of `D` (every member here only reads the window).
template <class D>
class byte_view_ops {
 public:
  /// Number of bytes in the window.
  [[nodiscard]] std::size_t size() const noexcept { return self().len_; }
  /// Number of bytes in the window (Rust's `len()`).
  [[nodiscard]] std::size_t len() const noexcept { return self().len_; }
  /// Whether the window holds no byte.
  [[nodiscard]] bool empty() const noexcept { return self().len_ == 0; }
  /// First byte (may be null when empty).
  [[nodiscard]] const std::byte* data() const noexcept { return self().ptr_; }
  /// Byte `i`; throws std::out_of_range if `i >= size()`.
  [[nodiscard]] std::byte operator[](std::size_t i) const {
    if (i >= size()) bytes_index_out_of_range(D::buf_name, i, size());
    return data()[i];
  }
  /// Iterator to the first byte.
  [[nodiscard]] const std::byte* begin() const noexcept { return data(); }
  /// End iterator.
  [[nodiscard]] const std::byte* end() const noexcept { return data() + size(); }
  /// The window as a span (valid while the buffer is neither grown nor
  /// dropped).
  [[nodiscard]] std::span<const std::byte> as_span() const noexcept { return {data(), size()}; }
  /// The window as characters.
  [[nodiscard]] std::string_view as_string_view() const noexcept {
    return {reinterpret_cast<const char*>(data()), size()};
  }
  /// The window as characters.
  explicit operator std::string_view() const noexcept { return as_string_view(); }

  // Buf: the bytes not yet consumed are the whole window.

  /// Bytes left to consume: size().
  [[nodiscard]] std::size_t remaining() const noexcept { return size(); }
  /// The bytes left to consume, as one span: as_span().
  [[nodiscard]] std::span<const std::byte> chunk() const noexcept { return as_span(); }

  /// Byte-wise equality.
  friend bool operator==(const D& a, const D& b) noexcept {
    return bytes_equal(a.as_span(), b.as_span());
  }
  /// Byte-wise equality with characters.
  friend bool operator==(const D& a, std::string_view b) noexcept {
    return bytes_equal(a.as_span(), std::as_bytes(std::span(b.data(), b.size())));
  }
  /// Byte-wise equality with a span (and so with a std::vector<std::byte>).
  friend bool operator==(const D& a, std::span<const std::byte> b) noexcept {
    return bytes_equal(a.as_span(), b);
  }
  /// Lexicographic order, bytes compared as unsigned.
  friend std::strong_ordering operator<=>(const D& a, const D& b) noexcept {
    return bytes_compare(a.as_span(), b.as_span());
  }
  /// Lexicographic order against characters.
  friend std::strong_ordering operator<=>(const D& a, std::string_view b) noexcept {
    return bytes_compare(a.as_span(), std::as_bytes(std::span(b.data(), b.size())));
  }
  /// Lexicographic order against a span.
  friend std::strong_ordering operator<=>(const D& a, std::span<const std::byte> b) noexcept {
    return bytes_compare(a.as_span(), b);
  }

 private:
  // Only D constructs its mixin (a CRTP base of the wrong class would not compile).
  byte_view_ops() = default;
  friend D;

  const D& self() const noexcept { return static_cast<const D&>(*this); }
};

}  // namespace kyoto::detail
