// What cancelled reads of one stream got and no read returned yet.
//
// # Why
//
// On io_uring a read is not "wait until readable, then read": the kernel
// reads into the buffer and then completes. A read cancelled by select or
// timeout (its awaiter destroyed: io_op.hpp waits for the request to end)
// may therefore already have taken bytes from the stream, seen its end, or
// consumed an error the kernel reports once (a connection reset's
// ECONNRESET). Dropping any of them would break the read's cancel safety:
// a reset that arrives in the same tick as a select's timer would become a
// clean end of stream on the next read. So a cancelled read puts its
// result here, and the next read returns it first: the bytes, in order,
// then (once) the end of the stream or the error.
//
// One building block for every stream read on io_uring: sockets
// (net/detail/socket.hpp), a child's pipes (process/pipe.hpp) and standard
// input (io/stdio.cpp).
#pragma once

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace kyoto::detail {

/// The results cancelled reads left (see the file comment): one pointer
/// until something is kept.
///
/// Thread safety: none; its stream's one reader at a time touches it (an
/// owner whose reads may overlap locks around it, as stdin does).
class KYOTO_EXPORT read_stash {
 public:
  read_stash() noexcept;
  read_stash(read_stash&&) noexcept;
  read_stash& operator=(read_stash&&) noexcept;
  ~read_stash();

  /// Whether a read must return from the stash (take()) before asking the
  /// kernel.
  bool empty() const noexcept;

  /// Whether put() keeps `result` (a cancelled read's result, as
  /// io_op::cancel() gave it): bytes, the end, or an error other than
  /// -ECANCELED, -EINTR and -EAGAIN. The datagram stash keeps the same.
  static bool keeps(int result) noexcept;

  /// Keeps what a cancelled read got: `result` > 0 is that many bytes of
  /// `buf` (appended after any kept), 0 the end of the stream, < 0 an error
  /// (-errno), both kept once after the bytes. Keeps nothing for
  /// -ECANCELED (the cancel won: the read took nothing), -EINTR and
  /// -EAGAIN (the next read asks again) or io_op::no_request. A bad_alloc
  /// would lose input: terminates rather than lose it silently (noexcept).
  void put(int result, std::span<const std::byte> buf) noexcept;

  /// Copies kept bytes into `into` and gives their count, consuming them
  /// unless `peek`; with no bytes left, gives the kept end (0) or error
  /// (-errno), consumed unless `peek`. Precondition: !empty().
  int take(std::span<std::byte> into, bool peek) noexcept;

 private:
  struct kept;
  std::unique_ptr<kept> kept_;
};

/// The request of one read of a stream descriptor (a pipe, a terminal):
/// IORING_OP_READ at the current position (-1: a pipe has none).
inline op_args stream_read_args(int fd, std::span<std::byte> buf) noexcept {
  op_args a;
  a.opcode = opcode::read;
  a.fd = fd;
  a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
  a.len = rw_len(buf.size());
  a.off = ~std::uint64_t{0};
  return a;
}

/// Awaits one read request into `buf` and gives its raw result (>= 0, or
/// -errno). Destroyed while in flight (its task was cancelled), it cancels
/// the request, waits for the kernel to let go of `buf` (io_op.hpp) and
/// puts what the read got into `keeper`: a read_stash, or an owner with
/// the same put() that locks around one (stdin).
///
/// Thread safety: as op_awaiter. Cancel safe: that is its point.
template <class Keeper>
class stashing_read_awaiter {
 public:
  stashing_read_awaiter(Keeper& keeper, std::span<std::byte> buf, const op_args& args) noexcept
      : keeper_(&keeper), buf_(buf), op_(args) {}
  stashing_read_awaiter(const stashing_read_awaiter&) = delete;
  stashing_read_awaiter& operator=(const stashing_read_awaiter&) = delete;
  ~stashing_read_awaiter() { keeper_->put(op_.cancel(), buf_); }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  int await_resume() noexcept { return op_.await_resume(); }

 private:
  Keeper* keeper_;
  std::span<std::byte> buf_;
  op_awaiter op_;
};

}  // namespace kyoto::detail
