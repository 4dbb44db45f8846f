#include "net/datagram_stash.hpp"
#include "net/socket.hpp"

#include <kyoto/net/unix_datagram.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <utility>

namespace kyoto::net {

namespace {

/// Throws std::system_error(err) naming `operation` and the address.
[[noreturn]] void throw_on(int err, const char* operation, const unix_socket_addr& a) {
  std::string target = "\"";
  target += a.to_string();
  target += '"';
  detail::throw_io_error_on(err, operation, target);
}

}  // namespace

unix_datagram::unix_datagram(detail::socket_fd sock)
    : sock_(std::move(sock)), stash_(std::make_unique<detail::datagram_stash>()) {}

unix_datagram::unix_datagram(unix_datagram&&) noexcept = default;
unix_datagram& unix_datagram::operator=(unix_datagram&&) noexcept = default;
unix_datagram::~unix_datagram() = default;

unix_datagram unix_datagram::bind(const std::filesystem::path& path) {
  return bind(unix_socket_addr::from_pathname(path));
}

unix_datagram unix_datagram::bind(const unix_socket_addr& addr) {
  constexpr const char* op = "kyoto::net::unix_datagram::bind";
  detail::socket_fd s = detail::open_socket(AF_UNIX, SOCK_DGRAM, op);
  if (::bind(s.get(), addr.native(), addr.native_size()) != 0) throw_on(errno, op, addr);
  return unix_datagram(std::move(s));
}

unix_datagram unix_datagram::unbound() {
  return unix_datagram(
      detail::open_socket(AF_UNIX, SOCK_DGRAM, "kyoto::net::unix_datagram::unbound"));
}

std::pair<unix_datagram, unix_datagram> unix_datagram::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) != 0) {
    detail::throw_io_error(errno, "kyoto::net::unix_datagram::pair");
  }
  detail::socket_fd a(fds[0]);
  detail::socket_fd b(fds[1]);
  return {unix_datagram(std::move(a)), unix_datagram(std::move(b))};
}

void unix_datagram::connect(const std::filesystem::path& path) {
  connect(unix_socket_addr::from_pathname(path));
}

void unix_datagram::connect(const unix_socket_addr& addr) {
  if (::connect(sock_.get(), addr.native(), addr.native_size()) != 0) {
    throw_on(errno, "kyoto::net::unix_datagram::connect", addr);
  }
}

unix_socket_addr unix_datagram::local_addr() const {
  return detail::local_addr_of<unix_socket_addr>(sock_.get(),
                                                 "kyoto::net::unix_datagram::local_addr");
}

unix_socket_addr unix_datagram::peer_addr() const {
  return detail::peer_addr_of<unix_socket_addr>(sock_.get(),
                                                "kyoto::net::unix_datagram::peer_addr");
}

void unix_datagram::shutdown(shutdown_how how) {
  if (::shutdown(sock_.get(), static_cast<int>(how)) != 0) {
    detail::throw_io_error(errno, "kyoto::net::unix_datagram::shutdown");
  }
}

}  // namespace kyoto::net
