// kyoto::fs::file: an open file (tokio::fs::File), read and written with
// io_uring requests on the awaiting worker's ring; no thread pool.
//
// # The cursor
//
// read() and write() use the kernel's file position (io_uring's offset -1),
// so they behave like read(2) and write(2), and seek() is lseek(2).
// read_at() and write_at() take an explicit offset and leave the cursor
// alone (pread/pwrite), so several tasks may use them on one file at once.
//
// # Closing
//
// The destructor closes the descriptor with close(2) on the calling thread
// (it cannot await). close() does it with an io_uring request and reports
// the error close(2) may give (EIO on NFS, for instance).
#pragma once

#include <kyoto/fs/metadata.hpp>
#include <kyoto/fs/open_options.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/fs/detail/fs_ops.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kyoto::fs {

/// Where seek() moves the cursor (std::io::SeekFrom).
class seek_from {
 public:
  /// `offset` bytes from the start.
  static constexpr seek_from start(std::uint64_t offset) noexcept {
    return {0, static_cast<std::int64_t>(offset)};
  }
  /// `offset` bytes from the current position (may be negative).
  static constexpr seek_from current(std::int64_t offset) noexcept { return {1, offset}; }
  /// `offset` bytes from the end (may be negative).
  static constexpr seek_from end(std::int64_t offset) noexcept { return {2, offset}; }

  /// SEEK_SET, SEEK_CUR or SEEK_END.
  constexpr int whence() const noexcept { return whence_; }
  /// The offset from whence().
  constexpr std::int64_t offset() const noexcept { return offset_; }

 private:
  constexpr seek_from(int whence, std::int64_t offset) noexcept
      : whence_(whence), offset_(offset) {}
  int whence_;
  std::int64_t offset_;
};

/// An open file: reads and writes at its cursor or at offsets, sync,
/// metadata, truncation. Every operation is an io_uring request submitted
/// on the ring of the worker that awaits it; the task resumes on that
/// worker (a task that moves between workers is fine: each request belongs
/// to the worker that started it).
///
/// Errors: std::system_error with the errno, whose message names the
/// operation and the path the file was opened with
/// (`kyoto::fs::file::read "/tmp/x": Is a directory`).
///
/// Thread safety: read(), write(), seek() and the other cursor operations
/// are used by one task at a time. read_at(), write_at(), metadata() and
/// sync_*() touch only the descriptor: several tasks may run them on one
/// file at once (share it with a std::shared_ptr). Move-only; moving,
/// destroying or closing a file while an operation on it is pending is
/// undefined (await or cancel it first).
///
/// Cancel safety is documented per operation: reads are cancel safe,
/// writes are not (a cancelled write may have written part of its buffer).
class KYOTO_EXPORT file {
 public:
  /// Opens `path` read-only (open_options().read(true)). Throws
  /// std::system_error naming "kyoto::fs::file::open" and the path
  /// (ENOENT, EACCES, ...). Cancel safe.
  static task<file> open(std::filesystem::path path);
  /// Opens `path` write-only, creating it or truncating it
  /// (write+create+truncate, mode 0666 before the umask). Throws
  /// std::system_error naming "kyoto::fs::file::create". Cancel safe.
  static task<file> create(std::filesystem::path path);
  /// A builder for other modes (append, create_new, read+write, ...).
  static open_options options() noexcept { return open_options(); }

  /// No file (is_open() is false).
  file() noexcept = default;
  /// Adopts an open descriptor (closed by the destructor); `path` only
  /// names it in error messages.
  explicit file(int fd, std::filesystem::path path = {}) noexcept
      : fd_(fd), path_(std::move(path)) {}
  /// Takes `o`'s descriptor; `o` is left empty.
  file(file&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  /// Closes this file's descriptor (close(2)) and takes `o`'s.
  file& operator=(file&& o) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  /// Closes the descriptor with close(2), ignoring its error (use close()
  /// to see it).
  ~file();

  /// Reads at most `buf.size()` bytes at the cursor and advances it; gives
  /// how many, 0 at end of file (or for an empty buffer, without
  /// suspending). Cancel safe: if the read completed as it was cancelled,
  /// the cursor is moved back so the next read returns those bytes (on
  /// files that have a cursor; a pipe's bytes are lost). `buf` must outlive
  /// the operation.
  detail::file_io_awaiter read(std::span<std::byte> buf) const noexcept {
    return io(detail::opcode::read, buf.data(), buf.size(), detail::at_cursor,
              "kyoto::fs::file::read");
  }
  /// Writes some of `buf` at the cursor (at the end with append) and
  /// advances it; gives how many bytes the kernel took. Not cancel safe:
  /// a cancelled write may have written part of the buffer.
  detail::file_io_awaiter write(std::span<const std::byte> buf) const noexcept {
    return io(detail::opcode::write, buf.data(), buf.size(), detail::at_cursor,
              "kyoto::fs::file::write");
  }
  /// write() of a string's bytes (which must outlive the operation).
  detail::file_io_awaiter write(std::string_view s) const noexcept {
    return write(std::as_bytes(std::span(s)));
  }
  /// Reads at most `buf.size()` bytes at `offset` (pread); the cursor does
  /// not move. Gives how many, 0 at or past the end. Cancel safe. Several
  /// tasks may read_at one file at once. `offset` < 2^63.
  detail::file_io_awaiter read_at(std::span<std::byte> buf, std::uint64_t offset) const noexcept {
    return io(detail::opcode::read, buf.data(), buf.size(), offset, "kyoto::fs::file::read_at");
  }
  /// Writes some of `buf` at `offset` (pwrite; with append Linux writes at
  /// the end regardless); the cursor does not move. Gives how many bytes
  /// the kernel took. Not cancel safe (part may be written; writing the
  /// same bytes again is harmless). `offset` < 2^63.
  detail::file_io_awaiter write_at(std::span<const std::byte> buf,
                                   std::uint64_t offset) const noexcept {
    return io(detail::opcode::write, buf.data(), buf.size(), offset, "kyoto::fs::file::write_at");
  }

  /// Reads exactly `buf.size()` bytes at the cursor. Throws
  /// std::system_error with io::errc::unexpected_eof if the file ends
  /// first (the cursor is then at the end). Not cancel safe: bytes read
  /// before a cancel are consumed. `buf` must outlive the task.
  task<void> read_exact(std::span<std::byte> buf) const;
  /// Reads from the cursor to the end of the file, appending to `out`;
  /// gives how many bytes were appended. Cancel safe in effect: the bytes
  /// read before a cancel stay appended to `out` and the cursor is after
  /// them. `out` must outlive the task.
  task<std::size_t> read_to_end(std::vector<std::byte>& out) const;
  /// read_to_end() into a string (the bytes as they are; no UTF-8 check,
  /// unlike tokio). `out` must outlive the task.
  task<std::size_t> read_to_string(std::string& out) const;
  /// Writes all of `buf` at the cursor, continuing short writes. Not cancel
  /// safe. Throws std::system_error (io::errc::write_zero if the kernel
  /// takes nothing). `buf` must outlive the task.
  task<void> write_all(std::span<const std::byte> buf) const;
  /// write_all() of a string's bytes (which must outlive the task).
  task<void> write_all(std::string_view s) const { return write_all(std::as_bytes(std::span(s))); }
  /// Writes all of `buf` at `offset` (pwrite, continuing short writes); the
  /// cursor does not move. Not cancel safe.
  task<void> write_all_at(std::span<const std::byte> buf, std::uint64_t offset) const;

  /// Nothing is buffered in kyoto: completes at once (tokio's flush waits
  /// for its background write; data still goes to the page cache, see
  /// sync_all for the disk).
  task<void> flush() const { co_return; }
  /// AsyncWriteExt::shutdown: like flush() (a file has no write side to
  /// shut). The file stays open.
  task<void> shutdown() const { co_return; }

  /// Flushes data and metadata to the device (fsync). Cancel safe
  /// (retrying is harmless). Throws std::system_error.
  task<void> sync_all() const;
  /// Flushes data, and only the metadata needed to read it back
  /// (fdatasync). Cancel safe. Throws std::system_error.
  task<void> sync_data() const;
  /// statx of the open file. Cancel safe. Throws std::system_error.
  task<file_metadata> metadata() const;
  /// Truncates or extends (with zeros) the file to `size` bytes; the
  /// cursor does not move. An io_uring request on Linux 6.9+; on older
  /// kernels ftruncate(2) runs on the calling worker (no opcode there).
  /// Needs write access. Not cancel safe (it may have happened). Throws
  /// std::system_error (EINVAL for a read-only file).
  task<void> set_len(std::uint64_t size) const;
  /// Changes the permission bits (fchmod(2) on the calling worker:
  /// io_uring has no opcode for it; it touches only the inode). Throws
  /// std::system_error.
  task<void> set_permissions(fs::permissions perm) const;

  /// Moves the cursor; gives the new position. lseek(2) on the calling
  /// worker: io_uring has no opcode for it and it never waits for the
  /// disk. Throws std::system_error (EINVAL before the start, ESPIPE on a
  /// pipe).
  task<std::uint64_t> seek(seek_from pos) const;
  /// seek(start(0)).
  task<void> rewind() const;
  /// The cursor's position (seek(current(0))).
  task<std::uint64_t> stream_position() const;

  /// Closes the file with an io_uring request and reports close(2)'s error;
  /// the file is then empty (is_open() false) whatever the outcome. Cancel
  /// safe: a cancelled close still closes the descriptor. Throws
  /// std::system_error.
  task<void> close();

  /// Whether a descriptor is held.
  bool is_open() const noexcept { return fd_ >= 0; }
  /// The descriptor (still owned by the file), -1 if none.
  int native_handle() const noexcept { return fd_; }
  /// Gives up the descriptor (the caller closes it); the file is empty.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// The path the file was opened with (empty for an adopted descriptor).
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  /// One read or write on this file; errors name `operation` and path_.
  detail::file_io_awaiter io(std::uint8_t op, const void* buf, std::size_t len, std::uint64_t off,
                             const char* operation) const noexcept {
    return detail::file_io_awaiter(op, fd_, buf, len, off, operation, &path_);
  }

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace kyoto::fs

namespace kyoto::detail {

/// Opens `path` with open(2) `flags` (O_CLOEXEC is added) and `mode` in one
/// openat request; errors name `operation` and the path. Negative `flags`
/// are -errno, reported when awaited (open_options' invalid
/// combinations). Cancel safe.
KYOTO_EXPORT task<fs::file> open_file(std::filesystem::path path, int flags, std::uint32_t mode,
                                      const char* operation);

/// Reads `fd` to its end into `out` (a std::vector<std::byte> or a
/// std::string), starting at the cursor or, if `offset` is not at_cursor,
/// at `offset`; `size_hint` bytes are made room for first. Gives the bytes
/// appended; on an exception or a cancel `out` keeps what was read. Errors
/// name `operation` and `path`.
KYOTO_EXPORT task<std::size_t> read_to_end(int fd, const std::filesystem::path& path,
                                           std::vector<std::byte>& out, std::uint64_t offset,
                                           std::uint64_t size_hint, const char* operation);
/// The same, into a std::string.
KYOTO_EXPORT task<std::size_t> read_to_end(int fd, const std::filesystem::path& path,
                                           std::string& out, std::uint64_t offset,
                                           std::uint64_t size_hint, const char* operation);

/// Writes all of `buf` to `fd` at the cursor or at `offset`. Errors name
/// `operation` and `path`; io::errc::write_zero if the kernel takes
/// nothing.
KYOTO_EXPORT task<void> write_all(int fd, const std::filesystem::path& path,
                                  std::span<const std::byte> buf, std::uint64_t offset,
                                  const char* operation);

/// statx of `fd` (AT_EMPTY_PATH); errors name `operation` and `path`.
KYOTO_EXPORT task<fs::file_metadata> fstatx(int fd, const std::filesystem::path& path,
                                            const char* operation);

}  // namespace kyoto::detail
