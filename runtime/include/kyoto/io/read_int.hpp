// kyoto::io::read_u8 ... read_i64_le: reading a fixed-size integer from any
// async_read (tokio's AsyncReadExt::read_u32 and friends). Big endian
// unless the name ends in `_le`, as tokio.
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/runtime/task.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace kyoto::detail {

/// Reads sizeof(T) bytes from `r` and assembles them (big endian, or little
/// with `Little`). Throws io::errc::unexpected_eof naming `operation` if
/// the stream ends first.
template <class T, bool Little, class R>
task<T> read_int(R& r, const char* operation) {
  using U = std::make_unsigned_t<T>;
  std::array<std::byte, sizeof(T)> raw{};
  std::span<std::byte> rest(raw);
  while (!rest.empty()) {
    const std::size_t n = co_await r.read(rest);
    if (n == 0) throw_io_error(io::errc::unexpected_eof, operation);
    check_read_count(n, rest.size(), operation);
    rest = rest.subspan(n);
  }
  U v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const std::size_t k = Little ? sizeof(T) - 1 - i : i;
    v = static_cast<U>((sizeof(T) > 1 ? static_cast<U>(v << 8) : U{0}) |
                       std::to_integer<U>(raw[k]));
  }
  co_return static_cast<T>(v);
}

}  // namespace kyoto::detail

namespace kyoto::io {

// Each reads exactly its size from `r` (continuing short reads) and gives
// the value. Errors: std::system_error with io::errc::unexpected_eof naming
// the function if the stream ends first; whatever `r.read` throws.
// Cancel safety: not cancel safe (bytes read before a cancel are lost, as
// tokio). `r` must outlive the awaited task.

/// Reads a std::uint8_t; tokio's read_u8.
template <async_read R>
task<std::uint8_t> read_u8(R& r) {
  return detail::read_int<std::uint8_t, false>(r, "kyoto::io::read_u8");
}

/// Reads a std::int8_t; tokio's read_i8.
template <async_read R>
task<std::int8_t> read_i8(R& r) {
  return detail::read_int<std::int8_t, false>(r, "kyoto::io::read_i8");
}

/// Reads a std::uint16_t (big endian); tokio's read_u16.
template <async_read R>
task<std::uint16_t> read_u16(R& r) {
  return detail::read_int<std::uint16_t, false>(r, "kyoto::io::read_u16");
}

/// Reads a std::uint16_t (little endian); tokio's read_u16_le.
template <async_read R>
task<std::uint16_t> read_u16_le(R& r) {
  return detail::read_int<std::uint16_t, true>(r, "kyoto::io::read_u16_le");
}

/// Reads a std::int16_t (big endian); tokio's read_i16.
template <async_read R>
task<std::int16_t> read_i16(R& r) {
  return detail::read_int<std::int16_t, false>(r, "kyoto::io::read_i16");
}

/// Reads a std::int16_t (little endian); tokio's read_i16_le.
template <async_read R>
task<std::int16_t> read_i16_le(R& r) {
  return detail::read_int<std::int16_t, true>(r, "kyoto::io::read_i16_le");
}

/// Reads a std::uint32_t (big endian); tokio's read_u32.
template <async_read R>
task<std::uint32_t> read_u32(R& r) {
  return detail::read_int<std::uint32_t, false>(r, "kyoto::io::read_u32");
}

/// Reads a std::uint32_t (little endian); tokio's read_u32_le.
template <async_read R>
task<std::uint32_t> read_u32_le(R& r) {
  return detail::read_int<std::uint32_t, true>(r, "kyoto::io::read_u32_le");
}

/// Reads a std::int32_t (big endian); tokio's read_i32.
template <async_read R>
task<std::int32_t> read_i32(R& r) {
  return detail::read_int<std::int32_t, false>(r, "kyoto::io::read_i32");
}

/// Reads a std::int32_t (little endian); tokio's read_i32_le.
template <async_read R>
task<std::int32_t> read_i32_le(R& r) {
  return detail::read_int<std::int32_t, true>(r, "kyoto::io::read_i32_le");
}

/// Reads a std::uint64_t (big endian); tokio's read_u64.
template <async_read R>
task<std::uint64_t> read_u64(R& r) {
  return detail::read_int<std::uint64_t, false>(r, "kyoto::io::read_u64");
}

/// Reads a std::uint64_t (little endian); tokio's read_u64_le.
template <async_read R>
task<std::uint64_t> read_u64_le(R& r) {
  return detail::read_int<std::uint64_t, true>(r, "kyoto::io::read_u64_le");
}

/// Reads a std::int64_t (big endian); tokio's read_i64.
template <async_read R>
task<std::int64_t> read_i64(R& r) {
  return detail::read_int<std::int64_t, false>(r, "kyoto::io::read_i64");
}

/// Reads a std::int64_t (little endian); tokio's read_i64_le.
template <async_read R>
task<std::int64_t> read_i64_le(R& r) {
  return detail::read_int<std::int64_t, true>(r, "kyoto::io::read_i64_le");
}

}  // namespace kyoto::io
