#include "log.hpp"

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/time/sleep.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

namespace kyoto::net {

namespace {

socket_addr sock_name(int fd, const char* operation) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    detail::throw_io_error(errno, operation);
  }
  return socket_addr(reinterpret_cast<const sockaddr*>(&ss), len);
}

socket_addr peer_name(int fd, const char* operation) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    detail::throw_io_error(errno, operation);
  }
  return socket_addr(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace

// ---- tcp_stream ----

task<tcp_stream> tcp_stream::connect(socket_addr addr) {
  constexpr const char* op = "kyoto::net::tcp_stream::connect";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_STREAM, op);
  const int r = co_await detail::connect_awaiter(s.get(), addr.native(), addr.native_size());
  if (r < 0) detail::throw_io_error(-r, op);
  co_return tcp_stream(std::move(s));
}

task<tcp_stream> tcp_stream::connect(std::string host_port) {
  const std::vector<socket_addr> addrs = co_await lookup_host(std::move(host_port));
  std::exception_ptr last;
  for (const socket_addr& a : addrs) {
    try {
      co_return co_await connect(a);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  detail::throw_io_error(EADDRNOTAVAIL, "kyoto::net::tcp_stream::connect");
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

socket_addr tcp_stream::local_addr() const {
  return sock_name(sock_.get(), "kyoto::net::tcp_stream::local_addr");
}

socket_addr tcp_stream::peer_addr() const {
  return peer_name(sock_.get(), "kyoto::net::tcp_stream::peer_addr");
}

std::pair<tcp_read_half, tcp_write_half> tcp_stream::split() && {
  auto shared = std::make_shared<detail::socket_fd>(std::move(sock_));
  return {tcp_read_half(shared), tcp_write_half(shared)};
}

socket_addr tcp_read_half::local_addr() const {
  return sock_name(sock_->get(), "kyoto::net::tcp_read_half::local_addr");
}

socket_addr tcp_read_half::peer_addr() const {
  return peer_name(sock_->get(), "kyoto::net::tcp_read_half::peer_addr");
}

tcp_write_half& tcp_write_half::operator=(tcp_write_half&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) ::shutdown(sock_->get(), SHUT_WR);
    sock_ = std::move(o.sock_);
  }
  return *this;
}

tcp_write_half::~tcp_write_half() {
  // As tokio's OwnedWriteHalf: dropping it shuts the write side down (the
  // peer reads end of stream). The error (not connected) is moot here.
  if (sock_ != nullptr && sock_->valid()) ::shutdown(sock_->get(), SHUT_WR);
}

socket_addr tcp_write_half::local_addr() const {
  return sock_name(sock_->get(), "kyoto::net::tcp_write_half::local_addr");
}

socket_addr tcp_write_half::peer_addr() const {
  return peer_name(sock_->get(), "kyoto::net::tcp_write_half::peer_addr");
}

// ---- tcp_listener ----

task<tcp_listener> tcp_listener::bind(socket_addr addr, int backlog) {
  constexpr const char* op = "kyoto::net::tcp_listener::bind";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_STREAM, op);
  detail::set_socket_option(s.get(), SOL_SOCKET, SO_REUSEADDR, 1, op);
  if (::bind(s.get(), addr.native(), addr.native_size()) != 0) detail::throw_io_error(errno, op);
  if (::listen(s.get(), backlog) != 0) detail::throw_io_error(errno, op);
  co_return tcp_listener(std::move(s));
}

task<tcp_listener> tcp_listener::bind(std::string host_port, int backlog) {
  const std::vector<socket_addr> addrs = co_await lookup_host(std::move(host_port));
  std::exception_ptr last;
  for (const socket_addr& a : addrs) {
    try {
      co_return co_await bind(a, backlog);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  detail::throw_io_error(EADDRNOTAVAIL, "kyoto::net::tcp_listener::bind");
}

task<std::pair<tcp_stream, socket_addr>> tcp_listener::accept() {
  constexpr const char* op = "kyoto::net::tcp_listener::accept";
  constexpr auto max_backoff = std::chrono::milliseconds(100);
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    detail::accept_awaiter a(sock_);
    const int fd = co_await a;
    if (fd >= 0) {
      tcp_stream s{detail::socket_fd(fd)};
      socket_addr peer = a.len() != 0 ? socket_addr(a.addr(), a.len()) : s.peer_addr();
      co_return std::pair<tcp_stream, socket_addr>(std::move(s), peer);
    }
    switch (-fd) {
      case ECONNABORTED:
      case EINTR:
        continue;  // the peer gave up before we took it: serve the next one
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        // Out of descriptors or memory: the connection waits in the backlog
        // while we back off; the listener keeps serving once some are freed.
        detail::log_warn("{}: {}; retrying in {} ms", op, std::strerror(-fd), backoff.count());
        co_await time::sleep(backoff);
        backoff = std::min(backoff * 2, max_backoff);
        continue;
      default:
        detail::throw_io_error(-fd, op);
    }
  }
}

socket_addr tcp_listener::local_addr() const {
  return sock_name(sock_.get(), "kyoto::net::tcp_listener::local_addr");
}

}  // namespace kyoto::net
