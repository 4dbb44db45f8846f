// The Buf and BufMut accessors (Rust bytes' `get_*` and `put_*` default
// methods), written once and mixed into kyoto::bytes, kyoto::bytes_mut and
// kyoto::byte_cursor by CRTP.
//
// A reader `D` provides `remaining()`, `chunk()` (the next contiguous bytes,
// non-empty while anything remains) and `advance(n)`, plus a
// `static constexpr const char* buf_name` used in error messages. A writer
// provides `put_slice(std::span<const std::byte>)`. Integers are big endian
// unless the name ends in `_le`, as in the crate.
#pragma once

#include <kyoto/bytes/detail/shared.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace kyoto::detail {

/// The unsigned integer holding the bits of an arithmetic `T`.
template <class T>
struct buf_bits : std::make_unsigned<T> {};
/// float travels as its 32 bits.
template <>
struct buf_bits<float> {
  using type = std::uint32_t;
};
/// double travels as its 64 bits.
template <>
struct buf_bits<double> {
  using type = std::uint64_t;
};

/// The consuming accessors of a readable buffer (Rust's `Buf`). Each `get_*`
/// reads from the front and advances past what it read; if fewer bytes
/// remain than it needs it throws std::out_of_range naming the call and the
/// sizes (e.g. "kyoto::bytes::get_u32: 4 > remaining 2") and consumes
/// nothing. Thread safety: that of the buffer it is part of (one object is
/// not used by two threads at once).
template <class D>
class buf_get {
 public:
  /// Whether any byte remains (`remaining() != 0`).
  [[nodiscard]] bool has_remaining() const noexcept { return self().remaining() != 0; }

  /// Copies the next `dst.size()` bytes into `dst` and advances past them.
  void copy_to_slice(std::span<std::byte> dst) { take(dst, "copy_to_slice"); }

  /// The next byte.
  std::uint8_t get_u8() { return get<std::uint8_t, false>("get_u8"); }
  /// The next byte, as signed.
  std::int8_t get_i8() { return get<std::int8_t, false>("get_i8"); }
  /// The next 2 bytes, big endian.
  std::uint16_t get_u16() { return get<std::uint16_t, false>("get_u16"); }
  /// The next 2 bytes, little endian.
  std::uint16_t get_u16_le() { return get<std::uint16_t, true>("get_u16_le"); }
  /// The next 2 bytes, big endian, as signed.
  std::int16_t get_i16() { return get<std::int16_t, false>("get_i16"); }
  /// The next 2 bytes, little endian, as signed.
  std::int16_t get_i16_le() { return get<std::int16_t, true>("get_i16_le"); }
  /// The next 4 bytes, big endian.
  std::uint32_t get_u32() { return get<std::uint32_t, false>("get_u32"); }
  /// The next 4 bytes, little endian.
  std::uint32_t get_u32_le() { return get<std::uint32_t, true>("get_u32_le"); }
  /// The next 4 bytes, big endian, as signed.
  std::int32_t get_i32() { return get<std::int32_t, false>("get_i32"); }
  /// The next 4 bytes, little endian, as signed.
  std::int32_t get_i32_le() { return get<std::int32_t, true>("get_i32_le"); }
  /// The next 8 bytes, big endian.
  std::uint64_t get_u64() { return get<std::uint64_t, false>("get_u64"); }
  /// The next 8 bytes, little endian.
  std::uint64_t get_u64_le() { return get<std::uint64_t, true>("get_u64_le"); }
  /// The next 8 bytes, big endian, as signed.
  std::int64_t get_i64() { return get<std::int64_t, false>("get_i64"); }
  /// The next 8 bytes, little endian, as signed.
  std::int64_t get_i64_le() { return get<std::int64_t, true>("get_i64_le"); }
  /// The next 4 bytes, big endian, as an IEEE-754 single.
  float get_f32() { return get<float, false>("get_f32"); }
  /// The next 4 bytes, little endian, as an IEEE-754 single.
  float get_f32_le() { return get<float, true>("get_f32_le"); }
  /// The next 8 bytes, big endian, as an IEEE-754 double.
  double get_f64() { return get<double, false>("get_f64"); }
  /// The next 8 bytes, little endian, as an IEEE-754 double.
  double get_f64_le() { return get<double, true>("get_f64_le"); }

  /// The next `nbytes` bytes (at most 8), big endian, as an unsigned integer.
  std::uint64_t get_uint(std::size_t nbytes) { return get_n<false>(nbytes, "get_uint"); }
  /// The next `nbytes` bytes (at most 8), little endian, as an unsigned integer.
  std::uint64_t get_uint_le(std::size_t nbytes) { return get_n<true>(nbytes, "get_uint_le"); }
  /// The next `nbytes` bytes (at most 8), big endian, sign-extended.
  std::int64_t get_int(std::size_t nbytes) {
    return sign_extend(get_n<false>(nbytes, "get_int"), nbytes);
  }
  /// The next `nbytes` bytes (at most 8), little endian, sign-extended.
  std::int64_t get_int_le(std::size_t nbytes) {
    return sign_extend(get_n<true>(nbytes, "get_int_le"), nbytes);
  }

 protected:
  /// Copies the next dst.size() bytes into dst, or throws naming `fn`.
  void take(std::span<std::byte> dst, const char* fn) {
    D& d = self();
    if (dst.size() > d.remaining()) {
      bytes_out_of_range(D::buf_name, fn, dst.size(), "remaining", d.remaining());
    }
    while (!dst.empty()) {
      std::span<const std::byte> c = d.chunk();
      const std::size_t n = std::min(c.size(), dst.size());
      std::memcpy(dst.data(), c.data(), n);
      d.advance(n);
      dst = dst.subspan(n);
    }
  }

 private:
  // Only D constructs the mixin (bugprone-crtp-constructor-accessibility).
  buf_get() = default;
  friend D;

  D& self() noexcept { return static_cast<D&>(*this); }
  const D& self() const noexcept { return static_cast<const D&>(*this); }

  template <class T, bool Little>
  T get(const char* fn) {
    using U = typename buf_bits<T>::type;
    std::byte tmp[sizeof(U)];
    take(tmp, fn);
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      const std::byte b = tmp[Little ? sizeof(U) - 1 - i : i];
      v = static_cast<U>((std::uint64_t{v} << 8) | std::to_integer<std::uint64_t>(b));
    }
    return std::bit_cast<T>(v);
  }

  template <bool Little>
  std::uint64_t get_n(std::size_t nbytes, const char* fn) {
    if (nbytes > 8) bytes_out_of_range(D::buf_name, fn, nbytes, "max", 8);
    std::byte tmp[8];
    take(std::span(tmp, nbytes), fn);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < nbytes; ++i) {
      v = (v << 8) | std::to_integer<std::uint64_t>(tmp[Little ? nbytes - 1 - i : i]);
    }
    return v;
  }

  static std::int64_t sign_extend(std::uint64_t v, std::size_t nbytes) noexcept {
    if (nbytes == 0) return 0;
    const unsigned shift = static_cast<unsigned>(64 - 8 * nbytes);
    // C++20: the conversion is modular and >> of a negative value is
    // arithmetic, so this is well defined.
    return static_cast<std::int64_t>(v << shift) >> shift;
  }
};

/// The appending accessors of a writable buffer (Rust's `BufMut`). Each
/// `put_*` appends at the end (growing the buffer as needed). Integers are
/// big endian unless the name ends in `_le`. Thread safety: that of the
/// buffer it is part of (one owner).
template <class D>
class buf_put {
 public:
  /// Appends one byte.
  void put_u8(std::uint8_t v) { put<std::uint8_t, false>(v); }
  /// Appends one byte.
  void put_i8(std::int8_t v) { put<std::int8_t, false>(v); }
  /// Appends 2 bytes, big endian.
  void put_u16(std::uint16_t v) { put<std::uint16_t, false>(v); }
  /// Appends 2 bytes, little endian.
  void put_u16_le(std::uint16_t v) { put<std::uint16_t, true>(v); }
  /// Appends 2 bytes, big endian.
  void put_i16(std::int16_t v) { put<std::int16_t, false>(v); }
  /// Appends 2 bytes, little endian.
  void put_i16_le(std::int16_t v) { put<std::int16_t, true>(v); }
  /// Appends 4 bytes, big endian.
  void put_u32(std::uint32_t v) { put<std::uint32_t, false>(v); }
  /// Appends 4 bytes, little endian.
  void put_u32_le(std::uint32_t v) { put<std::uint32_t, true>(v); }
  /// Appends 4 bytes, big endian.
  void put_i32(std::int32_t v) { put<std::int32_t, false>(v); }
  /// Appends 4 bytes, little endian.
  void put_i32_le(std::int32_t v) { put<std::int32_t, true>(v); }
  /// Appends 8 bytes, big endian.
  void put_u64(std::uint64_t v) { put<std::uint64_t, false>(v); }
  /// Appends 8 bytes, little endian.
  void put_u64_le(std::uint64_t v) { put<std::uint64_t, true>(v); }
  /// Appends 8 bytes, big endian.
  void put_i64(std::int64_t v) { put<std::int64_t, false>(v); }
  /// Appends 8 bytes, little endian.
  void put_i64_le(std::int64_t v) { put<std::int64_t, true>(v); }
  /// Appends an IEEE-754 single, big endian.
  void put_f32(float v) { put<float, false>(v); }
  /// Appends an IEEE-754 single, little endian.
  void put_f32_le(float v) { put<float, true>(v); }
  /// Appends an IEEE-754 double, big endian.
  void put_f64(double v) { put<double, false>(v); }
  /// Appends an IEEE-754 double, little endian.
  void put_f64_le(double v) { put<double, true>(v); }

  /// Appends the low `nbytes` bytes (at most 8) of `v`, big endian; more
  /// than 8 throws std::out_of_range and appends nothing.
  void put_uint(std::uint64_t v, std::size_t nbytes) { put_n<false>(v, nbytes, "put_uint"); }
  /// Appends the low `nbytes` bytes (at most 8) of `v`, little endian.
  void put_uint_le(std::uint64_t v, std::size_t nbytes) { put_n<true>(v, nbytes, "put_uint_le"); }
  /// Appends the low `nbytes` bytes (at most 8) of `v`, big endian.
  void put_int(std::int64_t v, std::size_t nbytes) {
    put_n<false>(static_cast<std::uint64_t>(v), nbytes, "put_int");
  }
  /// Appends the low `nbytes` bytes (at most 8) of `v`, little endian.
  void put_int_le(std::int64_t v, std::size_t nbytes) {
    put_n<true>(static_cast<std::uint64_t>(v), nbytes, "put_int_le");
  }

 private:
  // Only D constructs the mixin (bugprone-crtp-constructor-accessibility).
  buf_put() = default;
  friend D;

  D& self() noexcept { return static_cast<D&>(*this); }

  template <class T, bool Little>
  void put(T value) {
    using U = typename buf_bits<T>::type;
    const auto v = std::uint64_t{std::bit_cast<U>(value)};
    std::byte tmp[sizeof(U)];
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      const std::size_t shift = 8 * (Little ? i : sizeof(U) - 1 - i);
      tmp[i] = static_cast<std::byte>((v >> shift) & 0xff);
    }
    self().put_slice(std::span<const std::byte>(tmp));
  }

  template <bool Little>
  void put_n(std::uint64_t v, std::size_t nbytes, const char* fn) {
    if (nbytes > 8) bytes_out_of_range(D::buf_name, fn, nbytes, "max", 8);
    std::byte tmp[8];
    for (std::size_t i = 0; i < nbytes; ++i) {
      const std::size_t shift = 8 * (Little ? i : nbytes - 1 - i);
      tmp[i] = static_cast<std::byte>((v >> shift) & 0xff);
    }
    self().put_slice(std::span<const std::byte>(tmp, nbytes));
  }
};

}  // namespace kyoto::detail
