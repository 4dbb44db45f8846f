#include "net/socket.hpp"

#include <kyoto/net/unix_listener.hpp>
#include <kyoto/net/unix_stream.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace kyoto::net {

namespace {

/// Where sun_path starts: an address this long is unnamed.
constexpr socklen_t path_offset = offsetof(sockaddr_un, sun_path);
/// The longest name kyoto accepts (one byte kept for a path's NUL).
constexpr std::size_t max_name = sizeof(sockaddr_un::sun_path) - 1;

/// Throws std::system_error(err) naming `operation` and the address.
[[noreturn]] void throw_addr_error(int err, const char* operation, const unix_socket_addr& a) {
  std::string what = operation;
  what += " \"";
  what += a.to_string();
  what += '"';
  throw std::system_error(err, std::system_category(), what);
}

}  // namespace

// ---- unix_socket_addr ----

unix_socket_addr::unix_socket_addr() noexcept : addr_{}, len_(path_offset) {
  addr_.sun_family = AF_UNIX;
}

unix_socket_addr::unix_socket_addr(const sockaddr* sa, socklen_t len) : unix_socket_addr() {
  if (sa->sa_family != AF_UNIX || len < path_offset) {
    throw std::invalid_argument(
        "kyoto::net::unix_socket_addr: the address is not a Unix-domain one (family " +
        std::to_string(sa->sa_family) + ")");
  }
  len = std::min<socklen_t>(len, sizeof(sockaddr_un));
  std::memcpy(&addr_, sa, len);
  len_ = len;
  if (len_ > path_offset && addr_.sun_path[0] != '\0') {
    // A path: the kernel may count its NUL; we do not.
    len_ = static_cast<socklen_t>(path_offset + ::strnlen(addr_.sun_path, len_ - path_offset));
  }
}

unix_socket_addr unix_socket_addr::from_pathname(const std::filesystem::path& path) {
  const std::string& s = path.native();
  const char* why = nullptr;
  if (s.empty()) {
    why = "empty";
  } else if (s.find('\0') != std::string::npos) {
    why = "it holds a NUL byte";
  } else if (s.size() > max_name) {
    why = "longer than the 107 bytes a sockaddr_un holds";
  }
  if (why != nullptr) {
    throw std::invalid_argument("kyoto::net::unix_socket_addr: the path \"" + s +
                                "\" cannot be a socket address (" + why + ")");
  }
  unix_socket_addr a;
  std::memcpy(a.addr_.sun_path, s.data(), s.size());
  a.len_ = static_cast<socklen_t>(path_offset + s.size());
  return a;
}

unix_socket_addr unix_socket_addr::from_abstract_name(std::string_view name) {
  if (name.size() > max_name) {
    throw std::invalid_argument("kyoto::net::unix_socket_addr: the abstract name \"" +
                                std::string(name) +
                                "\" is longer than the 107 bytes a sockaddr_un holds");
  }
  unix_socket_addr a;
  a.addr_.sun_path[0] = '\0';
  if (!name.empty()) std::memcpy(a.addr_.sun_path + 1, name.data(), name.size());
  a.len_ = static_cast<socklen_t>(path_offset + 1 + name.size());
  return a;
}

bool unix_socket_addr::is_unnamed() const noexcept {
  return len_ <= path_offset;
}

bool unix_socket_addr::is_abstract() const noexcept {
  return len_ > path_offset && addr_.sun_path[0] == '\0';
}

std::optional<std::filesystem::path> unix_socket_addr::as_pathname() const {
  if (is_unnamed() || is_abstract()) return std::nullopt;
  return std::filesystem::path(std::string(addr_.sun_path, len_ - path_offset));
}

std::optional<std::string> unix_socket_addr::as_abstract_name() const {
  if (!is_abstract()) return std::nullopt;
  return std::string(addr_.sun_path + 1, len_ - path_offset - 1);
}

std::string unix_socket_addr::to_string() const {
  if (is_unnamed()) return "(unnamed)";
  if (std::optional<std::string> name = as_abstract_name()) {
    std::string s = "@";
    s += *name;
    return s;
  }
  return std::string(addr_.sun_path, len_ - path_offset);
}

bool operator==(const unix_socket_addr& a, const unix_socket_addr& b) noexcept {
  return a.len_ == b.len_ &&
         std::memcmp(a.addr_.sun_path, b.addr_.sun_path, a.len_ - path_offset) == 0;
}

std::ostream& operator<<(std::ostream& os, const unix_socket_addr& a) {
  return os << a.to_string();
}

// ---- unix_stream ----

task<unix_stream> unix_stream::connect(std::filesystem::path path) {
  unix_socket_addr addr = unix_socket_addr::from_pathname(path);
  unix_stream s = co_await connect(addr);
  co_return s;
}

task<unix_stream> unix_stream::connect(unix_socket_addr addr) {
  constexpr const char* op = "kyoto::net::unix_stream::connect";
  detail::socket_fd s = detail::open_socket(AF_UNIX, SOCK_STREAM, op);
  const int r = co_await detail::connect_awaiter(s.get(), addr.native(), addr.native_size());
  if (r < 0) throw_addr_error(-r, op, addr);
  co_return unix_stream(std::move(s));
}

std::pair<unix_stream, unix_stream> unix_stream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    detail::throw_io_error(errno, "kyoto::net::unix_stream::pair");
  }
  return {unix_stream(detail::socket_fd(fds[0])), unix_stream(detail::socket_fd(fds[1]))};
}

unix_socket_addr unix_stream::local_addr() const {
  return detail::local_addr_of<unix_socket_addr>(sock_.get(),
                                                 "kyoto::net::unix_stream::local_addr");
}

unix_socket_addr unix_stream::peer_addr() const {
  return detail::peer_addr_of<unix_socket_addr>(sock_.get(), "kyoto::net::unix_stream::peer_addr");
}

unix_peer_cred unix_stream::peer_cred() const {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(sock_.get(), SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) {
    detail::throw_io_error(errno, "kyoto::net::unix_stream::peer_cred");
  }
  return unix_peer_cred{c.pid, c.uid, c.gid};
}

std::pair<unix_read_half, unix_write_half> unix_stream::split() && {
  auto shared = std::make_shared<detail::socket_fd>(std::move(sock_));
  return {unix_read_half(shared), unix_write_half(shared)};
}

unix_socket_addr unix_read_half::local_addr() const {
  return detail::local_addr_of<unix_socket_addr>(sock_->get(),
                                                 "kyoto::net::unix_read_half::local_addr");
}

unix_socket_addr unix_read_half::peer_addr() const {
  return detail::peer_addr_of<unix_socket_addr>(sock_->get(),
                                                "kyoto::net::unix_read_half::peer_addr");
}

unix_socket_addr unix_write_half::local_addr() const {
  return detail::local_addr_of<unix_socket_addr>(sock_->get(),
                                                 "kyoto::net::unix_write_half::local_addr");
}

unix_socket_addr unix_write_half::peer_addr() const {
  return detail::peer_addr_of<unix_socket_addr>(sock_->get(),
                                                "kyoto::net::unix_write_half::peer_addr");
}

// ---- unix_listener ----

unix_listener unix_listener::bind(const std::filesystem::path& path, int backlog) {
  return bind(unix_socket_addr::from_pathname(path), backlog);
}

unix_listener unix_listener::bind(const unix_socket_addr& addr, int backlog) {
  constexpr const char* op = "kyoto::net::unix_listener::bind";
  detail::socket_fd s = detail::open_socket(AF_UNIX, SOCK_STREAM, op);
  if (::bind(s.get(), addr.native(), addr.native_size()) != 0) throw_addr_error(errno, op, addr);
  if (::listen(s.get(), backlog) != 0) throw_addr_error(errno, op, addr);
  return unix_listener(std::move(s));
}

task<std::pair<unix_stream, unix_socket_addr>> unix_listener::accept() {
  detail::accepted_socket a =
      co_await detail::accept_with_backoff(sock_, "kyoto::net::unix_listener::accept");
  unix_stream s(std::move(a.sock));
  unix_socket_addr peer =
      a.peer_len != 0 ? unix_socket_addr(a.peer_addr(), a.peer_len) : s.peer_addr();
  co_return std::pair<unix_stream, unix_socket_addr>(std::move(s), peer);
}

unix_socket_addr unix_listener::local_addr() const {
  return detail::local_addr_of<unix_socket_addr>(sock_.get(),
                                                 "kyoto::net::unix_listener::local_addr");
}

}  // namespace kyoto::net
