// kyoto::buf and kyoto::buf_mut: what a readable and a writable byte buffer
// offer (Rust's `Buf` and `BufMut` traits), and kyoto::byte_cursor, a buf
// over borrowed bytes (Rust's `impl Buf for &[u8]`).
//
// kyoto::bytes, kyoto::bytes_mut and kyoto::byte_cursor are bufs, with the
// same get_* accessors; kyoto::bytes_mut is a buf_mut, with the put_*
// accessors. Code generic over a buf (a frame decoder, say) names the
// concept.
#pragma once

#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>

#include <kyoto/bytes/detail/buf_ops.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace kyoto {

/// A readable buffer consumed from the front: `remaining()` bytes are left,
/// `chunk()` is the next contiguous run of them (non-empty while any
/// remain), `advance(n)` consumes n, and the big- and little-endian `get_*`
/// accessors read and consume fixed-size values.
template <class B>
concept buf = requires(B& b, const B& cb, std::size_t n) {
  { cb.remaining() } -> std::same_as<std::size_t>;
  { cb.has_remaining() } -> std::same_as<bool>;
  { cb.chunk() } -> std::convertible_to<std::span<const std::byte>>;
  b.advance(n);
  { b.get_u8() } -> std::same_as<std::uint8_t>;
  { b.get_u32() } -> std::same_as<std::uint32_t>;
  { b.get_u64_le() } -> std::same_as<std::uint64_t>;
  { b.copy_to_bytes(n) } -> std::same_as<bytes>;
};

/// A writable buffer appended to at the end: `put_slice` appends bytes and
/// the `put_*` accessors append fixed-size values.
template <class B>
concept buf_mut = requires(B& b, std::span<const std::byte> s) {
  b.put_slice(s);
  b.put_u8(std::uint8_t{});
  b.put_u32(std::uint32_t{});
  b.put_u64_le(std::uint64_t{});
};

/// A buf over bytes it does not own (Rust's `&[u8]` as a `Buf`): reading
/// advances the cursor over the span. Precondition: the bytes outlive the
/// cursor. Thread safety: one cursor is used by one thread at a time; the
/// bytes are only read.
class byte_cursor : public detail::buf_get<byte_cursor> {
 public:
  /// Name used in error messages.
  static constexpr const char* buf_name = "kyoto::byte_cursor";

  /// An empty cursor.
  constexpr byte_cursor() noexcept = default;
  /// A cursor at the start of `data`.
  constexpr explicit byte_cursor(std::span<const std::byte> data) noexcept : data_(data) {}
  /// A cursor at the start of the characters `data`.
  explicit byte_cursor(std::string_view data) noexcept
      : data_(std::as_bytes(std::span(data.data(), data.size()))) {}

  /// Bytes left to read.
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size(); }
  /// The bytes left to read.
  [[nodiscard]] std::span<const std::byte> chunk() const noexcept { return data_; }
  /// Skips `n` bytes. Throws std::out_of_range if n > remaining().
  void advance(std::size_t n) {
    if (n > data_.size()) {
      detail::bytes_out_of_range(buf_name, "advance", n, "remaining", data_.size());
    }
    data_ = data_.subspan(n);
  }
  /// Copies the next `n` bytes into a new kyoto::bytes (this one owns
  /// nothing to share) and skips them. Throws std::out_of_range if
  /// n > remaining().
  [[nodiscard]] bytes copy_to_bytes(std::size_t n) {
    if (n > data_.size()) {
      detail::bytes_out_of_range(buf_name, "copy_to_bytes", n, "remaining", data_.size());
    }
    bytes b = bytes::copy_from_slice(data_.first(n));
    data_ = data_.subspan(n);
    return b;
  }

 private:
  /// The bytes not read yet.
  std::span<const std::byte> data_;
};

static_assert(buf<bytes> && buf<bytes_mut> && buf<byte_cursor>);
static_assert(buf_mut<bytes_mut>);

}  // namespace kyoto
