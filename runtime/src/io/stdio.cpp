// The standard streams on io_uring (see <kyoto/io/stdio.hpp>).
#include <kyoto/io/error.hpp>
#include <kyoto/io/stdio.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/io/detail/read_stash.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

namespace kyoto::detail {

/// A standard input's descriptor and its stash (stdio.hpp's file comment).
class stdin_state {
 public:
  explicit stdin_state(int fd) noexcept : fd_(fd) {}

  int fd() const noexcept { return fd_; }

  /// Gives what cancelled reads left (read_stash::take) through `r`, or
  /// false if nothing is stashed.
  bool take(std::span<std::byte> into, int& r) noexcept {
    lock_guard g(lock_);
    if (stash_.empty()) return false;
    r = stash_.take(into, false);
    return true;
  }

  /// Keeps what a cancelled read got (read_stash::put).
  void put(int r, std::span<const std::byte> buf) noexcept {
    lock_guard g(lock_);
    stash_.put(r, buf);
  }

 private:
  const int fd_;
  mutex lock_;
  read_stash stash_;  // guarded by lock_
};

/// A standard output's descriptor and its write lock (stdio_writer's
/// class comment).
class stdout_state {
 public:
  stdout_state(int fd, const char* name) : fd_(fd), name_(name) {}

  int fd() const noexcept { return fd_; }
  const char* name() const noexcept { return name_; }
  /// One permit: held by the write in progress; FIFO, so writes go out in
  /// the order they were awaited.
  sync::semaphore& lock() noexcept { return lock_; }

 private:
  const int fd_;
  const char* const name_;
  sync::semaphore lock_{1};
};

namespace {

/// Waits until `fd` is ready for `events` (IORING_OP_POLL_ADD): for a
/// descriptor in O_NONBLOCK mode, whose read or write the kernel answers
/// with EAGAIN rather than waiting. Cancel safe (a poll takes nothing).
task<void> wait_ready(int fd, std::uint32_t events, const char* operation) {
  op_args a;
  a.opcode = opcode::poll_add;
  a.fd = fd;
  a.op_flags = events;
  const int r = co_await op_awaiter(a);
  if (r < 0 && r != -EINTR) throw_io_error(-r, operation);
}

constexpr const char* read_name = "kyoto::io::stdin_reader::read";

/// stdin_reader::read's body; owns a reference to the state, so the handle
/// it was called on may go.
task<std::size_t> read_stdin(std::shared_ptr<stdin_state> state, std::span<std::byte> buf) {
  if (buf.empty()) co_return 0;
  for (;;) {
    int r = 0;
    if (state->take(buf, r)) {
      if (r < 0) throw_io_error(-r, read_name);
      co_return static_cast<std::size_t>(r);
    }
    {
      stashing_read_awaiter read(*state, buf, stream_read_args(state->fd(), buf));
      r = co_await read;
    }
    if (r >= 0) co_return static_cast<std::size_t>(r);
    if (r == -EINTR) continue;
    if (r != -EAGAIN) throw_io_error(-r, read_name);
    co_await wait_ready(state->fd(), POLLIN, read_name);
  }
}

/// stdio_writer::write's body: one write at a time per stream (its lock,
/// released when the write ends, or when a cancelled one is destroyed).
task<std::size_t> write_stdio(std::shared_ptr<stdout_state> state, std::span<const std::byte> buf) {
  if (buf.empty()) co_return 0;
  // The semaphore is never closed, so the permit always comes.
  const sync::semaphore_permit permit = (co_await state->lock().acquire()).value();
  const int fd = state->fd();
  const char* const name = state->name();
  for (;;) {
    op_args a;
    a.opcode = opcode::write;
    a.fd = fd;
    a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
    a.len = rw_len(buf.size());
    a.off = ~std::uint64_t{0};  // -1: the current file position (a pipe has none)
    const int r = co_await op_awaiter(a);
    if (r >= 0) co_return static_cast<std::size_t>(r);
    if (r == -EINTR) continue;
    if (r != -EAGAIN) throw_io_error(-r, name);
    co_await wait_ready(fd, POLLOUT, name);
  }
}

}  // namespace
}  // namespace kyoto::detail

namespace kyoto::io {

stdin_reader::stdin_reader(int fd) : state_(std::make_shared<detail::stdin_state>(fd)) {}

task<std::size_t> stdin_reader::read(std::span<std::byte> buf) const {
  return detail::read_stdin(state_, buf);
}

int stdin_reader::native_handle() const noexcept {
  return state_->fd();
}

stdio_writer::stdio_writer(int fd, const char* name)
    : state_(std::make_shared<detail::stdout_state>(fd, name)) {}

task<std::size_t> stdio_writer::write(std::span<const std::byte> buf) const {
  return detail::write_stdio(state_, buf);
}

int stdio_writer::native_handle() const noexcept {
  return state_->fd();
}

stdin_reader stdin() {
  // One state for descriptor 0, shared by every handle (its stash is the
  // stream's). A function-local static: made on first use, thread-safe.
  static const stdin_reader reader(0);
  return reader;
}

stdio_writer stdout() {
  // One lock for descriptor 1, shared by every handle.
  static const stdio_writer writer(1, "kyoto::io::stdout::write");
  return writer;
}

stdio_writer stderr() {
  static const stdio_writer writer(2, "kyoto::io::stderr::write");
  return writer;
}

}  // namespace kyoto::io
