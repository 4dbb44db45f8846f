// kyoto::net::unix_stream: a connected Unix-domain stream socket
// (tokio::net::UnixStream).
#pragma once

#include <kyoto/net/unix_socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/net/detail/stream_ops.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <filesystem>
#include <utility>

namespace kyoto::net {

class unix_read_half;
class unix_write_half;

/// A connected Unix-domain stream socket. Reads and writes are io_uring
/// requests on the ring of the thread that awaits them; the awaiting task
/// resumes on that thread's worker.
///
/// Thread safety: one task reads and one writes at a time; to read and
/// write from two tasks, split() it. Move-only; moving or destroying it
/// while an operation on it is pending is undefined (await or cancel it
/// first). Cancel safety: read and peek are cancel safe (bytes a cancelled
/// read received are returned by the next read); write, write_all and
/// read_exact are not; connect is (a cancelled connect closes its socket).
///
/// Errors: std::system_error with errno, whose message names the operation
/// ("kyoto::net::unix_stream::read: Connection reset by peer").
class KYOTO_EXPORT unix_stream : public detail::stream_reads<unix_stream>,
                                 public detail::stream_writes<unix_stream> {
 public:
  /// Connects to the socket file at `path`. Throws std::invalid_argument
  /// for a path a sockaddr_un cannot hold, std::system_error naming
  /// "kyoto::net::unix_stream::connect" (ENOENT: no such socket;
  /// ECONNREFUSED: nobody listens there). Cancel safe.
  static task<unix_stream> connect(std::filesystem::path path);
  /// Connects to `addr` (a path or an abstract name). As above.
  static task<unix_stream> connect(unix_socket_addr addr);
  /// A pair of connected, unnamed sockets (socketpair(2)): what one writes
  /// the other reads. Throws std::system_error (EMFILE, ...).
  static std::pair<unix_stream, unix_stream> pair();

  /// Adopts a connected Unix-domain stream socket (blocking mode, as kyoto
  /// makes them).
  explicit unix_stream(detail::socket_fd sock) noexcept : sock_(std::move(sock)) {}
  /// Takes over the socket; the moved-from stream owns none (only
  /// assigning to it or destroying it is valid).
  unix_stream(unix_stream&&) noexcept = default;
  /// Closes this stream's socket and takes over `other`'s, which is left
  /// without one.
  unix_stream& operator=(unix_stream&&) noexcept = default;

  /// This end's address (usually unnamed for a client). Throws
  /// std::system_error.
  unix_socket_addr local_addr() const;
  /// The peer's address (the listener's path for a client). Throws
  /// std::system_error.
  unix_socket_addr peer_addr() const;
  /// The peer process's credentials. Throws std::system_error.
  unix_peer_cred peer_cred() const;
  /// The descriptor (still owned by the stream).
  int native_handle() const noexcept { return sock_.get(); }

  /// Splits the stream into a read half and a write half that two tasks
  /// may use at once (tokio's into_split). The socket closes when both are
  /// gone; dropping the write half shuts the write side down.
  std::pair<unix_read_half, unix_write_half> split() &&;

  /// The operation names errors report (for the read/write mixins).
  static constexpr detail::stream_names names{
      "kyoto::net::unix_stream::read",       "kyoto::net::unix_stream::peek",
      "kyoto::net::unix_stream::read_exact", "kyoto::net::unix_stream::write",
      "kyoto::net::unix_stream::write_all",  "kyoto::net::unix_stream::shutdown",
  };
  /// For the read/write mixins.
  detail::socket_fd& socket_ref() noexcept { return sock_; }

 private:
  detail::socket_fd sock_;
};

/// The read half of a split unix_stream: read, peek, read_exact. Owned by
/// one task at a time (any thread); cancel safety as unix_stream's.
class KYOTO_EXPORT unix_read_half : public detail::stream_reads<unix_read_half>,
                                    public detail::split_half {
 public:
  /// Shares the socket with its write half.
  using split_half::split_half;
  /// See unix_stream.
  unix_socket_addr local_addr() const;
  /// See unix_stream.
  unix_socket_addr peer_addr() const;

  /// The operation names errors report.
  static constexpr detail::stream_names names = unix_stream::names;
};

/// The write half of a split unix_stream: write, write_all, shutdown.
/// Owned by one task at a time (any thread); cancel safety as
/// unix_stream's. Dropping it shuts the write side down (the peer reads
/// end of stream).
class KYOTO_EXPORT unix_write_half : public detail::stream_writes<unix_write_half>,
                                     public detail::split_write_half {
 public:
  /// Shares the socket with its read half. Assigning over the half, as
  /// destroying it, shuts the write side of the socket it held down.
  using split_write_half::split_write_half;
  /// See unix_stream.
  unix_socket_addr local_addr() const;
  /// See unix_stream.
  unix_socket_addr peer_addr() const;

  /// The operation names errors report.
  static constexpr detail::stream_names names = unix_stream::names;
};

}  // namespace kyoto::net
