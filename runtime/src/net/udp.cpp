#include "net/socket.hpp"

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/net/udp_socket.hpp>

#include <kyoto/runtime/detail/mutex.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace kyoto::detail {

/// The datagrams cancelled receives took (udp_socket.hpp's file comment).
class datagram_stash {
 public:
  /// Copies the oldest datagram into `into` (cut to fit) and its source
  /// into `from` (family AF_UNSPEC if unknown); removes it unless `peek`.
  /// Gives its size in `into`, or nullopt-like `false` if there is none.
  bool take(std::span<std::byte> into, bool peek, std::size_t& n, sockaddr_storage& from) noexcept {
    lock_guard g(lock_);
    if (queue_.empty()) return false;
    datagram& d = queue_.front();
    n = std::min(into.size(), d.bytes.size());
    if (n != 0) std::memcpy(into.data(), d.bytes.data(), n);
    from = d.from;
    if (!peek) queue_.pop_front();
    return true;
  }

  /// Keeps a datagram for the next receive (after those already kept). A
  /// bad_alloc here would lose it: terminate rather than lose it silently
  /// (noexcept), as socket_fd::stash does.
  void put(std::span<const std::byte> bytes, const sockaddr_storage& from) noexcept {
    datagram d{std::vector<std::byte>(bytes.begin(), bytes.end()), from};
    lock_guard g(lock_);
    queue_.push_back(std::move(d));
  }

 private:
  struct datagram {
    std::vector<std::byte> bytes;
    sockaddr_storage from;  ///< ss_family AF_UNSPEC: unknown (a connected recv)
  };
  mutex lock_;
  std::deque<datagram> queue_;  // guarded by lock_
};

namespace {

/// The length of the sockaddr in `ss`, by its family (0: none).
socklen_t addr_len(const sockaddr_storage& ss) noexcept {
  switch (ss.ss_family) {
    case AF_INET:
      return sizeof(sockaddr_in);
    case AF_INET6:
      return sizeof(sockaddr_in6);
    default:
      return 0;
  }
}

}  // namespace

// ---- datagram_recv_awaiter ----

datagram_recv_awaiter::datagram_recv_awaiter(datagram_stash& stash, int fd,
                                             std::span<std::byte> buf, mode m,
                                             const char* operation) noexcept
    : stash_(&stash), fd_(fd), buf_(buf), op_(op_args{}), operation_(operation), mode_(m) {
  op_args& a = op_.args();
  a.fd = fd;
  const std::uint32_t flags = peek() ? MSG_PEEK : 0;
  if (from()) {
    a.opcode = opcode::recvmsg;
    a.len = 1;  // one msghdr (liburing's io_uring_prep_recvmsg)
  } else {
    a.opcode = opcode::recv;
    a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
    a.len = static_cast<std::uint32_t>(std::min<std::size_t>(buf.size(), 0x7ffff000));
  }
  a.op_flags = flags;
}

datagram_recv_awaiter::datagram_recv_awaiter(datagram_recv_awaiter&& o) noexcept
    : stash_(o.stash_),
      fd_(o.fd_),
      buf_(o.buf_),
      op_(std::move(o.op_)),
      operation_(o.operation_),
      mode_(o.mode_),
      ready_(o.ready_),
      from_(o.from_) {}

datagram_recv_awaiter::~datagram_recv_awaiter() {
  // Waits for the kernel to finish with our buffer and msghdr; a datagram
  // that came in meanwhile must not be lost (the file comment).
  const int r = op_.cancel();
  if (r >= 0 && !peek()) {
    if (!from()) from_.ss_family = AF_UNSPEC;  // a recv does not learn the source
    stash_->put(buf_.first(std::min(static_cast<std::size_t>(r), buf_.size())), from_);
  }
}

bool datagram_recv_awaiter::await_ready() noexcept {
  std::size_t n = 0;
  if (stash_->take(buf_, peek(), n, from_)) {
    ready_ = n;
    return true;
  }
  return false;
}

void datagram_recv_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (from()) {
    // The awaiter no longer moves: the kernel may point into it now.
    from_ = sockaddr_storage{};
    from_.ss_family = AF_UNSPEC;
    iov_.iov_base = buf_.data();
    iov_.iov_len = buf_.size();
    msg_ = msghdr{};
    msg_.msg_name = &from_;
    msg_.msg_namelen = sizeof from_;
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    op_.args().addr = reinterpret_cast<std::uintptr_t>(&msg_);
  }
  op_.await_suspend(h);
}

std::size_t datagram_recv_awaiter::await_resume() {
  if (ready_ != not_ready) return ready_;
  const int r = op_.await_resume();
  if (r < 0) throw_io_error(-r, operation_);
  if (!from()) from_.ss_family = AF_UNSPEC;
  return std::min(static_cast<std::size_t>(r), buf_.size());
}

net::socket_addr datagram_recv_awaiter::source() const {
  if (const socklen_t len = addr_len(from_); len != 0) {
    return net::socket_addr(reinterpret_cast<const sockaddr*>(&from_), len);
  }
  // A datagram a cancelled recv() stashed: it came from the connected peer.
  return peer_addr_of<net::socket_addr>(fd_, operation_);
}

// ---- udp_send_awaiter ----

udp_send_awaiter::udp_send_awaiter(int fd, std::span<const std::byte> buf,
                                   const char* operation) noexcept
    : buf_(buf), op_(op_args{}), operation_(operation), to_set_(false) {
  op_args& a = op_.args();
  a.opcode = opcode::send;
  a.fd = fd;
  a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
  a.len = static_cast<std::uint32_t>(std::min<std::size_t>(buf.size(), 0xffffffffu));
  a.op_flags = MSG_NOSIGNAL;
}

udp_send_awaiter::udp_send_awaiter(int fd, std::span<const std::byte> buf,
                                   const net::socket_addr& to, const char* operation) noexcept
    : buf_(buf), op_(op_args{}), operation_(operation), to_set_(true), to_(to) {
  op_args& a = op_.args();
  a.opcode = opcode::sendmsg;
  a.fd = fd;
  a.len = 1;  // one msghdr (liburing's io_uring_prep_sendmsg)
  a.op_flags = MSG_NOSIGNAL;
}

udp_send_awaiter::udp_send_awaiter(udp_send_awaiter&& o) noexcept
    : buf_(o.buf_),
      op_(std::move(o.op_)),
      operation_(o.operation_),
      to_set_(o.to_set_),
      to_(o.to_) {}

void udp_send_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (to_set_) {
    // The awaiter no longer moves: the kernel may point into it now.
    iov_.iov_base = const_cast<std::byte*>(buf_.data());
    iov_.iov_len = buf_.size();
    msg_ = msghdr{};
    msg_.msg_name = const_cast<sockaddr*>(to_.native());
    msg_.msg_namelen = to_.native_size();
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    op_.args().addr = reinterpret_cast<std::uintptr_t>(&msg_);
  }
  op_.await_suspend(h);
}

std::size_t udp_send_awaiter::await_resume() {
  const int r = op_.await_resume();
  if (r < 0) throw_io_error(-r, operation_);
  return static_cast<std::size_t>(r);
}

}  // namespace kyoto::detail

namespace kyoto::net {

udp_socket::udp_socket(detail::socket_fd sock)
    : sock_(std::move(sock)), stash_(std::make_unique<detail::datagram_stash>()) {}

udp_socket::udp_socket(udp_socket&&) noexcept = default;
udp_socket& udp_socket::operator=(udp_socket&&) noexcept = default;
udp_socket::~udp_socket() = default;

task<udp_socket> udp_socket::bind(socket_addr addr) {
  constexpr const char* op = "kyoto::net::udp_socket::bind";
  detail::socket_fd s = detail::open_socket(addr.family(), SOCK_DGRAM, op);
  if (::bind(s.get(), addr.native(), addr.native_size()) != 0) detail::throw_io_error(errno, op);
  co_return udp_socket(std::move(s));
}

task<udp_socket> udp_socket::bind(std::string host_port) {
  co_return co_await detail::first_that_succeeds<udp_socket>(
      co_await lookup_host(std::move(host_port)),
      [](const socket_addr& a) { return udp_socket::bind(a); }, "kyoto::net::udp_socket::bind");
}

task<void> udp_socket::connect(socket_addr addr) {
  if (::connect(sock_.get(), addr.native(), addr.native_size()) != 0) {
    detail::throw_io_error(errno, "kyoto::net::udp_socket::connect");
  }
  co_return;
}

task<void> udp_socket::connect(std::string host_port) {
  const std::vector<socket_addr> addrs = co_await lookup_host(std::move(host_port));
  int err = EADDRNOTAVAIL;
  for (const socket_addr& a : addrs) {
    if (::connect(sock_.get(), a.native(), a.native_size()) == 0) co_return;
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
