// The read and write operations every kyoto stream socket has (tcp_stream,
// unix_stream and their halves), and what the halves of a split stream
// hold, written once.
#pragma once

#include <kyoto/io/error.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace kyoto::detail {

/// ::shutdown(fd, SHUT_WR), throwing std::system_error naming `operation`.
KYOTO_EXPORT void shutdown_write(int fd, const char* operation);

/// The operation names a stream type reports in its errors.
struct stream_names {
  const char* read;
  const char* peek;
  const char* read_exact;
  const char* write;
  const char* write_all;
  const char* shutdown;
};

/// Reads: `Derived` provides `socket_fd& socket_ref()` and `names`.
template <class Derived>
class stream_reads {
 public:
  /// Reads at most `buf.size()` bytes; gives how many, 0 at end of stream
  /// (or for an empty buffer). Resumes on the thread that reaped the
  /// completion. Cancel safe: bytes a cancelled read received are returned
  /// by the next read. Throws std::system_error (errno) on failure.
  recv_awaiter read(std::span<std::byte> buf) noexcept {
    return recv_awaiter(self().socket_ref(), buf, 0, Derived::names.read);
  }
  /// Like read(), but the bytes stay in the socket for the next read.
  /// Cancel safe.
  recv_awaiter peek(std::span<std::byte> buf) noexcept {
    return recv_awaiter(self().socket_ref(), buf, MSG_PEEK, Derived::names.peek);
  }
  /// Reads exactly `buf.size()` bytes. Throws std::system_error with
  /// io::errc::unexpected_eof if the stream ends first (what arrived is in
  /// the buffer's front, and lost). Not cancel safe: bytes read before a
  /// cancel are lost (as tokio's read_exact). `buf` must outlive the task.
  task<void> read_exact(std::span<std::byte> buf) {
    socket_fd& s = self().socket_ref();
    while (!buf.empty()) {
      // MSG_WAITALL: the kernel retries short reads itself (one request
      // for the whole buffer).
      const std::size_t n = co_await recv_awaiter(s, buf, MSG_WAITALL, Derived::names.read_exact);
      if (n == 0) throw_io_error(io::errc::unexpected_eof, Derived::names.read_exact);
      buf = buf.subspan(n);
    }
  }

 private:
  // Only Derived constructs the mixin (bugprone-crtp-constructor-accessibility).
  stream_reads() = default;
  friend Derived;

  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

/// Writes: `Derived` provides `socket_fd& socket_ref()` and `names`.
template <class Derived>
class stream_writes {
 public:
  /// Writes some of `buf`; gives how many bytes the kernel took. Not cancel
  /// safe on io_uring: a cancelled write may have sent part of the buffer.
  /// Throws std::system_error (EPIPE, ECONNRESET, ...) on failure.
  send_awaiter write(std::span<const std::byte> buf) noexcept {
    return send_awaiter(self().socket_ref().get(), buf, 0, Derived::names.write);
  }
  /// write() of a string's bytes.
  send_awaiter write(std::string_view s) noexcept { return write(std::as_bytes(std::span(s))); }
  /// Writes all of `buf` (short writes are continued). Not cancel safe.
  /// `buf` must outlive the task. Throws std::system_error; io::errc::
  /// write_zero if the kernel takes nothing.
  task<void> write_all(std::span<const std::byte> buf) {
    const int fd = self().socket_ref().get();
    while (!buf.empty()) {
      // MSG_WAITALL: the kernel retries short sends itself.
      const std::size_t n = co_await send_awaiter(fd, buf, MSG_WAITALL, Derived::names.write_all);
      if (n == 0) throw_io_error(io::errc::write_zero, Derived::names.write_all);
      buf = buf.subspan(n);
    }
  }
  /// write_all() of a string's bytes (the string must outlive the task).
  task<void> write_all(std::string_view s) { return write_all(std::as_bytes(std::span(s))); }
  /// Nothing is buffered: completes at once (AsyncWriteExt::flush).
  task<void> flush() { co_return; }
  /// Shuts the write side down: the peer reads end of stream. Reads still
  /// work. Throws std::system_error.
  task<void> shutdown() {
    shutdown_write(self().socket_ref().get(), Derived::names.shutdown);
    co_return;
  }

 private:
  // Only Derived constructs the mixin (bugprone-crtp-constructor-accessibility).
  stream_writes() = default;
  friend Derived;

  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

/// What either half of a split stream holds: the socket, shared with the
/// other half (it closes when both are gone). Provides the socket_ref() the
/// read/write mixins need.
class split_half {
 public:
  /// Shares `s` with the other half.
  explicit split_half(std::shared_ptr<socket_fd> s) noexcept : sock_(std::move(s)) {}

  /// For the read/write mixins.
  socket_fd& socket_ref() noexcept { return *sock_; }

 protected:
  std::shared_ptr<socket_fd> sock_;
};

/// A write half: dropping it, or assigning another over it, shuts the
/// write side down (the peer reads end of stream), as tokio's
/// OwnedWriteHalf does. Reads through the other half still work.
class KYOTO_EXPORT split_write_half : public split_half {
 public:
  using split_half::split_half;
  split_write_half(split_write_half&&) noexcept = default;
  split_write_half& operator=(split_write_half&& o) noexcept;
  ~split_write_half();

 private:
  /// shutdown(SHUT_WR) of the socket held, if any; errors are moot here.
  void shutdown_now() noexcept;
};

}  // namespace kyoto::detail
