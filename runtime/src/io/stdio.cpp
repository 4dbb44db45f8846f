// The standard streams on io_uring (see <kyoto/io/stdio.hpp>).
#include <kyoto/io/error.hpp>
#include <kyoto/io/stdio.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

namespace kyoto::detail {

/// A standard input's descriptor and its stash (stdio.hpp's file comment).
class stdin_state {
 public:
  explicit stdin_state(int fd) noexcept : fd_(fd) {}

  int fd() const noexcept { return fd_; }

  /// Copies stashed bytes into `into` (consuming them), or gives the end
  /// of input a cancelled read saw (once). False if nothing is stashed.
  bool take(std::span<std::byte> into, std::size_t& n) noexcept {
    lock_guard g(lock_);
    if (pos_ < bytes_.size()) {
      n = std::min(into.size(), bytes_.size() - pos_);
      std::memcpy(into.data(), bytes_.data() + pos_, n);
      pos_ += n;
      if (pos_ == bytes_.size()) {
        bytes_.clear();
        pos_ = 0;
      }
      return true;
    }
    if (eof_) {
      eof_ = false;
      n = 0;
      return true;
    }
    return false;
  }

  /// Keeps what a cancelled read got (bytes; none: the end of input) for
  /// the next read. A bad_alloc would lose input: terminate rather than
  /// lose it silently (noexcept), as socket_fd::stash does.
  void put(std::span<const std::byte> got) noexcept {
    lock_guard g(lock_);
    if (got.empty()) {
      eof_ = true;
    } else {
      bytes_.insert(bytes_.end(), got.begin(), got.end());
    }
  }

 private:
  const int fd_;
  mutex lock_;
  std::vector<std::byte> bytes_;  // guarded by lock_
  std::size_t pos_ = 0;           // guarded by lock_: the next unread byte
  bool eof_ = false;              // guarded by lock_: after the bytes, a read gives 0 once
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

/// One IORING_OP_READ of the state's descriptor into `buf`; gives the raw
/// result. Destroyed while in flight (the reading task was cancelled), it
/// cancels the request, waits for the kernel to let go of `buf`, and
/// stashes what the read got.
class stdin_read_awaiter {
 public:
  stdin_read_awaiter(stdin_state& s, std::span<std::byte> buf) noexcept
      : state_(&s), buf_(buf), op_(make_args(s.fd(), buf)) {}
  stdin_read_awaiter(const stdin_read_awaiter&) = delete;
  stdin_read_awaiter& operator=(const stdin_read_awaiter&) = delete;
  ~stdin_read_awaiter() {
    const int r = op_.cancel();
    if (r >= 0) state_->put(buf_.first(static_cast<std::size_t>(r)));
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  int await_resume() noexcept { return op_.await_resume(); }

 private:
  static op_args make_args(int fd, std::span<std::byte> buf) noexcept {
    op_args a;
    a.opcode = opcode::read;
    a.fd = fd;
    a.addr = reinterpret_cast<std::uintptr_t>(buf.data());
    a.len = static_cast<std::uint32_t>(std::min<std::size_t>(buf.size(), 0x7ffff000));
    a.off = ~std::uint64_t{0};  // -1: the current file position (a pipe has none)
    return a;
  }

  stdin_state* state_;
  std::span<std::byte> buf_;
  op_awaiter op_;
};

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
    std::size_t n = 0;
    if (state->take(buf, n)) co_return n;
    int r = 0;
    {
      stdin_read_awaiter read(*state, buf);
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
    a.len = static_cast<std::uint32_t>(std::min<std::size_t>(buf.size(), 0x7ffff000));
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
