// kyoto::io::write_u8 ... write_i64_le: writing a fixed-size integer to any
// async_write (tokio's AsyncWriteExt::write_u32 and friends). Big endian
// unless the name ends in `_le`, as tokio.
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/runtime/task.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace kyoto::detail {

/// Writes `v` as sizeof(T) bytes (big endian, or little with `Little`)
/// with io::write_all.
template <class T, bool Little, class W>
task<void> write_int(W& w, T v) {
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(v);
  std::array<std::byte, sizeof(T)> raw{};
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const std::size_t shift = 8 * (Little ? i : sizeof(T) - 1 - i);
    raw[i] = static_cast<std::byte>((u >> shift) & 0xFF);
  }
  co_await io::write_all(w, std::span<const std::byte>(raw));
}

}  // namespace kyoto::detail

namespace kyoto::io {

// Each writes its value with write_all (continuing short writes); it does
// not flush. Errors: io::errc::write_zero if a write takes nothing;
// whatever `w.write` throws. Not cancel safe. `w` must outlive the awaited
// task.

/// Writes `v` as a std::uint8_t; tokio's write_u8.
template <async_write W>
task<void> write_u8(W& w, std::uint8_t v) {
  return detail::write_int<std::uint8_t, false>(w, v);
}

/// Writes `v` as a std::int8_t; tokio's write_i8.
template <async_write W>
task<void> write_i8(W& w, std::int8_t v) {
  return detail::write_int<std::int8_t, false>(w, v);
}

/// Writes `v` as a std::uint16_t (big endian); tokio's write_u16.
template <async_write W>
task<void> write_u16(W& w, std::uint16_t v) {
  return detail::write_int<std::uint16_t, false>(w, v);
}

/// Writes `v` as a std::uint16_t (little endian); tokio's write_u16_le.
template <async_write W>
task<void> write_u16_le(W& w, std::uint16_t v) {
  return detail::write_int<std::uint16_t, true>(w, v);
}

/// Writes `v` as a std::int16_t (big endian); tokio's write_i16.
template <async_write W>
task<void> write_i16(W& w, std::int16_t v) {
  return detail::write_int<std::int16_t, false>(w, v);
}

/// Writes `v` as a std::int16_t (little endian); tokio's write_i16_le.
template <async_write W>
task<void> write_i16_le(W& w, std::int16_t v) {
  return detail::write_int<std::int16_t, true>(w, v);
}

/// Writes `v` as a std::uint32_t (big endian); tokio's write_u32.
template <async_write W>
task<void> write_u32(W& w, std::uint32_t v) {
  return detail::write_int<std::uint32_t, false>(w, v);
}

/// Writes `v` as a std::uint32_t (little endian); tokio's write_u32_le.
template <async_write W>
task<void> write_u32_le(W& w, std::uint32_t v) {
  return detail::write_int<std::uint32_t, true>(w, v);
}

/// Writes `v` as a std::int32_t (big endian); tokio's write_i32.
template <async_write W>
task<void> write_i32(W& w, std::int32_t v) {
  return detail::write_int<std::int32_t, false>(w, v);
}

/// Writes `v` as a std::int32_t (little endian); tokio's write_i32_le.
template <async_write W>
task<void> write_i32_le(W& w, std::int32_t v) {
  return detail::write_int<std::int32_t, true>(w, v);
}

/// Writes `v` as a std::uint64_t (big endian); tokio's write_u64.
template <async_write W>
task<void> write_u64(W& w, std::uint64_t v) {
  return detail::write_int<std::uint64_t, false>(w, v);
}

/// Writes `v` as a std::uint64_t (little endian); tokio's write_u64_le.
template <async_write W>
task<void> write_u64_le(W& w, std::uint64_t v) {
  return detail::write_int<std::uint64_t, true>(w, v);
}

/// Writes `v` as a std::int64_t (big endian); tokio's write_i64.
template <async_write W>
task<void> write_i64(W& w, std::int64_t v) {
  return detail::write_int<std::int64_t, false>(w, v);
}

/// Writes `v` as a std::int64_t (little endian); tokio's write_i64_le.
template <async_write W>
task<void> write_i64_le(W& w, std::int64_t v) {
  return detail::write_int<std::int64_t, true>(w, v);
}

}  // namespace kyoto::io
