// Which I/O backend a runtime runs on: io_uring, or the epoll readiness
// backend kyoto falls back to where io_uring is refused (docs/io.md,
// "Where io_uring is refused").
#pragma once

#include <cstdint>

namespace kyoto {

/// The I/O backend of a runtime's threads (runtime::builder::io_backend).
/// io_uring is kyoto's own; epoll (with a pool of file threads) serves the
/// same operations with the same cancel safety where a sandbox refuses
/// io_uring (docs/io.md lists what differs).
enum class io_backend : std::uint8_t {
  /// The KYOTO_IO_BACKEND environment variable's choice (auto, io_uring
  /// or epoll); unset or auto: io_uring, or epoll where io_uring_setup is
  /// refused (EPERM, EACCES, ENOSYS).
  automatic,
  /// io_uring only: build() throws std::system_error where it is refused.
  io_uring,
  /// epoll and the file pool, even where io_uring works.
  epoll,
};

}  // namespace kyoto
