// The metrics endpoint; the protocol is described in endpoint.hpp.
#include "metrics/endpoint.hpp"

#include "log.hpp"

#include <kyoto/runtime/dump.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace kyoto::detail {

namespace {

constexpr const char* operation = "kyoto::runtime::builder::metrics_endpoint";

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), std::string(operation) + ": " + what);
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    throw std::invalid_argument(std::string(operation) + ": the socket path must be 1 to " +
                                std::to_string(sizeof addr.sun_path - 1) + " bytes, not " +
                                std::to_string(path.size()));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

/// Whether something accepts connections on `addr` (a stale socket file
/// refuses them).
bool someone_listens(const sockaddr_un& addr) {
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;  // cannot tell: do not remove the file
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const bool listens =
      ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ||
      errno != ECONNREFUSED;
  ::close(probe);
  return listens;
}

/// Writes all of `data`, giving up on an error (the client went away).
void write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

metrics_endpoint::metrics_endpoint(std::string path, std::weak_ptr<scheduler> sched)
    : path_(std::move(path)), sched_(std::move(sched)) {
  const sockaddr_un addr = address_of(path_);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw_errno(errno, "socket()");
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  int r = ::bind(listen_fd_, sa, sizeof addr);
  if (r < 0 && errno == EADDRINUSE && !someone_listens(addr)) {
    ::unlink(path_.c_str());  // a stale socket file, from a process that died
    r = ::bind(listen_fd_, sa, sizeof addr);
  }
  if (r < 0 || ::listen(listen_fd_, 16) < 0) {
    const int err = errno;
    ::close(listen_fd_);
    throw_errno(err, err == EADDRINUSE ? path_ + " is in use by another listener"
                                       : std::string("binding or listening on ") + path_);
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    const int err = errno;
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw_errno(err, "eventfd()");
  }
  try {
    thread_ = std::thread([this] { serve(); });
  } catch (...) {
    ::close(stop_fd_);
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw;
  }
}

metrics_endpoint::~metrics_endpoint() {
  const std::uint64_t one = 1;
  // The thread polls stop_fd_; a failed write would leave it running, and
  // the join below hanging: an eventfd write of 1 fails only on overflow.
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void metrics_endpoint::serve() noexcept {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_error("{}: poll() failed: {}; the endpoint stops", operation,
                std::error_code(errno, std::system_category()).message());
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;  // the client left already, or out of fds: try again later
    answer(client);
    ::close(client);
  }
}

void metrics_endpoint::answer(int client) noexcept {
  // Read the request head (its content does not matter), at most a second.
  const timeval limit{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    // NOLINTNEXTLINE(clang-analyzer-unix.BlockInCriticalSection): no lock is held here
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed, timed out or failed: answer what we can
    head.append(buf, static_cast<std::size_t>(n));
  }
  try {
    // "GET /tasks ..." (the request line's path): the task dump as JSON;
    // any other path: the metrics.
    const std::size_t path_at = head.find(' ');
    const bool tasks = path_at != std::string::npos && head.compare(path_at + 1, 7, "/tasks ") == 0;
    std::string body;
    if (const std::shared_ptr<scheduler> s = sched_.lock()) {
      body = tasks ? dump_scheduler(*s).to_json() : s->metrics().to_prometheus();
    }
    const std::string status = body.empty() ? "503 Service Unavailable" : "200 OK";
    const std::string type =
        tasks ? "application/json" : "text/plain; version=0.0.4; charset=utf-8";
    write_all(client, std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type +
                          "\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  } catch (const std::exception& e) {  // bad_alloc
    log_error("{}: could not answer a scrape: {}", operation, e.what());
  }
}

}  // namespace kyoto::detail
