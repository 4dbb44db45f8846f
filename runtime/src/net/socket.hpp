// What kyoto's socket types share beyond the installed
// kyoto/net/detail/socket.hpp (which holds the descriptor, its stash and
// the recv/send awaiters the public headers need): creating a socket, its
// options and addresses, connect and accept, a server's accept loop, and
// trying each address a name resolves to. Private: only runtime/src/net
// includes it.
#pragma once

#include <kyoto/io/error.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/net/detail/socket.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace kyoto::detail {

/// Creates a socket (blocking mode: io_uring waits for readiness itself;
/// close-on-exec). Throws std::system_error naming `operation`.
socket_fd open_socket(int family, int type, const char* operation);

/// setsockopt that throws std::system_error naming `operation`.
void set_socket_option(int fd, int level, int name, int value, const char* operation);
/// getsockopt of an int option; throws std::system_error naming `operation`.
int get_socket_option(int fd, int level, int name, const char* operation);

/// Throws std::system_error(err) whose message names `operation` and what
/// it acted on: "kyoto::net::tcp_socket::bind 127.0.0.1:80: Permission
/// denied".
[[noreturn]] void throw_io_error_on(int err, const char* operation, std::string_view target);

/// Sets SO_LINGER: on for `linger` seconds, or off (nullopt). Throws
/// std::invalid_argument for a negative duration, std::system_error,
/// naming `operation`.
void set_linger_option(int fd, std::optional<std::chrono::seconds> linger, const char* operation);
/// SO_LINGER: its duration when on, nullopt when off. Throws
/// std::system_error naming `operation`.
std::optional<std::chrono::seconds> linger_option(int fd, const char* operation);

/// getsockname(2) of `fd` into `ss`; gives the address's length. Throws
/// std::system_error naming `operation`.
socklen_t local_name(int fd, sockaddr_storage& ss, const char* operation);
/// getpeername(2) of `fd` into `ss`; gives the address's length. Throws
/// std::system_error naming `operation` (ENOTCONN: no peer).
socklen_t peer_name(int fd, sockaddr_storage& ss, const char* operation);

/// local_name() as an `Addr`: net::socket_addr or net::unix_socket_addr,
/// both made from the (sockaddr*, length) the kernel filled.
template <class Addr>
Addr local_addr_of(int fd, const char* operation) {
  sockaddr_storage ss{};
  const socklen_t len = local_name(fd, ss, operation);
  return Addr(reinterpret_cast<const sockaddr*>(&ss), len);
}

/// peer_name() as an `Addr` (see local_addr_of).
template <class Addr>
Addr peer_addr_of(int fd, const char* operation) {
  sockaddr_storage ss{};
  const socklen_t len = peer_name(fd, ss, operation);
  return Addr(reinterpret_cast<const sockaddr*>(&ss), len);
}

/// Awaits `attempt(a)` for each address `a` of `addrs` in turn and gives
/// the first result (the "host:port" forms of connect and bind). If every
/// attempt throws std::system_error, rethrows the last one; with no
/// address at all, throws EADDRNOTAVAIL naming `operation`.
template <class T, class Addrs, class Attempt>
task<T> first_that_succeeds(Addrs addrs, Attempt attempt, const char* operation) {
  std::exception_ptr last;
  for (const auto& a : addrs) {
    try {
      co_return co_await attempt(a);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw_io_error(EADDRNOTAVAIL, operation);
}

/// Awaits an accept on a listening socket: gives the new connection and
/// fills `addr`/`len` with the peer's address. A stashed connection (from
/// a cancelled accept) is returned first. Cancel safe: a connection
/// accepted by a cancelled accept is stashed. Raw: errors come back as
/// -errno in `error()` (the listener decides what to retry).
class accept_awaiter {
 public:
  accept_awaiter(socket_fd& listener) noexcept
      : listener_(&listener), op_(make_args(listener.get())) {}
  accept_awaiter(accept_awaiter&& o) noexcept : listener_(o.listener_), op_(std::move(o.op_)) {}
  ~accept_awaiter() {
    const int r = op_.cancel();
    if (r >= 0) listener_->stash_fd(r);
  }

  bool await_ready() noexcept {
    stashed_ = listener_->take_stashed_fd();
    return stashed_ >= 0;
  }
  void await_suspend(std::coroutine_handle<> h) {
    op_.args().addr = reinterpret_cast<std::uintptr_t>(&addr_);
    op_.args().off = reinterpret_cast<std::uintptr_t>(&len_);
    op_.await_suspend(h);
  }
  /// The accepted descriptor (>= 0) or -errno.
  int await_resume() noexcept {
    if (stashed_ >= 0) {
      len_ = 0;  // the peer's address is not known: the caller asks the socket
      return stashed_;
    }
    return op_.await_resume();
  }

  /// The peer's address, once resumed (len() == 0 if unknown).
  const sockaddr* addr() const noexcept { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t len() const noexcept { return len_; }

 private:
  static op_args make_args(int fd) noexcept {
    op_args a;
    a.opcode = opcode::accept;
    a.fd = fd;
    a.op_flags = SOCK_CLOEXEC;
    return a;
  }

  socket_fd* listener_;
  op_awaiter op_;
  sockaddr_storage addr_{};
  socklen_t len_ = sizeof(sockaddr_storage);
  int stashed_ = -1;
};

/// Awaits a connect of `fd` to `addr` (which must outlive the awaiter);
/// gives 0 or -errno.
class connect_awaiter {
 public:
  connect_awaiter(int fd, const sockaddr* addr, socklen_t len) noexcept
      : op_(make_args(fd, addr, len)) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  int await_resume() noexcept { return op_.await_resume(); }

 private:
  static op_args make_args(int fd, const sockaddr* addr, socklen_t len) noexcept {
    op_args a;
    a.opcode = opcode::connect;
    a.fd = fd;
    a.addr = reinterpret_cast<std::uintptr_t>(addr);
    a.off = len;
    return a;
  }

  op_awaiter op_;
};

/// A connection accept_with_backoff() took.
struct accepted_socket {
  socket_fd sock;           ///< the connected socket
  sockaddr_storage peer{};  ///< its peer's address, if peer_len != 0
  socklen_t peer_len = 0;   ///< 0: unknown (a stashed connection): ask `sock`

  const sockaddr* peer_addr() const noexcept { return reinterpret_cast<const sockaddr*>(&peer); }
};

/// Accepts a connection on `listener` as a server must: a connection the
/// peer aborted before it was taken (ECONNABORTED, EINTR) is skipped; when
/// out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) it logs a
/// warning and retries after a back-off that doubles from 1 ms to 100 ms,
/// the connection waiting in the backlog meanwhile. Other errors throw
/// std::system_error naming `operation`. Cancel safe (accept_awaiter): a
/// connection a cancelled accept took is returned by the next one.
task<accepted_socket> accept_with_backoff(socket_fd& listener, const char* operation);

}  // namespace kyoto::detail
