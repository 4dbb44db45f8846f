// kyoto::io::stdin(), stdout(), stderr(): the process's standard streams as
// kyoto streams (tokio's io::stdin, io::stdout, io::stderr), on io_uring.
//
// # How a read of a terminal or a pipe runs
//
// Each read or write is one io_uring request (IORING_OP_READ/WRITE on
// descriptor 0, 1 or 2, at the current file position) on the awaiting
// thread's ring. The kernel never blocks the submitting thread on it: it
// first tries the read without waiting; if nothing is there, a descriptor
// whose driver can wait without blocking (a pipe, a socket) gets a poll
// armed and the read is retried when data arrives, and one whose driver
// cannot is handed to the ring's io-wq worker thread, which blocks in the
// driver's read instead of a kyoto worker. A terminal is one or the other
// depending on the kernel version; either way a task waiting for a line
// typed on the terminal leaves its worker free for the other tasks
// (tests/io/stdio_test.cpp checks it on a pipe and on a
// pseudo-terminal). A descriptor left in O_NONBLOCK mode by another
// program makes the kernel answer EAGAIN instead; kyoto then waits for
// readiness with IORING_OP_POLL_ADD and tries again.
//
// # Why a stash
//
// A read cancelled by select or timeout may already have taken bytes (or
// the end of the stream) from the kernel: its destructor waits for the
// request to end (io_op.hpp) and keeps what it got for the next read, as
// tcp_stream's read does, so read is cancel safe. The stash belongs to the
// stream, not to one handle: every io::stdin() handle shares it.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/io/detail/ready_op.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace kyoto::detail {

/// A standard input's descriptor and the bytes cancelled reads took from
/// it (see the file comment); defined in src/io/stdio.cpp. Thread-safe.
class stdin_state;

/// A standard output's descriptor and the lock that lets one write at a
/// time reach it; defined in src/io/stdio.cpp. Thread-safe.
class stdout_state;

}  // namespace kyoto::detail

namespace kyoto::io {

/// The process's standard input (tokio's io::Stdin): io::async_read, so
/// buf_reader, lines(), read_ext and codec::framed_read work over it.
///
/// Each read is an io_uring request on the awaiting thread's ring; it
/// never blocks the worker, whether stdin is a terminal, a pipe or a file
/// (see the file comment). Resumes on the awaiting thread.
///
/// Thread safety: a handle is a cheap copyable reference to the stream;
/// handles may be used from any thread, but reads from several tasks at
/// once take bytes in no defined order (as tokio's): read from one task,
/// or through one buf_reader. Cancel safety: read is cancel safe (bytes a
/// cancelled read got are returned by the next read of any handle).
/// Descriptor 0 is never closed by kyoto.
class KYOTO_EXPORT stdin_reader {
 public:
  /// A reader of descriptor `fd`, not owned (never closed). io::stdin() is
  /// stdin_reader(0); another descriptor the program inherited (a pipe on
  /// fd 3) may be read the same way. Throws std::bad_alloc. Every handle
  /// made this way has a stash of its own; make one per descriptor and
  /// copy it.
  explicit stdin_reader(int fd);

  /// Reads at most `buf.size()` bytes; gives how many, 0 at end of input
  /// (Ctrl-D on a terminal, the writer's close on a pipe) or for an empty
  /// buffer. `buf` must outlive the task. Cancel safe. Throws
  /// std::system_error naming "kyoto::io::stdin_reader::read" (EBADF when
  /// stdin is closed, EISDIR, ...).
  [[nodiscard]] task<std::size_t> read(std::span<std::byte> buf) const;

  /// The descriptor read.
  int native_handle() const noexcept;

 private:
  std::shared_ptr<detail::stdin_state> state_;  ///< never null
};

/// A writer of the process's standard output or error (tokio's
/// io::Stdout and io::Stderr): io::async_write, so write_ext, buf_writer
/// and codec::framed_write work over it.
///
/// Writes are not buffered: each is one io_uring request on the awaiting
/// thread's ring (a full pipe waits without blocking the worker), so the
/// bytes of one task's writes appear in the order it awaited them. Wrap it
/// in io::buf_writer to batch small writes (and flush it before exit).
/// Resumes on the awaiting thread.
///
/// Thread safety: a handle is a cheap copyable reference to the stream;
/// several tasks may write at once, on any threads. Their writes reach the
/// descriptor one at a time, in the order they were awaited (a FIFO lock
/// per stream, shared by every io::stdout() handle, as std's stdout lock is
/// taken per write), so no write is split by another and two writes never
/// race for a regular file's position. A write may still be short (a pipe
/// nearly full): write_all of two tasks can interleave between its parts.
/// Cancel safety: write is not cancel safe (a cancelled write may have
/// written part of its buffer). Descriptors 1 and 2 are never closed by
/// kyoto.
///
/// A write to a pipe whose reader is gone raises SIGPIPE, which kills the
/// process unless it is ignored or handled (the C convention; Rust, and so
/// tokio, ignore it at start-up); with SIGPIPE ignored, the write throws
/// std::system_error with EPIPE.
class KYOTO_EXPORT stdio_writer {
 public:
  /// A writer of descriptor `fd`, not owned (never closed). io::stdout()
  /// and io::stderr() are writers of descriptors 1 and 2. `name` (a string
  /// literal) names the writer in errors. Every writer made this way has a
  /// lock of its own: make one per descriptor and copy it. Throws
  /// std::bad_alloc.
  explicit stdio_writer(int fd, const char* name = "kyoto::io::stdio_writer::write");

  /// Writes some of `buf` (all of it unless the stream is a pipe or
  /// socket that is nearly full); gives how many bytes were written.
  /// `buf` must outlive the task. Not cancel safe. Throws
  /// std::system_error naming the stream (EPIPE, ENOSPC, EBADF when it is
  /// closed, ...).
  [[nodiscard]] task<std::size_t> write(std::span<const std::byte> buf) const;
  /// write() of a string's bytes (the string must outlive the task).
  [[nodiscard]] task<std::size_t> write(std::string_view s) const {
    return write(std::as_bytes(std::span(s)));
  }
  /// Nothing is buffered: completes at once (spending cooperative budget).
  detail::ready_void_awaiter flush() const noexcept { return {}; }
  /// As flush(): the standard stream stays open (as tokio's).
  detail::ready_void_awaiter shutdown() const noexcept { return {}; }

  /// The descriptor written.
  int native_handle() const noexcept;

 private:
  std::shared_ptr<detail::stdout_state> state_;  ///< never null
};

/// The process's standard input (tokio's io::stdin()). glibc defines the C
/// `stdin` macro as itself, so the name is usable with `<cstdio>` included.
KYOTO_EXPORT stdin_reader stdin();
/// The process's standard output (tokio's io::stdout()).
KYOTO_EXPORT stdio_writer stdout();
/// The process's standard error (tokio's io::stderr()).
KYOTO_EXPORT stdio_writer stderr();

}  // namespace kyoto::io
