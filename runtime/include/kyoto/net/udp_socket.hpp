// kyoto::net::udp_socket: a UDP socket (tokio::net::UdpSocket).
//
// Receives are cancel safe through a datagram stash, as every kyoto
// datagram socket's: see kyoto/net/detail/datagram.hpp.
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/datagram.hpp>
#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace kyoto::detail {

/// datagram_recv_awaiter for recv and peek: gives the datagram's size.
class udp_recv_awaiter : public datagram_recv_awaiter {
 public:
  using datagram_recv_awaiter::datagram_recv_awaiter;
};

/// datagram_recv_awaiter for recv_from and peek_from: gives the datagram's
/// size and its source address.
class udp_recv_from_awaiter : public datagram_recv_awaiter {
 public:
  using datagram_recv_awaiter::datagram_recv_awaiter;
  std::pair<std::size_t, net::socket_addr> await_resume() {
    const std::size_t n = datagram_recv_awaiter::await_resume();
    sockaddr_storage ss{};
    const socklen_t len = source(ss);
    return {n, net::socket_addr(reinterpret_cast<const sockaddr*>(&ss), len)};
  }
};

/// datagram_send_awaiter to the connected peer or to a net::socket_addr.
class udp_send_awaiter : public datagram_send_awaiter {
 public:
  /// To the connected peer.
  udp_send_awaiter(int fd, std::span<const std::byte> buf, const char* operation) noexcept
      : datagram_send_awaiter(fd, buf, operation) {}
  /// To `to`.
  udp_send_awaiter(int fd, std::span<const std::byte> buf, const net::socket_addr& to,
                   const char* operation) noexcept
      : datagram_send_awaiter(fd, buf, to.native(), to.native_size(), operation) {}
};

}  // namespace kyoto::detail

namespace kyoto::net {

/// A UDP socket: sends and receives datagrams, to and from any address, or
/// (once connect()ed) to and from one peer. Every send and receive is an
/// io_uring request on the ring of the thread that awaits it; the awaiting
/// task resumes on that thread's worker.
///
/// Thread safety: unlike kyoto's streams, several tasks may send and
/// receive on one socket at once (share it, e.g. through a
/// std::shared_ptr, as tokio's examples share an Arc<UdpSocket>); the
/// option setters and getters are plain system calls, safe from any thread.
/// Move-only; moving or destroying it while an operation on it is pending
/// is undefined (await or cancel it first).
///
/// Cancel safety: recv, recv_from, peek and peek_from are cancel safe (a
/// datagram a cancelled receive got is returned by the next receive);
/// send and send_to are not (a cancelled send may or may not have sent its
/// datagram, never part of it).
///
/// Errors: std::system_error with errno, whose message names the operation
/// ("kyoto::net::udp_socket::send_to: Message too long").
class KYOTO_EXPORT udp_socket {
 public:
  /// Opens a socket of `addr`'s family and binds it to `addr` (port 0: the
  /// kernel picks a free port; see local_addr()). Throws std::system_error
  /// (EADDRINUSE, EADDRNOTAVAIL, ...). Cancel safe.
  static task<udp_socket> bind(socket_addr addr);
  /// Resolves "host:port" (lookup_host) and binds to the first address that
  /// works. Throws std::invalid_argument for text without a port,
  /// std::system_error from the resolver or from the last bind tried.
  static task<udp_socket> bind(std::string host_port);

  /// Adopts a UDP socket (blocking mode, as kyoto makes them). Throws
  /// std::bad_alloc.
  explicit udp_socket(detail::socket_fd sock);
  /// Moves the socket and its stash (no operation may be pending on it).
  udp_socket(udp_socket&&) noexcept;
  /// Closes this socket and takes `other`'s (none may have a pending
  /// operation).
  udp_socket& operator=(udp_socket&&) noexcept;
  /// Closes the socket; stashed datagrams are dropped.
  ~udp_socket();

  /// Sets the socket's peer: send() and recv() then talk to `addr` only,
  /// and datagrams from other addresses are dropped by the kernel. Never
  /// suspends (a UDP connect sends nothing); a task to match tokio's
  /// signature. Throws std::system_error (EAFNOSUPPORT for an address of
  /// the other family, ...).
  task<void> connect(socket_addr addr);
  /// Resolves "host:port" and connects to the first address that works.
  /// Throws as bind(std::string).
  task<void> connect(std::string host_port);

  /// Sends `buf` as one datagram to `to`; gives its size. Not cancel safe
  /// (see the class comment). Throws std::system_error naming
  /// "kyoto::net::udp_socket::send_to" (EMSGSIZE above 65,507 bytes over
  /// IPv4, ...).
  detail::udp_send_awaiter send_to(std::span<const std::byte> buf, const socket_addr& to) noexcept {
    return detail::udp_send_awaiter(sock_.get(), buf, to, "kyoto::net::udp_socket::send_to");
  }
  /// send_to() of a string's bytes (the string must outlive the await).
  detail::udp_send_awaiter send_to(std::string_view s, const socket_addr& to) noexcept {
    return send_to(std::as_bytes(std::span(s)), to);
  }
  /// Sends `buf` as one datagram to the connected peer; gives its size. Not
  /// cancel safe. Throws std::system_error (EDESTADDRREQ if not connected;
  /// ECONNREFUSED if an earlier datagram was refused by the peer).
  detail::udp_send_awaiter send(std::span<const std::byte> buf) noexcept {
    return detail::udp_send_awaiter(sock_.get(), buf, "kyoto::net::udp_socket::send");
  }
  /// send() of a string's bytes (the string must outlive the await).
  detail::udp_send_awaiter send(std::string_view s) noexcept {
    return send(std::as_bytes(std::span(s)));
  }

  /// Receives one datagram into `buf`; gives its size and its source. A
  /// datagram longer than `buf` is cut to fit (the rest is discarded). An
  /// empty buffer still takes a datagram. Cancel safe (see the class
  /// comment). Throws std::system_error naming
  /// "kyoto::net::udp_socket::recv_from".
  detail::udp_recv_from_awaiter recv_from(std::span<std::byte> buf) noexcept {
    return detail::udp_recv_from_awaiter(*stash_, sock_.get(), buf,
                                         detail::datagram_recv_awaiter::mode::recv_from,
                                         "kyoto::net::udp_socket::recv_from");
  }
  /// Like recv_from(), but the datagram stays queued for the next receive.
  /// Cancel safe.
  detail::udp_recv_from_awaiter peek_from(std::span<std::byte> buf) noexcept {
    return detail::udp_recv_from_awaiter(*stash_, sock_.get(), buf,
                                         detail::datagram_recv_awaiter::mode::peek_from,
                                         "kyoto::net::udp_socket::peek_from");
  }
  /// Receives one datagram from the connected peer into `buf`; gives its
  /// size (cut to fit, as recv_from). Cancel safe. Throws std::system_error
  /// (ECONNREFUSED if an earlier datagram was refused by the peer).
  detail::udp_recv_awaiter recv(std::span<std::byte> buf) noexcept {
    return detail::udp_recv_awaiter(*stash_, sock_.get(), buf,
                                    detail::datagram_recv_awaiter::mode::recv,
                                    "kyoto::net::udp_socket::recv");
  }
  /// Like recv(), but the datagram stays queued for the next receive.
  /// Cancel safe.
  detail::udp_recv_awaiter peek(std::span<std::byte> buf) noexcept {
    return detail::udp_recv_awaiter(*stash_, sock_.get(), buf,
                                    detail::datagram_recv_awaiter::mode::peek,
                                    "kyoto::net::udp_socket::peek");
  }

  /// The bound address (with the port the kernel chose). Throws
  /// std::system_error.
  socket_addr local_addr() const;
  /// The connected peer's address. Throws std::system_error (ENOTCONN).
  socket_addr peer_addr() const;

  /// Sets SO_BROADCAST (may send to a broadcast address). Throws
  /// std::system_error.
  void set_broadcast(bool on);
  /// Whether SO_BROADCAST is set. Throws std::system_error.
  bool broadcast() const;
  /// Sets the time-to-live of outgoing datagrams: IP_TTL on an IPv4
  /// socket, IPV6_UNICAST_HOPS on an IPv6 one. Throws std::system_error
  /// (EINVAL outside 1..255).
  void set_ttl(int ttl);
  /// The time-to-live set_ttl() sets. Throws std::system_error.
  int ttl() const;

  /// The descriptor (still owned by the socket).
  int native_handle() const noexcept { return sock_.get(); }

 private:
  detail::socket_fd sock_;
  std::unique_ptr<detail::datagram_stash> stash_;  ///< never null unless moved from
};

}  // namespace kyoto::net
