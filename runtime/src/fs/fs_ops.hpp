// The io_uring requests behind kyoto::fs beyond the installed
// kyoto/fs/detail/fs_ops.hpp (which holds file_io_awaiter, the read and
// write the public file header needs): open, close, statx and the path
// operations, their errors, and the mode-to-file_type mapping. Private:
// only runtime/src/fs includes it.
//
// # Why files need no thread pool here
//
// tokio runs every file operation on its blocking pool because epoll cannot
// wait for a regular file. io_uring can: openat, read, write, statx, fsync,
// close, unlinkat, renameat, mkdirat, linkat and symlinkat are all requests
// on the worker's ring, and the kernel (not kyoto) decides whether one runs
// inline or on its own io-wq threads. What io_uring has no opcode for
// (readlink, chmod, lseek, and ftruncate before Linux 6.9) is a short
// metadata syscall made on the calling worker; each place says so.
//
// # Memory rule
//
// Every path and buffer handed to the kernel lives in the awaiting
// coroutine's frame (paths are taken by value) or in memory the caller
// keeps alive until the operation completes; io_op.hpp guarantees the
// request ends before its awaiter is destroyed.
#pragma once

#include <kyoto/io/error.hpp>

#include <kyoto/fs/detail/fs_ops.hpp>
#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>

namespace kyoto::detail {

/// The statx fields kyoto::fs asks for: STATX_BASIC_STATS | STATX_BTIME.
inline constexpr std::uint32_t statx_mask = 0x7ffU | 0x800U;

/// The same, naming both paths of a two-path operation (rename, copy,
/// links): `kyoto::fs::rename "/a" -> "/b": ...`.
[[noreturn]] void throw_fs_error(int err, const char* operation, const std::filesystem::path& from,
                                 const std::filesystem::path& to);

/// Throws std::system_error for a kyoto::io::errc (unexpected_eof,
/// write_zero), naming the operation and the path.
[[noreturn]] void throw_fs_error(io::errc e, const char* operation,
                                 const std::filesystem::path& path);

/// The file type in a mode's S_IFMT bits (statx's stx_mode, stat's
/// st_mode, or DTTOIF of a dirent's d_type); `unknown` for none of them.
std::filesystem::file_type file_type_of_mode(unsigned mode) noexcept;

/// The SQE fields every request on one path has: `op` on `path`, relative
/// to the working directory (AT_FDCWD). The *_args below add the rest.
inline op_args path_args(std::uint8_t op, const char* path) noexcept {
  op_args a;
  a.opcode = op;
  a.fd = AT_FDCWD;
  a.addr = reinterpret_cast<std::uintptr_t>(path);
  return a;
}

/// `op`(AT_FDCWD, from, AT_FDCWD, to, 0): renameat2 and linkat lay their
/// two paths out alike.
inline op_args two_path_args(std::uint8_t op, const char* from, const char* to) noexcept {
  op_args a = path_args(op, from);
  a.len = static_cast<std::uint32_t>(AT_FDCWD);  // the new path's dirfd
  a.off = reinterpret_cast<std::uintptr_t>(to);  // addr2
  return a;
}

/// The SQE fields of openat(AT_FDCWD, path, flags, mode).
inline op_args openat_args(const char* path, int flags, std::uint32_t mode) noexcept {
  op_args a = path_args(opcode::openat, path);
  a.len = mode;
  a.op_flags = static_cast<std::uint32_t>(flags);
  return a;
}

/// statx(dirfd, path, flags, statx_mask, buf); with AT_EMPTY_PATH and ""
/// it describes `dirfd` itself.
inline op_args statx_args(int dirfd, const char* path, int flags, struct statx* buf) noexcept {
  op_args a = path_args(opcode::statx, path);
  a.fd = dirfd;
  a.len = statx_mask;
  a.off = reinterpret_cast<std::uintptr_t>(buf);  // addr2
  a.op_flags = static_cast<std::uint32_t>(flags);
  return a;
}

/// fsync(fd), or fdatasync with fsync_datasync.
inline op_args fsync_args(int fd, std::uint32_t flags) noexcept {
  op_args a = fd_args(opcode::fsync, fd);
  a.op_flags = flags;
  return a;
}

/// unlinkat(AT_FDCWD, path, flags): AT_REMOVEDIR removes a directory.
inline op_args unlinkat_args(const char* path, int flags) noexcept {
  op_args a = path_args(opcode::unlinkat, path);
  a.op_flags = static_cast<std::uint32_t>(flags);
  return a;
}

/// renameat2(AT_FDCWD, from, AT_FDCWD, to, 0).
inline op_args renameat_args(const char* from, const char* to) noexcept {
  return two_path_args(opcode::renameat, from, to);
}

/// mkdirat(AT_FDCWD, path, mode).
inline op_args mkdirat_args(const char* path, std::uint32_t mode) noexcept {
  op_args a = path_args(opcode::mkdirat, path);
  a.len = mode;
  return a;
}

/// linkat(AT_FDCWD, from, AT_FDCWD, to, 0): a hard link.
inline op_args linkat_args(const char* from, const char* to) noexcept {
  return two_path_args(opcode::linkat, from, to);
}

/// symlinkat(target, AT_FDCWD, link).
inline op_args symlinkat_args(const char* target, const char* link) noexcept {
  op_args a = path_args(opcode::symlinkat, target);  // fd: the link's dirfd
  a.off = reinterpret_cast<std::uintptr_t>(link);    // addr2
  return a;
}

/// close(fd).
inline op_args close_args(int fd) noexcept {
  return fd_args(opcode::close, fd);
}

/// ftruncate(fd, length) (Linux 6.9+; see opcode::ftruncate).
inline op_args ftruncate_args(int fd, std::uint64_t length) noexcept {
  op_args a = fd_args(opcode::ftruncate, fd);
  a.off = length;
  return a;
}

/// Awaits an openat: gives the new descriptor (>= 0) or -errno. Cancel
/// safe: a descriptor opened by a cancelled request is closed.
class open_awaiter {
 public:
  /// `path` must outlive the awaiter (it lives in the awaiting frame).
  open_awaiter(const char* path, int flags, std::uint32_t mode) noexcept
      : op_(openat_args(path, flags, mode)) {}
  ~open_awaiter();

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  int await_resume() noexcept { return op_.await_resume(); }

 private:
  op_awaiter op_;
};

/// Awaits a close of `fd`, which it owns from construction: gives 0 or
/// -errno (the descriptor is released either way, as close(2) does).
/// Cancel safe: if the request is cancelled before the kernel took the
/// descriptor (or never started), the destructor closes it with close(2).
class close_awaiter {
 public:
  explicit close_awaiter(int fd) noexcept : op_(close_args(fd)) {}
  close_awaiter(const close_awaiter&) = delete;
  close_awaiter& operator=(const close_awaiter&) = delete;
  ~close_awaiter();

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  int await_resume() noexcept {
    owned_ = false;
    return op_.await_resume();
  }

 private:
  op_awaiter op_;
  bool owned_ = true;  ///< until the request's result is taken
};

/// Awaits a statx into its own buffer: gives 0 or -errno; buffer() is the
/// result. Cancel safe (it changes nothing).
class statx_awaiter {
 public:
  /// `path` must outlive the awaiter; "" with AT_EMPTY_PATH describes
  /// `dirfd`.
  statx_awaiter(int dirfd, const char* path, int flags) noexcept
      : op_(statx_args(dirfd, path, flags, nullptr)) {}
  statx_awaiter(const statx_awaiter&) = delete;
  statx_awaiter& operator=(const statx_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    // The buffer's address is taken here, once the awaiter sits in the
    // frame for good.
    op_.args().off = reinterpret_cast<std::uintptr_t>(&buf_);
    op_.await_suspend(h);
  }
  int await_resume() noexcept { return op_.await_resume(); }

  /// What the kernel filled in (valid after a 0 result).
  const struct statx& buffer() const noexcept { return buf_; }

 private:
  op_awaiter op_;
  struct statx buf_{};
};

}  // namespace kyoto::detail
