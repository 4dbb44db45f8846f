// kyoto::net::tcp_stream: a TCP connection (tokio::net::TcpStream).
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/net/detail/stream_ops.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace kyoto::net {

class tcp_read_half;
class tcp_write_half;

/// A connected TCP socket. Reads and writes are io_uring requests on the
/// ring of the thread that awaits them; the awaiting task resumes on that
/// thread's worker.
///
/// Thread safety: one task reads and one writes at a time; to read and
/// write from two tasks, split() it. Move-only; moving or destroying it
/// while an operation on it is pending is undefined (await or cancel it
/// first). Each operation documents its cancel safety: read and peek are
/// cancel safe, writes and read_exact are not.
class KYOTO_EXPORT tcp_stream : public detail::stream_reads<tcp_stream>,
                                public detail::stream_writes<tcp_stream> {
 public:
  /// Connects to `addr`. Throws std::system_error (ECONNREFUSED, ...).
  /// Cancel safe (a cancelled connect closes its socket).
  static task<tcp_stream> connect(socket_addr addr);
  /// Resolves "host:port" (lookup_host) and connects to the first address
  /// that accepts. Throws std::system_error from the last attempt.
  static task<tcp_stream> connect(std::string host_port);

  /// Adopts a connected socket (blocking mode, as kyoto makes them).
  explicit tcp_stream(detail::socket_fd sock) noexcept : sock_(std::move(sock)) {}
  /// Takes over the socket; the moved-from stream owns none (only
  /// assigning to it or destroying it is valid).
  tcp_stream(tcp_stream&&) noexcept = default;
  /// Closes this stream's socket and takes over `other`'s, which is left
  /// without one.
  tcp_stream& operator=(tcp_stream&&) noexcept = default;

  /// Sets TCP_NODELAY (Nagle off). Throws std::system_error.
  void set_nodelay(bool on);
  /// Whether TCP_NODELAY is set. Throws std::system_error.
  bool nodelay() const;
  /// The local end's address. Throws std::system_error.
  socket_addr local_addr() const;
  /// The peer's address. Throws std::system_error (ENOTCONN).
  socket_addr peer_addr() const;
  /// Sets IP_TTL. Throws std::system_error.
  void set_ttl(int ttl);
  /// IP_TTL. Throws std::system_error.
  int ttl() const;
  /// Sets SO_LINGER: with a duration, closing the stream waits up to that
  /// long for unsent data to go (0: closing resets the connection, the
  /// peer reads ECONNRESET); nullopt: close returns at once and the kernel
  /// sends in the background (the default). Throws std::invalid_argument
  /// for a negative duration, std::system_error.
  void set_linger(std::optional<std::chrono::seconds> linger);
  /// SO_LINGER (nullopt: off). Throws std::system_error.
  std::optional<std::chrono::seconds> linger() const;
  /// The descriptor (still owned by the stream).
  int native_handle() const noexcept { return sock_.get(); }

  /// Splits the stream into a read half and a write half that two tasks
  /// may use at once (tokio's into_split). The socket closes when both are
  /// gone; dropping the write half shuts the write side down.
  std::pair<tcp_read_half, tcp_write_half> split() &&;

  /// The operation names the read/write mixins put in their error
  /// messages (used by the library, not by users).
  static constexpr detail::stream_names names{
      "kyoto::net::tcp_stream::read",       "kyoto::net::tcp_stream::peek",
      "kyoto::net::tcp_stream::read_exact", "kyoto::net::tcp_stream::write",
      "kyoto::net::tcp_stream::write_all",  "kyoto::net::tcp_stream::shutdown",
  };
  /// For the read/write mixins.
  detail::socket_fd& socket_ref() noexcept { return sock_; }

 private:
  detail::socket_fd sock_;
};

/// The read half of a split tcp_stream: read, peek, read_exact. Owned by
/// one task at a time; cancel safety as tcp_stream's.
class KYOTO_EXPORT tcp_read_half : public detail::stream_reads<tcp_read_half>,
                                   public detail::split_half {
 public:
  using split_half::split_half;
  /// See tcp_stream.
  socket_addr local_addr() const;
  /// The peer's address. Throws std::system_error (ENOTCONN).
  socket_addr peer_addr() const;

  /// As tcp_stream::names.
  static constexpr detail::stream_names names = tcp_stream::names;
};

/// The write half of a split tcp_stream: write, write_all, shutdown.
/// Dropping it shuts the write side down (the peer reads end of stream).
class KYOTO_EXPORT tcp_write_half : public detail::stream_writes<tcp_write_half>,
                                    public detail::split_write_half {
 public:
  using split_write_half::split_write_half;
  /// See tcp_stream.
  socket_addr local_addr() const;
  /// The peer's address. Throws std::system_error (ENOTCONN).
  socket_addr peer_addr() const;

  /// As tcp_stream::names.
  static constexpr detail::stream_names names = tcp_stream::names;
};

}  // namespace kyoto::net
