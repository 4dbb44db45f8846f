#include "net/datagram_stash.hpp"
#include "net/socket.hpp"
#include "sim/hooks.hpp"

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/net/udp_socket.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

namespace kyoto::net {

udp_socket::udp_socket(detail::socket_fd sock)
    : sock_(std::move(sock)), stash_(std::make_unique<detail::datagram_stash>()) {}

udp_socket::udp_socket(udp_socket&&) noexcept = default;
udp_socket& udp_socket::operator=(udp_socket&&) noexcept = default;
udp_socket::~udp_socket() = default;

task<udp_socket> udp_socket::bind(socket_addr addr) {
  constexpr const char* op = "kyoto::net::udp_socket::bind";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_DGRAM, op);
  if (detail::sys_bind(s.get(), addr.native(), addr.native_size()) != 0)
    detail::throw_io_error(errno, op);
  co_return udp_socket(std::move(s));
}

task<udp_socket> udp_socket::bind(std::string host_port) {
  co_return co_await detail::first_that_succeeds<udp_socket>(
      co_await lookup_host(std::move(host_port)),
      [](const socket_addr& a) { return udp_socket::bind(a); }, "kyoto::net::udp_socket::bind");
}

task<void> udp_socket::connect(socket_addr addr) {
  if (detail::sys_connect(sock_.get(), addr.native(), addr.native_size()) != 0) {
    detail::throw_io_error(errno, "kyoto::net::udp_socket::connect");
  }
  co_return;
}

task<void> udp_socket::connect(std::string host_port) {
  const std::vector<socket_addr> addrs = co_await lookup_host(std::move(host_port));
  int err = EADDRNOTAVAIL;
  for (const socket_addr& a : addrs) {
    if (detail::sys_connect(sock_.get(), a.native(), a.native_size()) == 0) co_return;
    err = errno;
  }
  detail::throw_io_error(err, "kyoto::net::udp_socket::connect");
}

socket_addr udp_socket::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_.get(), "kyoto::net::udp_socket::local_addr");
}

socket_addr udp_socket::peer_addr() const {
  return detail::peer_addr_of<socket_addr>(sock_.get(), "kyoto::net::udp_socket::peer_addr");
}

void udp_socket::set_broadcast(bool on) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0,
                            "kyoto::net::udp_socket::set_broadcast");
}

bool udp_socket::broadcast() const {
  return detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_BROADCAST,
                                   "kyoto::net::udp_socket::broadcast") != 0;
}

void udp_socket::set_ttl(int ttl) {
  constexpr const char* op = "kyoto::net::udp_socket::set_ttl";
  if (detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_DOMAIN, op) == AF_INET6) {
    detail::set_socket_option(sock_.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, op);
  } else {
    detail::set_socket_option(sock_.get(), IPPROTO_IP, IP_TTL, ttl, op);
  }
}

int udp_socket::ttl() const {
  constexpr const char* op = "kyoto::net::udp_socket::ttl";
  if (detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_DOMAIN, op) == AF_INET6) {
    return detail::get_socket_option(sock_.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, op);
  }
  return detail::get_socket_option(sock_.get(), IPPROTO_IP, IP_TTL, op);
}

}  // namespace kyoto::net
