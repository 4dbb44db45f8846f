// kyoto::net::tcp_listener: a listening TCP socket (tokio::net::TcpListener).
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <string>
#include <utility>

namespace kyoto::net {

/// A TCP socket listening for connections.
///
/// Thread safety: accept() from one task at a time; local_addr() from any.
/// Move-only; not while an accept is pending.
class KYOTO_EXPORT tcp_listener {
 public:
  /// The listen backlog bind() uses unless told otherwise (tokio's).
  static constexpr int default_backlog = 1024;

  /// Binds to `addr` (SO_REUSEADDR set, as tokio does) and listens. Port
  /// 0 picks a free port: see local_addr(). Throws std::system_error
  /// (EADDRINUSE, ...).
  static task<tcp_listener> bind(socket_addr addr, int backlog = default_backlog);
  /// Resolves "host:port" (lookup_host) and binds to the first address
  /// that works.
  static task<tcp_listener> bind(std::string host_port, int backlog = default_backlog);

  /// Adopts a listening socket.
  explicit tcp_listener(detail::socket_fd sock) noexcept : sock_(std::move(sock)) {}

  /// Waits for a connection; gives the stream and the peer's address.
  /// When the process is out of descriptors (EMFILE, ENFILE) or memory, it
  /// backs off (1 ms doubling to 100 ms, logged) and keeps trying; a
  /// connection aborted before it was accepted is skipped. Cancel safe: a
  /// connection accepted by a cancelled accept is returned by the next one.
  /// Throws std::system_error for other errors.
  task<std::pair<tcp_stream, socket_addr>> accept();

  /// The bound address (with the port the kernel chose). Throws
  /// std::system_error.
  socket_addr local_addr() const;
  /// The descriptor (still owned by the listener).
  int native_handle() const noexcept { return sock_.get(); }

 private:
  detail::socket_fd sock_;
};

}  // namespace kyoto::net
