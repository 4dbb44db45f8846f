#include "net/socket.hpp"
#include "sim/hooks.hpp"

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <utility>

namespace kyoto::net {

// ---- tcp_stream ----

task<tcp_stream> tcp_stream::connect(socket_addr addr) {
  constexpr const char* op = "kyoto::net::tcp_stream::connect";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_STREAM, op);
  const int r = co_await detail::connect_awaiter(s.get(), addr.native(), addr.native_size());
  if (r < 0) detail::throw_io_error(-r, op);
  co_return tcp_stream(std::move(s));
}

task<tcp_stream> tcp_stream::connect(std::string host_port) {
  co_return co_await detail::first_that_succeeds<tcp_stream>(
      co_await lookup_host(std::move(host_port)),
      [](const socket_addr& a) { return tcp_stream::connect(a); },
      "kyoto::net::tcp_stream::connect");
}

void tcp_stream::set_nodelay(bool on) {
  detail::set_socket_option(sock_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0,
                            "kyoto::net::tcp_stream::set_nodelay");
}

bool tcp_stream::nodelay() const {
  return detail::get_socket_option(sock_.get(), IPPROTO_TCP, TCP_NODELAY,
                                   "kyoto::net::tcp_stream::nodelay") != 0;
}

void tcp_stream::set_ttl(int ttl) {
  detail::set_socket_option(sock_.get(), IPPROTO_IP, IP_TTL, ttl,
                            "kyoto::net::tcp_stream::set_ttl");
}

int tcp_stream::ttl() const {
  return detail::get_socket_option(sock_.get(), IPPROTO_IP, IP_TTL, "kyoto::net::tcp_stream::ttl");
}

void tcp_stream::set_linger(std::optional<std::chrono::seconds> linger) {
  detail::set_linger_option(sock_.get(), linger, "kyoto::net::tcp_stream::set_linger");
}

std::optional<std::chrono::seconds> tcp_stream::linger() const {
  return detail::linger_option(sock_.get(), "kyoto::net::tcp_stream::linger");
}

socket_addr tcp_stream::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_.get(), "kyoto::net::tcp_stream::local_addr");
}

socket_addr tcp_stream::peer_addr() const {
  return detail::peer_addr_of<socket_addr>(sock_.get(), "kyoto::net::tcp_stream::peer_addr");
}

std::pair<tcp_read_half, tcp_write_half> tcp_stream::split() && {
  auto shared = std::make_shared<detail::socket_fd>(std::move(sock_));
  return {tcp_read_half(shared), tcp_write_half(shared)};
}

socket_addr tcp_read_half::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_->get(), "kyoto::net::tcp_read_half::local_addr");
}

socket_addr tcp_read_half::peer_addr() const {
  return detail::peer_addr_of<socket_addr>(sock_->get(), "kyoto::net::tcp_read_half::peer_addr");
}

socket_addr tcp_write_half::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_->get(), "kyoto::net::tcp_write_half::local_addr");
}

socket_addr tcp_write_half::peer_addr() const {
  return detail::peer_addr_of<socket_addr>(sock_->get(), "kyoto::net::tcp_write_half::peer_addr");
}

// ---- tcp_listener ----

task<tcp_listener> tcp_listener::bind(socket_addr addr, int backlog) {
  constexpr const char* op = "kyoto::net::tcp_listener::bind";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_STREAM, op);
  detail::set_socket_option(s.get(), SOL_SOCKET, SO_REUSEADDR, 1, op);
  if (detail::sys_bind(s.get(), addr.native(), addr.native_size()) != 0)
    detail::throw_io_error(errno, op);
  if (detail::sys_listen(s.get(), backlog) != 0) detail::throw_io_error(errno, op);
  co_return tcp_listener(std::move(s));
}

task<tcp_listener> tcp_listener::bind(std::string host_port, int backlog) {
  co_return co_await detail::first_that_succeeds<tcp_listener>(
      co_await lookup_host(std::move(host_port)),
      [backlog](const socket_addr& a) { return tcp_listener::bind(a, backlog); },
      "kyoto::net::tcp_listener::bind");
}

task<std::pair<tcp_stream, socket_addr>> tcp_listener::accept() {
  detail::accepted_socket a =
      co_await detail::accept_with_backoff(sock_, "kyoto::net::tcp_listener::accept");
  tcp_stream s(std::move(a.sock));
  socket_addr peer = a.peer_len != 0 ? socket_addr(a.peer_addr(), a.peer_len) : s.peer_addr();
  co_return std::pair<tcp_stream, socket_addr>(std::move(s), peer);
}

socket_addr tcp_listener::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_.get(), "kyoto::net::tcp_listener::local_addr");
}

}  // namespace kyoto::net
