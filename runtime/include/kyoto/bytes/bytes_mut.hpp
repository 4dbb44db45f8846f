// kyoto::bytes_mut: a unique, growable byte buffer that can be split into
// parts sharing one allocation and frozen into kyoto::bytes without a copy
// (Rust's `bytes::BytesMut`). docs/bytes.md describes the model.
//
// # Regions
//
// A bytes_mut owns the region [data(), data() + capacity()) of a shared
// block (kyoto/bytes/detail/shared.hpp); the first size() bytes are its
// contents, the rest spare room. split_to/split_off/split cut the region in
// two; each part holds a reference on the block. Regions never overlap, so
// the parts may be written on different threads.
//
// # Reserve (the crate's reserve_inner)
//
// reserve(n) needs size() + n bytes of region. If the spare room is short:
// - the only handle on the block (count 1) owns all of it: first take the
//   tail after the region; if that is not enough but the whole buffer is,
//   move the contents to the buffer's start (reclaiming the front that
//   advance/split_to gave away and whose handles are gone); else move to a
//   new buffer of max(needed, twice the old buffer);
// - the block is shared: move to a new buffer of max(needed, the old
//   buffer's size capped at 64 KiB), so a buffer that is consumed and
//   refilled keeps its working size, as in the crate.
#pragma once

#include <kyoto/bytes/bytes.hpp>

#include <kyoto/bytes/detail/buf_ops.hpp>
#include <kyoto/bytes/detail/byte_view.hpp>
#include <kyoto/bytes/detail/shared.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <compare>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

namespace kyoto {

/// A unique, growable byte buffer (`bytes::BytesMut`).
///
/// Appending (`extend_from_slice`, `put_*`) grows it as a std::vector does;
/// `split_to`, `split_off`, `split` and `advance` are O(1) and make parts
/// that share the allocation; `freeze()` turns it into a kyoto::bytes
/// without copying; `reserve` reuses space given away by parts that are
/// gone. Copying copies the contents (Rust's `clone()` does too).
///
/// Thread safety: one owner. A bytes_mut is used by one thread at a time;
/// it may move between threads, and parts split from one another may be
/// used on different threads at once (their regions are disjoint and the
/// count they share is atomic).
class KYOTO_EXPORT bytes_mut : public detail::byte_view_ops<bytes_mut>,
                               public detail::buf_get<bytes_mut>,
                               public detail::buf_put<bytes_mut> {
 public:
  /// Element type, as in the standard containers.
  using value_type = std::byte;
  /// Size type.
  using size_type = std::size_t;
  /// Iterator: a pointer to a byte.
  using iterator = std::byte*;
  /// Const iterator.
  using const_iterator = const std::byte*;
  /// Name used in error messages.
  static constexpr const char* buf_name = "kyoto::bytes_mut";

  /// An empty buffer with no capacity; allocates nothing.
  constexpr bytes_mut() noexcept = default;
  /// An empty buffer with room for `capacity` bytes (one allocation, none
  /// for 0).
  static bytes_mut with_capacity(std::size_t capacity);
  /// A buffer holding a copy of `data`, with capacity size().
  explicit bytes_mut(std::span<const std::byte> data);
  /// A buffer holding a copy of the characters `data`.
  explicit bytes_mut(std::string_view data)
      : bytes_mut(std::as_bytes(std::span(data.data(), data.size()))) {}

  /// A new buffer holding a copy of `o`'s contents (Rust's `clone()`).
  bytes_mut(const bytes_mut& o) : bytes_mut(o.as_span()) {}
  /// Takes `o`'s region; `o` is left empty with no capacity.
  bytes_mut(bytes_mut&& o) noexcept
      : shared_(std::exchange(o.shared_, nullptr)),
        ptr_(std::exchange(o.ptr_, nullptr)),
        len_(std::exchange(o.len_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  /// Replaces the contents with a copy of `o`'s.
  bytes_mut& operator=(const bytes_mut& o) {
    if (this != &o) bytes_mut(o).swap(*this);
    return *this;
  }
  /// Takes `o`'s region and drops the old one; `o` is left empty.
  bytes_mut& operator=(bytes_mut&& o) noexcept {
    bytes_mut(std::move(o)).swap(*this);
    return *this;
  }
  /// Drops this part's reference; the last one frees the buffer.
  ~bytes_mut() {
    if (shared_ != nullptr) detail::bytes_unref(shared_);
  }
  /// Exchanges two buffers.
  void swap(bytes_mut& o) noexcept {
    std::swap(shared_, o.shared_);
    std::swap(ptr_, o.ptr_);
    std::swap(len_, o.len_);
    std::swap(cap_, o.cap_);
  }

  // size, len, empty, the const data, operator[], begin, end and as_span,
  // as_string_view and the string_view conversion come from byte_view_ops;
  // the writable overloads are here.
  using byte_view_ops::as_span;
  using byte_view_ops::begin;
  using byte_view_ops::data;
  using byte_view_ops::end;
  using byte_view_ops::operator[];

  /// Bytes this part can hold without reallocating.
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  /// First byte (may be null when the capacity is 0).
  [[nodiscard]] std::byte* data() noexcept { return ptr_; }
  /// Byte `i`; throws std::out_of_range if `i >= size()`.
  [[nodiscard]] std::byte& operator[](std::size_t i) {
    if (i >= len_) detail::bytes_index_out_of_range(buf_name, i, len_);
    return ptr_[i];
  }
  /// Iterator to the first byte, writable.
  [[nodiscard]] std::byte* begin() noexcept { return ptr_; }
  /// End iterator, writable.
  [[nodiscard]] std::byte* end() noexcept { return ptr_ + len_; }
  /// The contents, writable (valid until the next call that grows or splits).
  [[nodiscard]] std::span<std::byte> as_span() noexcept { return {ptr_, len_}; }

  /// Makes room for at least `additional` more bytes (see the file comment
  /// for how). Throws std::length_error if size() + additional overflows.
  void reserve(std::size_t additional);
  /// Appends a copy of `data`, growing as needed.
  void extend_from_slice(std::span<const std::byte> data);
  /// Appends a copy of the characters `data`.
  void extend_from_slice(std::string_view data) {
    extend_from_slice(std::as_bytes(std::span(data.data(), data.size())));
  }
  /// Appends a copy of `data` (BufMut's name for extend_from_slice).
  void put_slice(std::span<const std::byte> data) { extend_from_slice(data); }
  /// Appends a copy of the characters `data`.
  void put_slice(std::string_view data) { extend_from_slice(data); }
  /// Appends `count` copies of `value` (Rust's `put_bytes`).
  void put_bytes(std::byte value, std::size_t count) { resize(len_ + count, value); }
  /// Grows to `n` bytes filled with `value`, or truncates to `n`.
  void resize(std::size_t n, std::byte value = std::byte{0});
  /// Keeps only the first `n` bytes; no effect if n >= size(). The
  /// capacity is kept.
  void truncate(std::size_t n) noexcept {
    if (n < len_) len_ = n;
  }
  /// Removes every byte; the capacity is kept.
  void clear() noexcept { len_ = 0; }

  /// The spare room after the contents, reserving 64 bytes first if there
  /// is none (Rust's `chunk_mut`). Its bytes are uninitialised: write them,
  /// then advance_mut() over what was written.
  [[nodiscard]] std::span<std::byte> chunk_mut();
  /// Makes the next `n` bytes of spare room part of the contents. Throws
  /// std::out_of_range if n > capacity() - size().
  void advance_mut(std::size_t n) {
    if (n > cap_ - len_)
      detail::bytes_out_of_range(buf_name, "advance_mut", n, "spare", cap_ - len_);
    len_ += n;
  }

  /// Splits off and returns the first `n` bytes (and their room); this keeps
  /// the rest. O(1), no copy: both share the allocation. Throws
  /// std::out_of_range if n > size().
  [[nodiscard]] bytes_mut split_to(std::size_t n) { return split_to(n, "split_to"); }
  /// Splits off and returns everything from `at` on, spare room included;
  /// this keeps [0, at) of the region (its size becomes min(size(), at)).
  /// O(1). Throws std::out_of_range if at > capacity().
  [[nodiscard]] bytes_mut split_off(std::size_t at);
  /// Splits off and returns all the contents; this keeps the spare room
  /// (split_to(size())).
  [[nodiscard]] bytes_mut split() { return split_to(len_, "split"); }
  /// Appends `other` to this buffer: O(1) when `other` is the part split off
  /// right after this one (the regions are joined again), else a copy.
  void unsplit(bytes_mut other);
  /// Turns this buffer into an immutable kyoto::bytes holding the same
  /// bytes, without copying: the bytes shares this one's allocation. This
  /// is left empty.
  [[nodiscard]] bytes freeze() &&;

  // Buf: remaining() and chunk() are the whole contents (byte_view_ops).

  /// Drops the first `n` bytes (and their room). O(1). Throws
  /// std::out_of_range if n > size().
  void advance(std::size_t n) {
    if (n > len_) detail::bytes_out_of_range(buf_name, "advance", n, "len", len_);
    ptr_ += n;
    len_ -= n;
    cap_ -= n;
  }
  /// Splits off the first `n` bytes as a kyoto::bytes, without copying
  /// (split_to(n) frozen, as in the crate).
  [[nodiscard]] bytes copy_to_bytes(std::size_t n) { return split_to(n, "copy_to_bytes").freeze(); }

  // Comparison with bytes_mut, characters and spans comes from byte_view_ops.

  /// Byte-wise equality with a kyoto::bytes.
  friend bool operator==(const bytes_mut& a, const bytes& b) noexcept {
    return detail::bytes_equal(a.as_span(), b.as_span());
  }
  /// Lexicographic order against a kyoto::bytes.
  friend std::strong_ordering operator<=>(const bytes_mut& a, const bytes& b) noexcept {
    return detail::bytes_compare(a.as_span(), b.as_span());
  }

 private:
  friend class detail::byte_view_ops<bytes_mut>;

  /// Adopts one reference on `shared` (null when there is no allocation).
  bytes_mut(detail::bytes_shared* shared, std::byte* ptr, std::size_t len, std::size_t cap) noexcept
      : shared_(shared), ptr_(ptr), len_(len), cap_(cap) {}

  bytes_mut split_to(std::size_t n, const char* fn);
  /// Moves the contents to a new buffer of `capacity` bytes.
  void reallocate(std::size_t capacity);

  /// The block this part's region lies in; null when there is no
  /// allocation (a part whose region shrank to 0 may still hold one, to
  /// reclaim it in reserve()).
  detail::bytes_shared* shared_ = nullptr;
  /// Start of the region and of the contents.
  std::byte* ptr_ = nullptr;
  /// Bytes of contents.
  std::size_t len_ = 0;
  /// Bytes of region (contents and spare room).
  std::size_t cap_ = 0;
};

/// Writes `b` as the crate's Debug does (see operator<< for kyoto::bytes).
/// Thread safety: only reads `b`.
KYOTO_EXPORT std::ostream& operator<<(std::ostream& os, const bytes_mut& b);

}  // namespace kyoto
