// kyoto::bytes: an immutable, reference-counted byte buffer (Rust's
// `bytes::Bytes`). docs/bytes.md describes the model.
//
// A bytes is a window [data(), data() + size()) onto a buffer that is
// either static (from_static: no count, no allocation, never freed) or a
// shared block (kyoto/bytes/detail/shared.hpp) holding an atomic count.
// Copying adds a reference; slicing and splitting make new windows onto the
// same block; nothing ever writes through a bytes, so any number of copies
// may be read from any threads at once.
#pragma once

#include <kyoto/bytes/detail/buf_ops.hpp>
#include <kyoto/bytes/detail/byte_view.hpp>
#include <kyoto/bytes/detail/shared.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <compare>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kyoto {

class bytes_mut;

/// An immutable, cheaply copyable view of shared bytes (`bytes::Bytes`).
///
/// Copy is O(1) and shares the buffer (Rust's `clone()`); `slice`,
/// `split_to`, `split_off`, `advance` and `truncate` are O(1) and never copy.
/// The `get_*` accessors (Rust's `Buf`) consume from the front.
///
/// Thread safety: different bytes objects, including copies of one another,
/// may be used and destroyed on any threads at once (the count is atomic).
/// One bytes object is not mutated (assigned, split, advanced) while another
/// thread uses it, as for any standard type.
class KYOTO_EXPORT bytes : public detail::byte_view_ops<bytes>, public detail::buf_get<bytes> {
 public:
  /// Element type, as in the standard containers.
  using value_type = std::byte;
  /// Size type.
  using size_type = std::size_t;
  /// Iterator: a pointer to a const byte.
  using const_iterator = const std::byte*;
  /// Iterator: bytes are never written, so the same as const_iterator.
  using iterator = const_iterator;
  /// Name used in error messages.
  static constexpr const char* buf_name = "kyoto::bytes";

  /// An empty bytes; allocates nothing (Rust's `Bytes::new()`).
  constexpr bytes() noexcept = default;

  /// Takes `s`'s buffer without copying its bytes (a string short enough
  /// for the small-string buffer is copied by the move itself). One
  /// allocation, for the count. An empty string allocates nothing.
  explicit bytes(std::string&& s);
  /// Takes `v`'s buffer without copying its bytes; one allocation, for the
  /// count. An empty vector allocates nothing.
  explicit bytes(std::vector<std::byte>&& v);

  /// A bytes viewing `data` without copying, counting or ever freeing it
  /// (Rust's `Bytes::from_static`). Precondition: `data` outlives every
  /// bytes made from it, e.g. a string literal or other static storage.
  static bytes from_static(std::span<const std::byte> data) noexcept {
    return bytes(nullptr, data.data(), data.size());
  }
  /// from_static for characters, e.g. `bytes::from_static("hello")` (the
  /// literal's terminating NUL is not included).
  static bytes from_static(std::string_view data) noexcept {
    return from_static(std::as_bytes(std::span(data.data(), data.size())));
  }
  /// A new buffer holding a copy of `data` (Rust's `copy_from_slice`).
  static bytes copy_from_slice(std::span<const std::byte> data);
  /// copy_from_slice for characters.
  static bytes copy_from_slice(std::string_view data) {
    return copy_from_slice(std::as_bytes(std::span(data.data(), data.size())));
  }

  /// Shares `o`'s buffer: O(1), an atomic increment (Rust's `clone()`).
  bytes(const bytes& o) noexcept : shared_(o.shared_), ptr_(o.ptr_), len_(o.len_) {
    if (shared_ != nullptr) detail::bytes_ref(shared_);
  }
  /// Takes `o`'s view; `o` is left empty.
  bytes(bytes&& o) noexcept
      : shared_(std::exchange(o.shared_, nullptr)),
        ptr_(std::exchange(o.ptr_, nullptr)),
        len_(std::exchange(o.len_, 0)) {}
  /// Shares `o`'s buffer and drops the old one.
  bytes& operator=(const bytes& o) noexcept {
    bytes(o).swap(*this);
    return *this;
  }
  /// Takes `o`'s view and drops the old one; `o` is left empty.
  bytes& operator=(bytes&& o) noexcept {
    bytes(std::move(o)).swap(*this);
    return *this;
  }
  /// Drops this reference; the last one frees the buffer.
  ~bytes() {
    if (shared_ != nullptr) detail::bytes_unref(shared_);
  }
  /// Exchanges two views.
  void swap(bytes& o) noexcept {
    std::swap(shared_, o.shared_);
    std::swap(ptr_, o.ptr_);
    std::swap(len_, o.len_);
  }

  /// A new bytes viewing [begin, end) of this one, sharing the buffer: O(1).
  /// Throws std::out_of_range if begin > end or end > size().
  [[nodiscard]] bytes slice(std::size_t begin, std::size_t end) const {
    if (begin > end) detail::bytes_out_of_range(buf_name, "slice", begin, "end", end);
    if (end > len_) detail::bytes_out_of_range(buf_name, "slice", end, "len", len_);
    if (begin == end) return bytes();
    return share(ptr_ + begin, end - begin);
  }
  /// slice(begin, size()).
  [[nodiscard]] bytes slice(std::size_t begin) const { return slice(begin, len_); }
  /// A bytes viewing `sub`, which must lie within this one (e.g. a span
  /// obtained from as_span() and narrowed), sharing the buffer (Rust's
  /// `slice_ref`). An empty `sub` gives an empty bytes; one that is not
  /// inside throws std::out_of_range.
  [[nodiscard]] bytes slice_ref(std::span<const std::byte> sub) const;

  /// Splits off and returns the first `n` bytes; this keeps the rest. O(1).
  /// Throws std::out_of_range if n > size().
  [[nodiscard]] bytes split_to(std::size_t n) { return split_to(n, "split_to"); }
  /// Splits off and returns the bytes from `at` on; this keeps the first
  /// `at`. O(1). Throws std::out_of_range if at > size().
  [[nodiscard]] bytes split_off(std::size_t at);
  /// Keeps only the first `n` bytes; no effect if n >= size().
  void truncate(std::size_t n) noexcept {
    if (n < len_) len_ = n;
  }
  /// Makes this bytes empty, dropping its reference to the buffer.
  void clear() noexcept { bytes().swap(*this); }

  // Buf: remaining() and chunk() are the whole view (byte_view_ops).

  /// Drops the first `n` bytes. O(1). Throws std::out_of_range if n > size().
  void advance(std::size_t n) {
    if (n > len_) detail::bytes_out_of_range(buf_name, "advance", n, "len", len_);
    ptr_ += n;
    len_ -= n;
  }
  /// Splits off the first `n` bytes without copying (split_to(n); Rust's
  /// `Buf::copy_to_bytes`, which for Bytes shares too).
  [[nodiscard]] bytes copy_to_bytes(std::size_t n) { return split_to(n, "copy_to_bytes"); }

 private:
  friend class bytes_mut;
  friend class detail::byte_view_ops<bytes>;

  /// Adopts one reference on `shared` (may be null: static or empty).
  constexpr bytes(detail::bytes_shared* shared, const std::byte* ptr, std::size_t len) noexcept
      : shared_(shared), ptr_(ptr), len_(len) {}

  /// A new view [ptr, ptr + len) onto this one's buffer, with its own reference.
  bytes share(const std::byte* ptr, std::size_t len) const noexcept {
    if (shared_ != nullptr) detail::bytes_ref(shared_);
    return bytes(shared_, ptr, len);
  }
  bytes split_to(std::size_t n, const char* fn);

  /// The block holding the count, or null for static and empty views.
  detail::bytes_shared* shared_ = nullptr;
  /// First viewed byte.
  const std::byte* ptr_ = nullptr;
  /// Number of viewed bytes.
  std::size_t len_ = 0;
};

/// Writes `b` as the crate's Debug does: b"..." with printable ASCII as
/// itself, `\n` `\r` `\t` `\0` `\\` `\"` escaped, and other bytes as `\xNN`.
/// Thread safety: only reads `b`.
KYOTO_EXPORT std::ostream& operator<<(std::ostream& os, const bytes& b);

}  // namespace kyoto

/// Hashes the viewed bytes (as std::hash<std::string_view> does). Thread
/// safety: only reads the bytes.
template <>
struct std::hash<kyoto::bytes> {
  /// The hash of the bytes' contents.
  std::size_t operator()(const kyoto::bytes& b) const noexcept {
    return std::hash<std::string_view>{}(b.as_string_view());
  }
};
