// The datagram awaiters and stash (kyoto/net/detail/datagram.hpp), shared
// by udp_socket and unix_datagram.
#include "net/datagram_stash.hpp"
#include "net/socket.hpp"

#include <kyoto/io/detail/read_stash.hpp>
#include <kyoto/net/detail/datagram.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kyoto::detail {

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
    a.len = rw_len(buf.size());
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
      from_known_(o.from_known_),
      ready_(o.ready_),
      stashed_error_(o.stashed_error_),
      from_(o.from_),
      from_len_(o.from_len_) {}

datagram_recv_awaiter::~datagram_recv_awaiter() {
  // Waits for the kernel to finish with our buffer and msghdr; a datagram
  // that came in meanwhile, or an error reported once, must not be lost
  // (the file comment).
  const int r = op_.cancel();
  if (r < 0 && read_stash::keeps(r)) {
    stashed_datagram d;
    d.error = r;
    stash_->put(std::move(d));
  } else if (r >= 0 && !peek()) {
    stashed_datagram d;
    d.bytes.assign(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                    static_cast<std::size_t>(r), buf_.size())));
    d.from_known = from();  // a recv does not learn the source
    if (d.from_known) {
      d.from = from_;
      d.from_len = msg_.msg_namelen;
    }
    stash_->put(std::move(d));
  }
}

bool datagram_recv_awaiter::await_ready() noexcept {
  std::size_t n = 0;
  if (stash_->take(buf_, peek(), n, from_known_, from_, from_len_, stashed_error_)) {
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
  if (stashed_error_ != 0) throw_io_error(-stashed_error_, operation_);
  if (ready_ != not_ready) return ready_;
  const int r = op_.await_resume();
  if (r < 0) throw_io_error(-r, operation_);
  from_known_ = from();
  // recvmsg wrote the source's length back (0: an unnamed Unix-domain
  // sender).
  from_len_ = from_known_ ? msg_.msg_namelen : 0;
  return std::min(static_cast<std::size_t>(r), buf_.size());
}

socklen_t datagram_recv_awaiter::source(sockaddr_storage& out) const {
  if (from_known_) {
    out = from_;
    return from_len_;
  }
  // A datagram a cancelled recv() stashed: it came from the connected peer.
  return peer_name(fd_, out, operation_);
}

// ---- datagram_send_awaiter ----

datagram_send_awaiter::datagram_send_awaiter(int fd, std::span<const std::byte> buf,
                                             const char* operation) noexcept
    : buf_(buf), op_(op_args{}), operation_(operation) {
  op_args& a = op_.args();
  a.opcode = opcode::send;
  a.fd = fd;
  a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
  a.len = static_cast<std::uint32_t>(std::min<std::size_t>(buf.size(), 0xffffffffu));
  a.op_flags = MSG_NOSIGNAL;
}

datagram_send_awaiter::datagram_send_awaiter(int fd, std::span<const std::byte> buf,
                                             const sockaddr* to, socklen_t len,
                                             const char* operation) noexcept
    : buf_(buf),
      op_(op_args{}),
      operation_(operation),
      to_len_(std::min<socklen_t>(len, sizeof(sockaddr_storage))) {
  std::memcpy(&to_, to, to_len_);
  op_args& a = op_.args();
  a.opcode = opcode::sendmsg;
  a.fd = fd;
  a.len = 1;  // one msghdr (liburing's io_uring_prep_sendmsg)
  a.op_flags = MSG_NOSIGNAL;
}

datagram_send_awaiter::datagram_send_awaiter(datagram_send_awaiter&& o) noexcept
    : buf_(o.buf_),
      op_(std::move(o.op_)),
      operation_(o.operation_),
      to_len_(o.to_len_),
      to_(o.to_) {}

void datagram_send_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (to_len_ != 0) {
    // The awaiter no longer moves: the kernel may point into it now.
    iov_.iov_base = const_cast<std::byte*>(buf_.data());
    iov_.iov_len = buf_.size();
    msg_ = msghdr{};
    msg_.msg_name = &to_;
    msg_.msg_namelen = to_len_;
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    op_.args().addr = reinterpret_cast<std::uintptr_t>(&msg_);
  }
  op_.await_suspend(h);
}

std::size_t datagram_send_awaiter::await_resume() {
  const int r = op_.await_resume();
  if (r < 0) throw_io_error(-r, operation_);
  return static_cast<std::size_t>(r);
}

}  // namespace kyoto::detail
