// What kyoto::fs's public headers need inline: the read and write
// requests of a file (file_io_awaiter) and what they use. The other
// requests behind kyoto::fs (open, close, statx, the path operations) are
// private: runtime/src/fs/fs_ops.hpp, whose file comment says why files
// need no thread pool here and the memory rule every request follows.
#pragma once

#include <kyoto/io/error.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace kyoto::detail {

/// The `off` of a read or write that uses (and advances) the file's
/// cursor instead of an explicit offset (io_uring's -1).
inline constexpr std::uint64_t at_cursor = ~std::uint64_t{0};

/// Throws std::system_error(err, system_category) whose message names the
/// operation and the path: `kyoto::fs::file::open "/tmp/x": No such file
/// or directory`. An empty path is left out of the message.
[[noreturn]] KYOTO_EXPORT void throw_fs_error(int err, const char* operation,
                                              const std::filesystem::path& path);

/// Moves `fd`'s cursor back by `n` bytes (lseek: no io_uring opcode, and it
/// never waits for the disk). Used when a cursor read is cancelled after it
/// completed, so that the next read returns its bytes again. Errors (a pipe
/// has no cursor) are ignored: those bytes are then lost.
KYOTO_EXPORT void rewind_cursor(int fd, int n) noexcept;

/// The SQE fields every request on one descriptor has: `op` on `fd`.
inline op_args fd_args(std::uint8_t op, int fd) noexcept {
  op_args a;
  a.opcode = op;
  a.fd = fd;
  return a;
}

/// read or write of `len` bytes (clamped to max_rw_count) at `off`, or at
/// the cursor when `off` is at_cursor.
inline op_args rw_args(std::uint8_t op, int fd, const void* buf, std::size_t len,
                       std::uint64_t off) noexcept {
  op_args a = fd_args(op, fd);
  a.addr = reinterpret_cast<std::uintptr_t>(buf);
  a.len = rw_len(len);
  a.off = off;
  return a;
}

/// Awaits one read or write on a file: gives the byte count (0 at end of
/// file for a read, or for an empty buffer, which never suspends). The
/// awaiting task resumes on the worker whose ring ran the request.
///
/// Cancel safety: a cancelled read_at or write_at leaves nothing behind but
/// the buffer's contents (a write may have written part of the buffer). A
/// cancelled *cursor* read that had already completed moves the cursor back
/// (rewind_cursor), so the next read returns the same bytes: cursor reads
/// are cancel safe on seekable files. A cancelled cursor write may have
/// written (and advanced the cursor past) part of the buffer.
///
/// Throws std::system_error naming `operation` and `*path` on failure.
class file_io_awaiter {
 public:
  /// `path` names the file in errors; it must outlive the awaiter.
  file_io_awaiter(std::uint8_t op, int fd, const void* buf, std::size_t len, std::uint64_t off,
                  const char* operation, const std::filesystem::path* path) noexcept
      : op_(rw_args(op, fd, buf, len, off)), operation_(operation), path_(path), empty_(len == 0) {}
  file_io_awaiter(file_io_awaiter&&) noexcept = default;
  ~file_io_awaiter() {
    const int r = op_.cancel();
    const op_args& a = op_.args();
    if (r > 0 && a.opcode == opcode::read && a.off == at_cursor) rewind_cursor(a.fd, r);
  }

  bool await_ready() const noexcept { return empty_; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  std::size_t await_resume() {
    if (empty_) return 0;
    const int r = op_.await_resume();
    if (r < 0) throw_fs_error(-r, operation_, *path_);
    return static_cast<std::size_t>(r);
  }

 private:
  op_awaiter op_;
  const char* operation_;
  const std::filesystem::path* path_;
  bool empty_;
};

}  // namespace kyoto::detail
