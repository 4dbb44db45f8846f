// kyoto::net::unix_listener: a listening Unix-domain stream socket
// (tokio::net::UnixListener).
#pragma once

#include <kyoto/net/unix_stream.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <filesystem>
#include <utility>

namespace kyoto::net {

/// A Unix-domain stream socket listening for connections.
///
/// Thread safety: accept() from one task at a time; local_addr() from any
/// thread. Move-only; not while an accept is pending. The socket file stays
/// when the listener is destroyed (as with tokio's and std's): remove it
/// before binding the same path again.
class KYOTO_EXPORT unix_listener {
 public:
  /// The listen backlog bind() uses unless told otherwise.
  static constexpr int default_backlog = 1024;

  /// Creates the socket file at `path`, binds to it and listens. Never
  /// suspends (nothing to resolve), so it is not a task, as tokio's
  /// UnixListener::bind. Throws std::invalid_argument for a path a
  /// sockaddr_un cannot hold, std::system_error naming
  /// "kyoto::net::unix_listener::bind" (EADDRINUSE if the file exists,
  /// ENOENT if its directory does not, ...).
  static unix_listener bind(const std::filesystem::path& path, int backlog = default_backlog);
  /// Binds to `addr` (a path or an abstract name) and listens. As above.
  static unix_listener bind(const unix_socket_addr& addr, int backlog = default_backlog);

  /// Adopts a listening Unix-domain socket.
  explicit unix_listener(detail::socket_fd sock) noexcept : sock_(std::move(sock)) {}

  /// Waits for a connection; gives the stream and the peer's address
  /// (usually unnamed). Resumes on the thread that awaits it. When the
  /// process is out of descriptors (EMFILE, ENFILE) or memory, it backs off
  /// (1 ms doubling to 100 ms, logged) and keeps trying; a connection
  /// aborted before it was accepted is skipped. Cancel safe: a connection
  /// accepted by a cancelled accept is returned by the next one. Throws
  /// std::system_error naming "kyoto::net::unix_listener::accept" for
  /// other errors.
  task<std::pair<unix_stream, unix_socket_addr>> accept();

  /// The bound address. Throws std::system_error.
  unix_socket_addr local_addr() const;
  /// The descriptor (still owned by the listener).
  int native_handle() const noexcept { return sock_.get(); }

 private:
  detail::socket_fd sock_;
};

}  // namespace kyoto::net
