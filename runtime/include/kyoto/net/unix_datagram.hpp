// kyoto::net::unix_datagram: a Unix-domain datagram socket
// (tokio::net::UnixDatagram).
//
// Receives are cancel safe through a datagram stash, as every kyoto
// datagram socket's: see kyoto/net/detail/datagram.hpp.
#pragma once

#include <kyoto/net/unix_socket_addr.hpp>

#include <kyoto/net/detail/datagram.hpp>
#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace kyoto::detail {

/// datagram_recv_awaiter for unix_datagram::recv_from: gives the
/// datagram's size and its source address (unnamed for a sender that never
/// bound).
class unix_recv_from_awaiter : public datagram_recv_awaiter {
 public:
  using datagram_recv_awaiter::datagram_recv_awaiter;
  std::pair<std::size_t, net::unix_socket_addr> await_resume() {
    const std::size_t n = datagram_recv_awaiter::await_resume();
    sockaddr_storage ss{};
    const socklen_t len = source(ss);
    if (len <= sizeof(sa_family_t)) return {n, net::unix_socket_addr()};
    return {n, net::unix_socket_addr(reinterpret_cast<const sockaddr*>(&ss), len)};
  }
};

}  // namespace kyoto::detail

namespace kyoto::net {

/// Which directions shutdown() closes (std::net::Shutdown).
enum class shutdown_how : std::uint8_t {
  read = SHUT_RD,    ///< no more receives: they give 0 bytes at once
  write = SHUT_WR,   ///< no more sends: they fail with EPIPE
  both = SHUT_RDWR,  ///< both
};

/// A Unix-domain datagram socket: sends and receives whole datagrams, to
/// and from any socket path, or (once connect()ed) to and from one peer.
/// Datagrams are reliable and ordered on Unix sockets (no loss, unlike
/// UDP); a send waits while the receiver's queue is full. Every send and
/// receive is an io_uring request on the ring of the thread that awaits
/// it; the awaiting task resumes on that thread's worker.
///
/// Thread safety: as udp_socket's, several tasks may send and receive on
/// one socket at once (share it, e.g. through a std::shared_ptr); the
/// other members are plain system calls, safe from any thread. Move-only;
/// moving or destroying it while an operation on it is pending is
/// undefined (await or cancel it first). The socket file of a bound socket
/// stays when it is destroyed (as with tokio's): remove it before binding
/// the same path again.
///
/// Cancel safety: recv and recv_from are cancel safe (a datagram a
/// cancelled receive got is returned by the next receive); send and
/// send_to are not (a cancelled send may or may not have sent its
/// datagram, never part of it).
///
/// Errors: std::system_error with errno, whose message names the operation
/// and, where one is given, the address ("kyoto::net::unix_datagram::send_to
/// \"/tmp/x.sock\": No such file or directory").
class KYOTO_EXPORT unix_datagram {
 public:
  /// Creates the socket file at `path` and binds a new socket to it. Never
  /// suspends. Throws std::invalid_argument for a path a sockaddr_un cannot
  /// hold, std::system_error naming "kyoto::net::unix_datagram::bind" and
  /// the path (EADDRINUSE if the file exists, ENOENT if its directory does
  /// not, ...).
  static unix_datagram bind(const std::filesystem::path& path);
  /// Binds a new socket to `addr` (a path or an abstract name). As above.
  static unix_datagram bind(const unix_socket_addr& addr);
  /// A new socket bound to no address: it can send_to() any path, and
  /// receive replies only once connected (a datagram to an unnamed socket
  /// cannot be addressed). Throws std::system_error (EMFILE, ...).
  static unix_datagram unbound();
  /// A pair of connected, unnamed sockets (socketpair(2)): what one sends
  /// the other receives. Throws std::system_error (EMFILE, ...).
  static std::pair<unix_datagram, unix_datagram> pair();

  /// Adopts a Unix-domain datagram socket (blocking mode, as kyoto makes
  /// them). Throws std::bad_alloc.
  explicit unix_datagram(detail::socket_fd sock);
  /// Moves the socket and its stash (no operation may be pending on it).
  unix_datagram(unix_datagram&&) noexcept;
  /// Closes this socket and takes `other`'s (none may have a pending
  /// operation).
  unix_datagram& operator=(unix_datagram&&) noexcept;
  /// Closes the socket; stashed datagrams are dropped.
  ~unix_datagram();

  /// Sets the socket's peer: send() and recv() then talk to it only, and
  /// the kernel drops datagrams from other sockets. Never suspends (tokio's
  /// is synchronous too). Throws std::invalid_argument for a path a
  /// sockaddr_un cannot hold, std::system_error naming
  /// "kyoto::net::unix_datagram::connect" and the path (ENOENT: no such
  /// socket; ECONNREFUSED: the file is not a bound socket).
  void connect(const std::filesystem::path& path);
  /// Connects to `addr` (a path or an abstract name). As above.
  void connect(const unix_socket_addr& addr);

  /// Sends `buf` as one datagram to the connected peer; gives its size.
  /// Waits while the peer's queue is full. Not cancel safe. Throws
  /// std::system_error (ENOTCONN if not connected, ECONNREFUSED once the
  /// peer is gone, EMSGSIZE above the socket's send buffer).
  detail::datagram_send_awaiter send(std::span<const std::byte> buf) noexcept {
    return detail::datagram_send_awaiter(sock_.get(), buf, "kyoto::net::unix_datagram::send");
  }
  /// send() of a string's bytes (the string must outlive the await).
  detail::datagram_send_awaiter send(std::string_view s) noexcept {
    return send(std::as_bytes(std::span(s)));
  }
  /// Sends `buf` as one datagram to the socket at `to`; gives its size.
  /// Not cancel safe. Throws std::system_error naming
  /// "kyoto::net::unix_datagram::send_to" (ENOENT: no socket there,
  /// ECONNREFUSED: the file is not a bound datagram socket, ...).
  detail::datagram_send_awaiter send_to(std::span<const std::byte> buf,
                                        const unix_socket_addr& to) noexcept {
    return detail::datagram_send_awaiter(sock_.get(), buf, to.native(), to.native_size(),
                                         "kyoto::net::unix_datagram::send_to");
  }
  /// send_to() the socket file at `path`. Throws std::invalid_argument
  /// (at once) for a path a sockaddr_un cannot hold.
  detail::datagram_send_awaiter send_to(std::span<const std::byte> buf,
                                        const std::filesystem::path& path) {
    return send_to(buf, unix_socket_addr::from_pathname(path));
  }
  /// send_to() of a string's bytes (the string must outlive the await).
  detail::datagram_send_awaiter send_to(std::string_view s, const unix_socket_addr& to) noexcept {
    return send_to(std::as_bytes(std::span(s)), to);
  }
  /// send_to() of a string's bytes to the socket file at `path`.
  detail::datagram_send_awaiter send_to(std::string_view s, const std::filesystem::path& path) {
    return send_to(std::as_bytes(std::span(s)), path);
  }

  /// Receives one datagram into `buf`; gives its size (a longer datagram
  /// is cut to fit, the rest discarded). Cancel safe. Throws
  /// std::system_error naming "kyoto::net::unix_datagram::recv".
  detail::datagram_recv_awaiter recv(std::span<std::byte> buf) noexcept {
    return detail::datagram_recv_awaiter(*stash_, sock_.get(), buf,
                                         detail::datagram_recv_awaiter::mode::recv,
                                         "kyoto::net::unix_datagram::recv");
  }
  /// Receives one datagram into `buf`; gives its size and the sender's
  /// address (unnamed if the sender never bound one). Cancel safe. Throws
  /// std::system_error naming "kyoto::net::unix_datagram::recv_from".
  detail::unix_recv_from_awaiter recv_from(std::span<std::byte> buf) noexcept {
    return detail::unix_recv_from_awaiter(*stash_, sock_.get(), buf,
                                          detail::datagram_recv_awaiter::mode::recv_from,
                                          "kyoto::net::unix_datagram::recv_from");
  }

  /// The bound address (unnamed if not bound). Throws std::system_error.
  unix_socket_addr local_addr() const;
  /// The connected peer's address. Throws std::system_error (ENOTCONN).
  unix_socket_addr peer_addr() const;
  /// Shuts down receiving, sending or both: a receive waiting on the
  /// socket, and every later one, gives 0 bytes after SHUT_RD; a send fails
  /// with EPIPE after SHUT_WR. Throws std::system_error.
  void shutdown(shutdown_how how);

  /// The descriptor (still owned by the socket).
  int native_handle() const noexcept { return sock_.get(); }

 private:
  detail::socket_fd sock_;
  std::unique_ptr<detail::datagram_stash> stash_;  ///< never null unless moved from
};

}  // namespace kyoto::net
