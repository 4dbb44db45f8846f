// kyoto::net::socket_addr: an IPv4 or IPv6 address and a port (tokio's
// std::net::SocketAddr).
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace kyoto::net {

/// An IP socket address: IPv4 (`127.0.0.1:8080`) or IPv6 (`[::1]:8080`,
/// with an optional `%scope` after the address).
///
/// A value type: copy it freely. Thread safety: as an int.
class KYOTO_EXPORT socket_addr {
 public:
  /// 0.0.0.0:0.
  socket_addr() noexcept;
  /// From a sockaddr the kernel filled (accept, getsockname, recvfrom).
  /// Throws std::invalid_argument if it is neither AF_INET nor AF_INET6.
  socket_addr(const sockaddr* sa, socklen_t len);

  /// Parses "a.b.c.d:port" or "[v6]:port". Throws std::invalid_argument
  /// naming the text and what is wrong with it.
  static socket_addr parse(std::string_view text);
  /// As parse(), without throwing: nullopt if `text` is not an address.
  static std::optional<socket_addr> try_parse(std::string_view text) noexcept;
  /// An address without a port ("127.0.0.1", "::1") and a port.
  /// Throws std::invalid_argument.
  static socket_addr from_ip(std::string_view ip, std::uint16_t port);

  /// IPv4 loopback (127.0.0.1) with `port`.
  static socket_addr localhost_v4(std::uint16_t port = 0) noexcept;
  /// IPv6 loopback (::1) with `port`.
  static socket_addr localhost_v6(std::uint16_t port = 0) noexcept;

  /// Whether this is an IPv4 address (AF_INET).
  bool is_ipv4() const noexcept { return storage_.v4.sin_family == AF_INET; }
  /// Whether this is an IPv6 address (AF_INET6).
  bool is_ipv6() const noexcept { return storage_.v6.sin6_family == AF_INET6; }
  /// Whether the address is 127.0.0.0/8 or ::1.
  bool is_loopback() const noexcept;

  /// The port, in host byte order.
  std::uint16_t port() const noexcept;
  /// Replaces the port (host byte order); the IP is unchanged.
  void set_port(std::uint16_t port) noexcept;

  /// The address without the port: "127.0.0.1", "::1".
  std::string ip() const;
  /// "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;

  /// For system calls.
  const sockaddr* native() const noexcept { return &storage_.any; }
  /// The length of native()'s address: sizeof(sockaddr_in) or
  /// sizeof(sockaddr_in6).
  socklen_t native_size() const noexcept {
    return is_ipv4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  }
  /// AF_INET or AF_INET6.
  int family() const noexcept { return storage_.any.sa_family; }

  friend bool operator==(const socket_addr& a, const socket_addr& b) noexcept;

 private:
  union {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage_;
};

/// Same family, address and port (and, for IPv6, scope).
KYOTO_EXPORT bool operator==(const socket_addr& a, const socket_addr& b) noexcept;

/// Writes to_string().
KYOTO_EXPORT std::ostream& operator<<(std::ostream& os, const socket_addr& a);

}  // namespace kyoto::net
