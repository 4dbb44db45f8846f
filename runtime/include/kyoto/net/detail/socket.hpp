// What kyoto's public socket types need inline: an owned descriptor, the
// bytes a cancelled read left behind, and the awaiters of recv and send.
// The rest of what the socket types share (socket options, addresses,
// connect and accept, a server's accept loop) is private:
// runtime/src/net/socket.hpp.
//
// # Why a stash
//
// On io_uring a read is not "wait until readable, then read": the kernel
// reads into the buffer and then completes. A read cancelled by select or
// timeout may therefore already have received bytes, the end of the
// stream, or an error the kernel reports once (a reset). tokio documents
// `read` as cancel safe (no data is lost when another branch wins), and so
// does kyoto: the cancelled read's destructor waits for the request to end
// (io_op.hpp) and keeps what it got in the socket's stash
// (io/detail/read_stash.hpp), which the next read returns first. An accept
// keeps its connection the same way.
#pragma once

#include <kyoto/io/error.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/read_stash.hpp>
#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace kyoto::detail {

/// The request of one recv or send (`op`, opcode::recv or opcode::send) of `buf` on socket `fd`
/// with `flags`; a buffer longer than the kernel's MAX_RW_COUNT is served in part, as a short read
/// or write.
inline op_args socket_buffer_args(std::uint8_t op, int fd, std::span<const std::byte> buf,
                                  std::uint32_t flags) noexcept {
  op_args a;
  a.opcode = op;
  a.fd = fd;
  a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
  a.len = rw_len(buf.size());
  a.op_flags = flags;
  return a;
}

/// An owned socket descriptor (closed on destruction) and its stash.
///
/// Thread safety: as a plain object; the stash is touched by whoever reads
/// the socket (one reader at a time).
class KYOTO_EXPORT socket_fd {
 public:
  socket_fd() noexcept = default;
  /// Adopts `fd`.
  explicit socket_fd(int fd) noexcept : fd_(fd) {}
  socket_fd(socket_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)), stash_(std::move(o.stash_)) {}
  socket_fd& operator=(socket_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      stash_ = std::move(o.stash_);
    }
    return *this;
  }
  ~socket_fd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  /// Closes the descriptor (no request may be in flight on it).
  void reset() noexcept;
  /// Gives up ownership.
  int release() noexcept { return std::exchange(fd_, -1); }

  /// What cancelled reads left for the next read (bytes, then the end of
  /// the stream or an error).
  read_stash& stash() noexcept { return stash_; }

  /// A stashed accepted connection, or -1.
  int take_stashed_fd() noexcept { return std::exchange(stashed_fd_, -1); }
  /// Keeps an accepted connection whose accept was cancelled.
  void stash_fd(int fd) noexcept;

 private:
  int fd_ = -1;
  int stashed_fd_ = -1;
  read_stash stash_;
};

/// What recv_awaiter and send_awaiter share: their request, and the
/// operation (e.g. kyoto::net::tcp_stream::read) that errors and task dumps
/// name.
class socket_io_awaiter {
 public:
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }

  /// For task dumps: the operation and the descriptor.
  void describe(wait_description& d) const noexcept {
    op_.describe(d);
    d.what = operation_;
  }

 protected:
  socket_io_awaiter(op_args a, const char* operation) noexcept : op_(a), operation_(operation) {}

  /// `r` (a byte count, or -errno) as a byte count; throws
  /// std::system_error naming the operation if it is an error.
  std::size_t bytes_or_throw(int r) const {
    if (r < 0) throw_io_error(-r, operation_);
    return static_cast<std::size_t>(r);
  }

  op_awaiter op_;
  const char* operation_;
};

/// Awaits a recv (or, with MSG_PEEK, a peek) into `buf`; gives the byte
/// count, 0 at end of stream. What the stash holds is returned first,
/// without suspending. Cancel safe: the bytes, end of stream or error a
/// cancelled recv got go to the stash (a cancelled peek keeps only an
/// error: the kernel reports one once, even to a peek). Throws
/// std::system_error naming `operation` on failure.
class recv_awaiter : public socket_io_awaiter {
 public:
  recv_awaiter(socket_fd& s, std::span<std::byte> buf, std::uint32_t flags,
               const char* operation) noexcept
      : socket_io_awaiter(make_args(s.get(), buf, flags), operation), sock_(&s), buf_(buf) {}
  recv_awaiter(recv_awaiter&&) noexcept = default;
  ~recv_awaiter() {
    const int r = op_.cancel();
    // A peek's bytes and end are still in the kernel's queue; an error is
    // not (the kernel reports it once).
    if (!peek() || r < 0) sock_->stash().put(r, buf_);
  }

  bool await_ready() noexcept {
    if (!sock_->stash().empty()) {
      ready_ = sock_->stash().take(buf_, peek());
      return true;
    }
    if (buf_.empty()) {
      ready_ = 0;
      return true;
    }
    return false;
  }
  std::size_t await_resume() {
    return bytes_or_throw(ready_ != not_ready ? ready_ : op_.await_resume());
  }

 private:
  static constexpr int not_ready = io_op::no_request;
  bool peek() noexcept { return (op_.args().op_flags & MSG_PEEK) != 0; }
  static op_args make_args(int fd, std::span<std::byte> buf, std::uint32_t flags) noexcept {
    return socket_buffer_args(opcode::recv, fd, buf, flags);
  }

  socket_fd* sock_;
  std::span<std::byte> buf_;
  int ready_ = not_ready;  ///< what the stash gave (bytes, or 0 or -errno)
};

/// Awaits a send of `buf` (MSG_NOSIGNAL: a closed peer is an EPIPE error,
/// not a signal); gives the byte count. Not cancel safe: a cancelled send
/// may have sent part of the buffer. Throws std::system_error naming
/// `operation`.
class send_awaiter : public socket_io_awaiter {
 public:
  send_awaiter(int fd, std::span<const std::byte> buf, std::uint32_t flags,
               const char* operation) noexcept
      : socket_io_awaiter(make_args(fd, buf, flags), operation), empty_(buf.empty()) {}
  send_awaiter(send_awaiter&&) noexcept = default;

  bool await_ready() const noexcept { return empty_; }
  std::size_t await_resume() { return empty_ ? 0 : bytes_or_throw(op_.await_resume()); }

 private:
  static op_args make_args(int fd, std::span<const std::byte> buf, std::uint32_t flags) noexcept {
    return socket_buffer_args(opcode::send, fd, buf, flags | MSG_NOSIGNAL);
  }

  bool empty_;
};

}  // namespace kyoto::detail
