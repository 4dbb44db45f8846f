#include "net/socket.hpp"
#include "sim/hooks.hpp"

#include <kyoto/net/tcp_socket.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace kyoto::net {

namespace {

/// An int socket option read as a buffer size (never negative).
std::uint32_t size_option(int fd, int name, const char* operation) {
  return static_cast<std::uint32_t>(detail::get_socket_option(fd, SOL_SOCKET, name, operation));
}

/// A buffer size as setsockopt's int (larger sizes are clamped by the
/// kernel anyway).
int size_value(std::uint32_t size) noexcept {
  return size > 0x7fffffffu ? 0x7fffffff : static_cast<int>(size);
}

/// Connects `s` to `addr` on the ring; gives the stream.
task<tcp_stream> connect_socket(detail::socket_fd s, socket_addr addr) {
  const int r = co_await detail::connect_awaiter(s.get(), addr.native(), addr.native_size());
  if (r < 0) detail::throw_io_error_on(-r, "kyoto::net::tcp_socket::connect", addr.to_string());
  co_return tcp_stream(std::move(s));
}

}  // namespace

tcp_socket tcp_socket::new_v4() {
  return tcp_socket(detail::open_socket(AF_INET, SOCK_STREAM, "kyoto::net::tcp_socket::new_v4"));
}

tcp_socket tcp_socket::new_v6() {
  return tcp_socket(detail::open_socket(AF_INET6, SOCK_STREAM, "kyoto::net::tcp_socket::new_v6"));
}

void tcp_socket::set_reuseaddr(bool on) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0,
                            "kyoto::net::tcp_socket::set_reuseaddr");
}

bool tcp_socket::reuseaddr() const {
  return detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_REUSEADDR,
                                   "kyoto::net::tcp_socket::reuseaddr") != 0;
}

void tcp_socket::set_reuseport(bool on) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0,
                            "kyoto::net::tcp_socket::set_reuseport");
}

bool tcp_socket::reuseport() const {
  return detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_REUSEPORT,
                                   "kyoto::net::tcp_socket::reuseport") != 0;
}

void tcp_socket::set_send_buffer_size(std::uint32_t size) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_SNDBUF, size_value(size),
                            "kyoto::net::tcp_socket::set_send_buffer_size");
}

std::uint32_t tcp_socket::send_buffer_size() const {
  return size_option(sock_.get(), SO_SNDBUF, "kyoto::net::tcp_socket::send_buffer_size");
}

void tcp_socket::set_recv_buffer_size(std::uint32_t size) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_RCVBUF, size_value(size),
                            "kyoto::net::tcp_socket::set_recv_buffer_size");
}

std::uint32_t tcp_socket::recv_buffer_size() const {
  return size_option(sock_.get(), SO_RCVBUF, "kyoto::net::tcp_socket::recv_buffer_size");
}

void tcp_socket::set_keepalive(bool on) {
  detail::set_socket_option(sock_.get(), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0,
                            "kyoto::net::tcp_socket::set_keepalive");
}

bool tcp_socket::keepalive() const {
  return detail::get_socket_option(sock_.get(), SOL_SOCKET, SO_KEEPALIVE,
                                   "kyoto::net::tcp_socket::keepalive") != 0;
}

void tcp_socket::set_linger(std::optional<std::chrono::seconds> linger) {
  detail::set_linger_option(sock_.get(), linger, "kyoto::net::tcp_socket::set_linger");
}

std::optional<std::chrono::seconds> tcp_socket::linger() const {
  return detail::linger_option(sock_.get(), "kyoto::net::tcp_socket::linger");
}

void tcp_socket::set_nodelay(bool on) {
  detail::set_socket_option(sock_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0,
                            "kyoto::net::tcp_socket::set_nodelay");
}

bool tcp_socket::nodelay() const {
  return detail::get_socket_option(sock_.get(), IPPROTO_TCP, TCP_NODELAY,
                                   "kyoto::net::tcp_socket::nodelay") != 0;
}

void tcp_socket::bind(const socket_addr& addr) {
  if (detail::sys_bind(sock_.get(), addr.native(), addr.native_size()) != 0) {
    detail::throw_io_error_on(errno, "kyoto::net::tcp_socket::bind", addr.to_string());
  }
}

socket_addr tcp_socket::local_addr() const {
  return detail::local_addr_of<socket_addr>(sock_.get(), "kyoto::net::tcp_socket::local_addr");
}

tcp_listener tcp_socket::listen(int backlog) && {
  if (detail::sys_listen(sock_.get(), backlog) != 0) {
    detail::throw_io_error(errno, "kyoto::net::tcp_socket::listen");
  }
  return tcp_listener(std::move(sock_));
}

task<tcp_stream> tcp_socket::connect(socket_addr addr) && {
  // The coroutine owns the socket: the tcp_socket this was called on may
  // be a temporary gone before the task runs.
  return connect_socket(std::move(sock_), addr);
}

}  // namespace kyoto::net
