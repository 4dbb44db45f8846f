// kyoto::net::udp_socket: a UDP socket (tokio::net::UdpSocket).
//
// # Why a datagram stash
//
// On io_uring a receive is not "wait until readable, then read": the kernel
// takes the datagram off the socket's queue into our buffer and then
// completes. A receive cancelled by select or timeout may therefore already
// hold a datagram, which the socket no longer has. tokio documents recv and
// recv_from as cancel safe, and so does kyoto: the cancelled receive's
// destructor waits for the request to end (io_op.hpp) and, if a datagram
// came in, keeps it whole, with its source address, in the socket's stash;
// the next receive returns it first, without asking the kernel. (A datagram
// longer than the cancelled receive's buffer was already cut to it by the
// kernel, as that receive would have returned it.) Peeks leave the
// datagram in the kernel's queue, so a cancelled peek keeps nothing.
//
// Several tasks may send and receive on one socket at once (as tokio's
// `&self` methods allow), so the stash has a lock of its own; it is touched
// only when a receive starts and when a cancelled one ends.
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/net/detail/socket.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace kyoto::detail {

/// The datagrams cancelled receives took from the kernel (see the file
/// comment); defined in src/net/udp.cpp. Thread-safe.
class datagram_stash;

/// Awaits one datagram: a recv (connected socket, IORING_OP_RECV) or a
/// recvmsg that also gives the source address (IORING_OP_RECVMSG), either
/// of which may peek. The msghdr, iovec and source address live here; their
/// pointers are taken in await_suspend, once the awaiter no longer moves.
///
/// A stashed datagram is returned first, without suspending. Cancel safe:
/// a datagram a cancelled (non-peek) receive got goes to the stash.
class datagram_recv_awaiter {
 public:
  /// What to receive.
  enum class mode : std::uint8_t { recv, peek, recv_from, peek_from };

  datagram_recv_awaiter(datagram_stash& stash, int fd, std::span<std::byte> buf, mode m,
                        const char* operation) noexcept;
  datagram_recv_awaiter(datagram_recv_awaiter&& o) noexcept;
  datagram_recv_awaiter& operator=(datagram_recv_awaiter&&) = delete;
  ~datagram_recv_awaiter();

  bool await_ready() noexcept;
  void await_suspend(std::coroutine_handle<> h);
  /// The datagram's size in the buffer (the rest of a longer datagram is
  /// discarded, as recv(2) does). Throws std::system_error naming the
  /// operation.
  std::size_t await_resume();

 protected:
  /// The source address of the datagram await_resume() returned: as the
  /// kernel gave it, or the connected peer's when it is not known (a
  /// datagram a cancelled recv() stashed). Throws std::system_error.
  net::socket_addr source() const;

 private:
  static constexpr std::size_t not_ready = ~std::size_t{0};
  bool from() const noexcept { return mode_ == mode::recv_from || mode_ == mode::peek_from; }
  bool peek() const noexcept { return mode_ == mode::peek || mode_ == mode::peek_from; }

  datagram_stash* stash_;
  int fd_;
  std::span<std::byte> buf_;
  op_awaiter op_;
  const char* operation_;
  mode mode_;
  std::size_t ready_ = not_ready;  ///< a stashed datagram's size
  sockaddr_storage from_{};        ///< the source address (recvmsg, or the stash)
  iovec iov_{};
  msghdr msg_{};
};

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
    return {n, source()};
  }
};

/// Awaits the send of one datagram: to the connected peer
/// (IORING_OP_SEND) or to `to` (IORING_OP_SENDMSG; the msghdr and the
/// address live here). An empty datagram is sent too. Gives the bytes sent
/// (all of them: a datagram is never sent in part). Not cancel safe: a
/// cancelled send may or may not have sent the datagram.
class udp_send_awaiter {
 public:
  /// To the connected peer.
  udp_send_awaiter(int fd, std::span<const std::byte> buf, const char* operation) noexcept;
  /// To `to`.
  udp_send_awaiter(int fd, std::span<const std::byte> buf, const net::socket_addr& to,
                   const char* operation) noexcept;
  udp_send_awaiter(udp_send_awaiter&& o) noexcept;
  udp_send_awaiter& operator=(udp_send_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  /// Throws std::system_error naming the operation (EMSGSIZE, ECONNREFUSED
  /// after an ICMP port unreachable on a connected socket, ...).
  std::size_t await_resume();

 private:
  std::span<const std::byte> buf_;
  op_awaiter op_;
  const char* operation_;
  bool to_set_;
  net::socket_addr to_;
  iovec iov_{};
  msghdr msg_{};
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
class udp_socket {
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
