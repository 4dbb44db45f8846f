// kyoto::io::read_exact, read_to_end, read_to_string: reading helpers for
// any async_read (tokio's AsyncReadExt).
//
// Each is a kyoto::task that takes the reader by reference and the buffer
// as a span or a container reference: the reader and the buffer must
// outlive the awaited task (awaiting it in the same full-expression, as
// `co_await io::read_exact(stream, buf)`, always does).
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/runtime/task.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace kyoto::detail {

/// Whether `bytes` is well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF), as Rust's str::from_utf8 checks.
constexpr bool is_utf8(std::span<const std::byte> bytes) noexcept {
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    const auto c = std::to_integer<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;  // the second byte's range (narrower after E0, ED, F0, F4)
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3;
      lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3;
      hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4;
      hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len) return false;
    const auto c1 = std::to_integer<unsigned char>(bytes[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto ck = std::to_integer<unsigned char>(bytes[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

/// is_utf8 of the characters s[from, size()).
inline bool is_utf8_from(const std::string& s, std::size_t from) noexcept {
  return is_utf8(std::as_bytes(std::span(s)).subspan(from));
}

/// Throws std::system_error(std::errc::illegal_byte_sequence) naming
/// `operation`: tokio's InvalidData "stream did not contain valid UTF-8".
[[noreturn]] inline void throw_invalid_utf8(const char* operation) {
  throw std::system_error(std::make_error_code(std::errc::illegal_byte_sequence),
                          std::string(operation) + ": stream did not contain valid UTF-8");
}

/// Checks a reader's answer: a read of `capacity` bytes cannot give more
/// (tokio panics there too). Throws std::logic_error naming `operation`.
inline void check_read_count(std::size_t n, std::size_t capacity, const char* operation) {
  if (n > capacity) {
    throw std::logic_error(std::string(operation) +
                           ": the reader claimed more bytes than the buffer holds");
  }
}

/// The bytes of a std::vector<std::byte> or std::string.
inline std::byte* byte_data(std::vector<std::byte>& v) noexcept {
  return v.data();
}
inline std::byte* byte_data(std::string& s) noexcept {
  return reinterpret_cast<std::byte*>(s.data());
}

/// Sets a container's size to `len` when it goes out of scope: read_to_end
/// grows the container to its capacity to read into it, and this gives it
/// back the length of what was kept, also when the read throws or the
/// awaiting task is cancelled.
template <class Container>
class truncate_on_exit {
 public:
  truncate_on_exit(Container& c, std::size_t keep) noexcept : len(keep), c_(c) {}
  truncate_on_exit(const truncate_on_exit&) = delete;
  truncate_on_exit& operator=(const truncate_on_exit&) = delete;
  ~truncate_on_exit() { c_.resize(len); }  // never grows: cannot throw

  std::size_t len;  ///< the size to leave; at most the container's size

 private:
  Container& c_;
};

/// Reads `r` to its end, appending to `out` (a std::vector<std::byte> or
/// std::string); gives the count appended. The container grows
/// geometrically (at least 32 bytes, then doubling its capacity) and each
/// read goes straight into its tail. With `keep_partial`, what was read
/// before an error or a cancel stays appended; without, `out` is left as
/// it was.
template <class R, class Container>
task<std::size_t> read_to_end_into(R& r, Container& out, bool keep_partial, const char* operation) {
  constexpr std::size_t min_read = 32;
  const std::size_t start = out.size();
  truncate_on_exit<Container> keep(out, start);
  std::size_t filled = start;
  for (;;) {
    if (filled == out.size()) {
      if (out.size() == out.capacity()) {
        out.reserve(std::max(out.capacity() * 2, out.capacity() + min_read));
      }
      out.resize(out.capacity());
    }
    const std::span<std::byte> tail(byte_data(out) + filled, out.size() - filled);
    const std::size_t n = co_await r.read(tail);
    if (n == 0) break;
    check_read_count(n, tail.size(), operation);
    filled += n;
    if (keep_partial) keep.len = filled;
  }
  keep.len = filled;
  co_return filled - start;
}

}  // namespace kyoto::detail

namespace kyoto::io {

/// Reads exactly `buf.size()` bytes from `r` (tokio's read_exact); gives
/// `buf.size()`. Short reads are continued.
///
/// Errors: std::system_error with io::errc::unexpected_eof ("kyoto::io::
/// read_exact") if the stream ends first (what arrived is at the front of
/// `buf`); whatever `r.read` throws.
/// Cancel safety: not cancel safe: bytes read before a cancel are lost.
/// Thread safety: one task reads `r` at a time. `r` and `buf` must outlive
/// the awaited task. Resumes wherever `r`'s reads resume.
template <async_read R>
task<std::size_t> read_exact(R& r, std::span<std::byte> buf) {
  const std::size_t total = buf.size();
  while (!buf.empty()) {
    const std::size_t n = co_await r.read(buf);
    if (n == 0) detail::throw_io_error(errc::unexpected_eof, "kyoto::io::read_exact");
    detail::check_read_count(n, buf.size(), "kyoto::io::read_exact");
    buf = buf.subspan(n);
  }
  co_return total;
}

/// Reads `r` until end of stream, appending everything to `out` (tokio's
/// read_to_end); gives the number of bytes appended. `out` grows
/// geometrically (at least 32 bytes, doubling) and `r` reads straight into
/// its tail, so no byte is copied twice.
///
/// Errors: whatever `r.read` throws; the bytes read before the error stay
/// appended to `out` (as tokio's).
/// Cancel safety: not cancel safe in tokio's sense (the call cannot be
/// resumed), but no byte is lost if `r.read` is cancel safe: what was read
/// before the cancel stays appended to `out`.
/// Thread safety: one task reads `r` at a time; `r` and `out` must outlive
/// the awaited task.
template <async_read R>
task<std::size_t> read_to_end(R& r, std::vector<std::byte>& out) {
  return detail::read_to_end_into(r, out, true, "kyoto::io::read_to_end");
}

/// Reads `r` until end of stream and appends it to `out` if it is valid
/// UTF-8 (tokio's read_to_string); gives the number of bytes appended.
///
/// Errors: std::system_error with std::errc::illegal_byte_sequence ("stream
/// did not contain valid UTF-8", tokio's InvalidData) if the bytes read are
/// not UTF-8; whatever `r.read` throws. On any error `out` is left as it
/// was and what was read is lost (as tokio's).
/// Cancel safety: not cancel safe: a cancelled call leaves `out` as it was
/// and loses what it read.
/// Thread safety: one task reads `r` at a time; `r` and `out` must outlive
/// the awaited task.
template <async_read R>
task<std::size_t> read_to_string(R& r, std::string& out) {
  const std::size_t start = out.size();
  const std::size_t n =
      co_await detail::read_to_end_into(r, out, false, "kyoto::io::read_to_string");
  if (!detail::is_utf8_from(out, start)) {
    out.resize(start);
    detail::throw_invalid_utf8("kyoto::io::read_to_string");
  }
  co_return n;
}

}  // namespace kyoto::io
