// kyoto::net::tcp_socket: a TCP socket not yet connected or listening
// (tokio::net::TcpSocket), to set options before bind, listen or connect.
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace kyoto::net {

/// A TCP socket that is neither connected nor listening yet: set its
/// options (SO_REUSEADDR, SO_REUSEPORT, buffer sizes, ...), bind() it if
/// the local address matters, then turn it into a tcp_listener with
/// listen() or into a tcp_stream with connect(). listen() and connect()
/// consume the socket, as tokio's take `self`: call them on an rvalue
/// (`std::move(s).listen(128)`).
///
/// Thread safety: the setters and getters are plain system calls, safe
/// from any thread; as a plain object otherwise. Move-only.
///
/// Errors: std::system_error with errno, whose message names the operation
/// and, for bind and connect, the address ("kyoto::net::tcp_socket::bind
/// 127.0.0.1:80: Permission denied").
class KYOTO_EXPORT tcp_socket {
 public:
  /// A new IPv4 TCP socket (close-on-exec). Throws std::system_error
  /// (EMFILE, ...).
  static tcp_socket new_v4();
  /// A new IPv6 TCP socket. Throws std::system_error (EAFNOSUPPORT where
  /// IPv6 is off, EMFILE, ...).
  static tcp_socket new_v6();

  /// Adopts a TCP socket that is neither connected nor listening.
  explicit tcp_socket(detail::socket_fd sock) noexcept : sock_(std::move(sock)) {}
  /// Takes over the socket; the moved-from one owns none.
  tcp_socket(tcp_socket&&) noexcept = default;
  /// Closes this socket and takes over `other`'s.
  tcp_socket& operator=(tcp_socket&&) noexcept = default;

  /// Sets SO_REUSEADDR: bind to a port still in TIME_WAIT. Throws
  /// std::system_error.
  void set_reuseaddr(bool on);
  /// Whether SO_REUSEADDR is set. Throws std::system_error.
  bool reuseaddr() const;
  /// Sets SO_REUSEPORT: several sockets (all with it set, same user) may
  /// bind the same address and port; the kernel spreads connections over
  /// them. Throws std::system_error.
  void set_reuseport(bool on);
  /// Whether SO_REUSEPORT is set. Throws std::system_error.
  bool reuseport() const;
  /// Sets SO_SNDBUF. Linux doubles the value (for its bookkeeping) and
  /// clamps it to net.core.wmem_max/2: send_buffer_size() gives what it
  /// kept. Throws std::system_error.
  void set_send_buffer_size(std::uint32_t size);
  /// SO_SNDBUF, as the kernel keeps it (see set_send_buffer_size). Throws
  /// std::system_error.
  std::uint32_t send_buffer_size() const;
  /// Sets SO_RCVBUF (doubled and clamped as SO_SNDBUF). Throws
  /// std::system_error.
  void set_recv_buffer_size(std::uint32_t size);
  /// SO_RCVBUF, as the kernel keeps it. Throws std::system_error.
  std::uint32_t recv_buffer_size() const;
  /// Sets SO_KEEPALIVE. Throws std::system_error.
  void set_keepalive(bool on);
  /// Whether SO_KEEPALIVE is set. Throws std::system_error.
  bool keepalive() const;
  /// Sets SO_LINGER: with a duration, closing the socket waits up to that
  /// long for unsent data to go (0: close resets the connection at once);
  /// nullopt: close returns at once and the kernel sends in the
  /// background (the default). Throws std::invalid_argument for a negative
  /// duration, std::system_error.
  void set_linger(std::optional<std::chrono::seconds> linger);
  /// SO_LINGER (nullopt: off). Throws std::system_error.
  std::optional<std::chrono::seconds> linger() const;
  /// Sets TCP_NODELAY (Nagle off), inherited by the connected stream.
  /// Throws std::system_error.
  void set_nodelay(bool on);
  /// Whether TCP_NODELAY is set. Throws std::system_error.
  bool nodelay() const;

  /// Binds to `addr` (port 0: the kernel picks one; see local_addr()).
  /// Throws std::system_error naming the address (EADDRINUSE,
  /// EACCES for a privileged port, EINVAL if already bound, EAFNOSUPPORT
  /// for an address of the other family).
  void bind(const socket_addr& addr);
  /// The bound address. Throws std::system_error.
  socket_addr local_addr() const;

  /// Listens with a queue of `backlog` pending connections and gives the
  /// listener (unbound: the kernel binds an ephemeral port). Never
  /// suspends. Throws std::system_error (EADDRINUSE: the port is taken).
  tcp_listener listen(int backlog) &&;
  /// Connects to `addr` and gives the stream (unbound: the kernel picks the
  /// local address). Resumes on the awaiting thread. Throws
  /// std::system_error naming the address (ECONNREFUSED, ...). Cancel
  /// safe: a cancelled connect closes the socket.
  task<tcp_stream> connect(socket_addr addr) &&;

  /// The descriptor (still owned by the socket).
  int native_handle() const noexcept { return sock_.get(); }

 private:
  detail::socket_fd sock_;
};

}  // namespace kyoto::net
