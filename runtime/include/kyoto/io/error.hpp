// kyoto::io's errors: std::system_error everywhere, with errno for what the
// kernel refused and kyoto::io::errc for what kyoto itself detects (tokio's
// ErrorKind::UnexpectedEof and WriteZero).
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace kyoto::io {

/// Conditions kyoto reports that have no errno.
enum class errc : std::uint8_t {
  /// The stream ended before the requested bytes arrived (read_exact).
  unexpected_eof = 1,
  /// A write accepted zero bytes (write_all cannot make progress).
  write_zero,
};

/// The category of kyoto::io::errc ("kyoto.io").
KYOTO_EXPORT const std::error_category& io_category() noexcept;

/// Makes an error_code of kyoto's io category.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), io_category()};
}

/// Whether `e` is the unexpected end of a stream (read_exact's EOF).
inline bool is_unexpected_eof(const std::system_error& e) noexcept {
  return e.code() == make_error_code(errc::unexpected_eof);
}

}  // namespace kyoto::io

template <>
struct std::is_error_code_enum<kyoto::io::errc> : std::true_type {};

namespace kyoto::detail {

/// Throws std::system_error(err, system_category) whose message names
/// `operation` ("kyoto::net::tcp_stream::read: Connection reset by peer").
[[noreturn]] KYOTO_EXPORT void throw_io_error(int err, const char* operation);

/// Throws std::system_error for a kyoto::io::errc, naming `operation`.
[[noreturn]] KYOTO_EXPORT void throw_io_error(io::errc e, const char* operation);

}  // namespace kyoto::detail
