// kyoto::process::child_stdin, child_stdout, child_stderr: the parent's ends
// of a child's piped standard streams (tokio's ChildStdin, ChildStdout,
// ChildStderr), as kyoto streams: io::async_write and io::async_read.
//
// Each read or write is one io_uring request (IORING_OP_READ/WRITE on the
// pipe descriptor) on the awaiting thread's ring, with io_op's cancellation
// protocol (io/detail/io_op.hpp): what a cancelled read got (bytes taken
// from the pipe, its end, an error) is kept in the pipe's stash
// (io/detail/read_stash.hpp) and returned by the next read; a cancelled
// write may have written part of its buffer (docs/io.md: writes are not
// cancel safe on io_uring).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/io/detail/read_stash.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <span>
#include <string_view>

namespace kyoto::detail {
/// An owned pipe descriptor (closed on destruction). Move-only.
class KYOTO_EXPORT pipe_fd {
 public:
  pipe_fd() noexcept = default;
  explicit pipe_fd(int fd) noexcept : fd_(fd) {}
  pipe_fd(pipe_fd&& o) noexcept : fd_(o.release()) {}
  pipe_fd& operator=(pipe_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  ~pipe_fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};
}  // namespace kyoto::detail

namespace kyoto::process {

/// The write end of a child's stdin (tokio's ChildStdin): io::async_write.
/// Dropping it (or shutdown()) closes the pipe, so the child reads end of
/// file. Move-only; used by one task at a time; resumed on the awaiting
/// task's thread.
class KYOTO_EXPORT child_stdin {
 public:
  /// Takes ownership of the descriptor `fd` (the write end of a pipe).
  explicit child_stdin(int fd) noexcept : fd_(fd) {}

  /// Writes some of `buf`; gives how many bytes were written. Waits while
  /// the pipe is full. Throws std::system_error (EPIPE once the child
  /// closed its end). Not cancel safe (part may be written).
  [[nodiscard]] kyoto::task<std::size_t> write(std::span<const std::byte> buf);
  /// Nothing is buffered: completes at once.
  [[nodiscard]] kyoto::task<> flush();
  /// Closes the pipe (the child reads end of file).
  [[nodiscard]] kyoto::task<> shutdown();
  /// The descriptor (-1 after shutdown()).
  int as_raw_fd() const noexcept { return fd_.get(); }

 private:
  kyoto::detail::pipe_fd fd_;
};

/// The read end of a child's stdout or stderr: io::async_read.
/// Move-only; used by one task at a time; resumed on the awaiting task's
/// thread.
class KYOTO_EXPORT child_output_pipe {
 public:
  /// Takes ownership of the descriptor `fd` (the read end of a pipe).
  explicit child_output_pipe(int fd) noexcept : fd_(fd) {}

  /// Reads at most buf.size() bytes; gives how many, 0 at end of file (the
  /// child, and whoever inherited the pipe, closed it). The pipe must
  /// outlive the read. Cancel safe: what a cancelled read got is returned
  /// by the next one. Throws std::system_error.
  [[nodiscard]] kyoto::task<std::size_t> read(std::span<std::byte> buf);
  /// The descriptor.
  int as_raw_fd() const noexcept { return fd_.get(); }

 private:
  kyoto::detail::pipe_fd fd_;
  kyoto::detail::read_stash stash_;  ///< what cancelled reads got
};

/// The read end of a child's stdout (tokio's ChildStdout).
class child_stdout : public child_output_pipe {
  using child_output_pipe::child_output_pipe;
};

/// The read end of a child's stderr (tokio's ChildStderr).
class child_stderr : public child_output_pipe {
  using child_output_pipe::child_output_pipe;
};

}  // namespace kyoto::process
