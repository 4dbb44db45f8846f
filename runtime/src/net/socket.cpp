#include "net/socket.hpp"

#include "log.hpp"
#include "sim/hooks.hpp"

#include <kyoto/time/sleep.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/net/detail/stream_ops.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kyoto::detail {

void socket_fd::reset() noexcept {
  if (stashed_fd_ >= 0) sys_close(std::exchange(stashed_fd_, -1));
  if (fd_ >= 0) sys_close(std::exchange(fd_, -1));
  stash_ = read_stash();
}

void socket_fd::stash_fd(int fd) noexcept {
  if (stashed_fd_ >= 0) {
    // Only one accept waits at a time, so only one can be cancelled with a
    // connection in hand.
    log_error("a second cancelled accept kept a connection; closing it");
    sys_close(fd);
    return;
  }
  stashed_fd_ = fd;
}

socket_fd open_socket(int family, int type, const char* operation) {
  const int fd = sys_socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_io_error(errno, operation);
  return socket_fd(fd);
}

void set_socket_option(int fd, int level, int name, int value, const char* operation) {
  if (sys_setsockopt(fd, level, name, &value, sizeof value) != 0) throw_io_error(errno, operation);
}

int get_socket_option(int fd, int level, int name, const char* operation) {
  int value = 0;
  socklen_t len = sizeof value;
  if (sys_getsockopt(fd, level, name, &value, &len) != 0) throw_io_error(errno, operation);
  return value;
}

void throw_io_error_on(int err, const char* operation, std::string_view target) {
  std::string what(operation);
  what += ' ';
  what += target;
  throw std::system_error(err, std::system_category(), what);
}

void set_linger_option(int fd, std::optional<std::chrono::seconds> linger, const char* operation) {
  ::linger l{};
  if (linger) {
    if (linger->count() < 0) {
      throw std::invalid_argument(std::string(operation) + ": a negative linger duration (" +
                                  std::to_string(linger->count()) + " s)");
    }
    l.l_onoff = 1;
    l.l_linger = static_cast<int>(std::min<std::chrono::seconds::rep>(linger->count(), INT_MAX));
  }
  if (sys_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0)
    throw_io_error(errno, operation);
}

std::optional<std::chrono::seconds> linger_option(int fd, const char* operation) {
  ::linger l{};
  socklen_t len = sizeof l;
  if (sys_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) != 0) throw_io_error(errno, operation);
  if (l.l_onoff == 0) return std::nullopt;
  return std::chrono::seconds(l.l_linger);
}

socklen_t local_name(int fd, sockaddr_storage& ss, const char* operation) {
  socklen_t len = sizeof ss;
  if (sys_getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    throw_io_error(errno, operation);
  }
  return len;
}

socklen_t peer_name(int fd, sockaddr_storage& ss, const char* operation) {
  socklen_t len = sizeof ss;
  if (sys_getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    throw_io_error(errno, operation);
  }
  return len;
}

task<accepted_socket> accept_with_backoff(socket_fd& listener, const char* operation) {
  constexpr auto max_backoff = std::chrono::milliseconds(100);
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    accept_awaiter a(listener);
    const int fd = co_await a;
    if (fd >= 0) {
      accepted_socket s{socket_fd(fd)};
      s.peer_len = std::min<socklen_t>(a.len(), sizeof s.peer);
      std::memcpy(&s.peer, a.addr(), s.peer_len);
      co_return s;
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
        log_warn("{}: {}; retrying in {} ms", operation, std::system_category().message(-fd),
                 backoff.count());
        co_await time::sleep(backoff);
        backoff = std::min(backoff * 2, max_backoff);
        continue;
      default:
        throw_io_error(-fd, operation);
    }
  }
}

void shutdown_write(int fd, const char* operation) {
  if (sys_shutdown(fd, SHUT_WR) != 0) throw_io_error(errno, operation);
}

split_write_half& split_write_half::operator=(split_write_half&& o) noexcept {
  if (this != &o) {
    shutdown_now();
    sock_ = std::move(o.sock_);
  }
  return *this;
}

split_write_half::~split_write_half() {
  shutdown_now();
}

void split_write_half::shutdown_now() noexcept {
  // The error (not connected) is moot here: the half is going away.
  if (sock_ != nullptr && sock_->valid()) sys_shutdown(sock_->get(), SHUT_WR);
}

}  // namespace kyoto::detail
