// kyoto::fs::file, open_options and file_metadata, and the loops fs's free
// functions share (read to end, write all): io_uring requests only, except
// the short metadata syscalls io_uring has no opcode for (lseek, fchmod,
// and ftruncate before Linux 6.9), which run on the calling worker.
#include "fs/fs_ops.hpp"

#include <kyoto/fs/file.hpp>
#include <kyoto/fs/metadata.hpp>
#include <kyoto/fs/open_options.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace kyoto::detail {

namespace {

/// `operation "path"`, the what() prefix of kyoto::fs's errors.
std::string describe(const char* operation, const std::filesystem::path& path) {
  std::string s(operation);
  if (!path.empty()) {
    s += " \"";
    s += path.native();
    s += '"';
  }
  return s;
}

}  // namespace

void throw_fs_error(int err, const char* operation, const std::filesystem::path& path) {
  throw std::system_error(err, std::system_category(), describe(operation, path));
}

void throw_fs_error(int err, const char* operation, const std::filesystem::path& from,
                    const std::filesystem::path& to) {
  std::string s = describe(operation, from);
  s += " -> \"";
  s += to.native();
  s += '"';
  throw std::system_error(err, std::system_category(), s);
}

void throw_fs_error(io::errc e, const char* operation, const std::filesystem::path& path) {
  throw std::system_error(io::make_error_code(e), describe(operation, path));
}

void rewind_cursor(int fd, int n) noexcept {
  ::lseek(fd, -static_cast<off_t>(n), SEEK_CUR);
}

open_awaiter::~open_awaiter() {
  // A request cancelled after the kernel opened the file: nobody will own
  // the descriptor, so close it here.
  const int r = op_.cancel();
  if (r >= 0) ::close(r);
}

close_awaiter::~close_awaiter() {
  const int r = op_.cancel();
  // Never started, or cancelled before the kernel took the descriptor: it
  // is still open. (A close that ran, even with an error, released it.)
  if (owned_ && (r == io_op::no_request || r == -ECANCELED)) ::close(op_.args().fd);
}

task<fs::file> open_file(std::filesystem::path path, int flags, std::uint32_t mode,
                         const char* operation) {
  if (flags < 0) throw_fs_error(-flags, operation, path);
  const int fd = co_await open_awaiter(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_fs_error(-fd, operation, path);
  co_return fs::file(fd, std::move(path));
}

namespace {

/// read_to_end for a std::vector<std::byte> or a std::string.
template <class Buffer>
task<std::size_t> read_to_end_into(int fd, const std::filesystem::path& path, Buffer& out,
                                   std::uint64_t offset, std::uint64_t size_hint,
                                   const char* operation) {
  // Below this, growing costs more requests than the memory is worth.
  constexpr std::size_t min_growth = 8192;
  const std::size_t start = out.size();
  std::size_t len = start;
  // However the loop ends (end of file, an error, a cancel), `out` keeps
  // exactly the bytes read.
  struct trim {
    Buffer& buf;
    const std::size_t& len;
    ~trim() { buf.resize(len); }
  } guard{out, len};
  // The size hint plus one byte: the read that finds the end needs room.
  std::size_t first =
      static_cast<std::size_t>(std::min<std::uint64_t>(size_hint, max_rw_count)) + 1;
  for (;;) {
    if (len == out.size()) {
      out.resize(len + std::max({first, min_growth, len - start}));
      first = 0;
    }
    auto room = std::as_writable_bytes(std::span(out)).subspan(len);
    const std::size_t n = co_await file_io_awaiter(opcode::read, fd, room.data(), room.size(),
                                                   offset, operation, &path);
    if (n == 0) break;
    len += n;
    if (offset != at_cursor) offset += n;
  }
  co_return len - start;
}

}  // namespace

task<std::size_t> read_to_end(int fd, const std::filesystem::path& path,
                              std::vector<std::byte>& out, std::uint64_t offset,
                              std::uint64_t size_hint, const char* operation) {
  return read_to_end_into(fd, path, out, offset, size_hint, operation);
}

task<std::size_t> read_to_end(int fd, const std::filesystem::path& path, std::string& out,
                              std::uint64_t offset, std::uint64_t size_hint,
                              const char* operation) {
  return read_to_end_into(fd, path, out, offset, size_hint, operation);
}

task<void> write_all(int fd, const std::filesystem::path& path, std::span<const std::byte> buf,
                     std::uint64_t offset, const char* operation) {
  while (!buf.empty()) {
    const std::size_t n = co_await file_io_awaiter(opcode::write, fd, buf.data(), buf.size(),
                                                   offset, operation, &path);
    if (n == 0) throw_fs_error(io::errc::write_zero, operation, path);
    buf = buf.subspan(n);
    if (offset != at_cursor) offset += n;
  }
}

task<fs::file_metadata> fstatx(int fd, const std::filesystem::path& path, const char* operation) {
  statx_awaiter st(fd, "", AT_EMPTY_PATH);
  const int r = co_await st;
  if (r < 0) throw_fs_error(-r, operation, path);
  co_return fs::file_metadata(st.buffer());
}

}  // namespace kyoto::detail

namespace kyoto::fs {

// ---- open_options ----

int open_options::flags() const noexcept {
  // std's rules (library/std/src/sys/unix/fs.rs: get_access_mode and
  // get_creation_mode).
  int access;
  if (append_) {
    access = (read_ ? O_RDWR : O_WRONLY) | O_APPEND;
  } else if (read_ && write_) {
    access = O_RDWR;
  } else if (read_) {
    access = O_RDONLY;
  } else if (write_) {
    access = O_WRONLY;
  } else {
    return -EINVAL;  // no access mode
  }
  if (!write_ && !append_) {
    if (truncate_ || create_ || create_new_) return -EINVAL;
  } else if (append_ && truncate_ && !create_new_) {
    return -EINVAL;
  }
  int creation = 0;
  if (create_new_) {
    creation = O_CREAT | O_EXCL;
  } else {
    if (create_) creation |= O_CREAT;
    if (truncate_) creation |= O_TRUNC;
  }
  return access | creation | (custom_flags_ & ~O_ACCMODE);
}

task<file> open_options::open(std::filesystem::path path) const {
  // Not a coroutine: the options are read now, so the builder may be a
  // temporary that is gone when the task runs.
  return detail::open_file(std::move(path), flags(), mode_, "kyoto::fs::open_options::open");
}

// ---- file ----

task<file> file::open(std::filesystem::path path) {
  return detail::open_file(std::move(path), O_RDONLY, 0, "kyoto::fs::file::open");
}

task<file> file::create(std::filesystem::path path) {
  return detail::open_file(std::move(path), O_WRONLY | O_CREAT | O_TRUNC, 0666,
                           "kyoto::fs::file::create");
}

file& file::operator=(file&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

file::~file() {
  if (fd_ >= 0) ::close(fd_);
}

task<void> file::read_exact(std::span<std::byte> buf) const {
  constexpr const char* op = "kyoto::fs::file::read_exact";
  while (!buf.empty()) {
    const std::size_t n = co_await detail::file_io_awaiter(
        detail::opcode::read, fd_, buf.data(), buf.size(), detail::at_cursor, op, &path_);
    if (n == 0) detail::throw_fs_error(io::errc::unexpected_eof, op, path_);
    buf = buf.subspan(n);
  }
}

task<std::size_t> file::read_to_end(std::vector<std::byte>& out) const {
  return detail::read_to_end(fd_, path_, out, detail::at_cursor, 0, "kyoto::fs::file::read_to_end");
}

task<std::size_t> file::read_to_string(std::string& out) const {
  return detail::read_to_end(fd_, path_, out, detail::at_cursor, 0,
                             "kyoto::fs::file::read_to_string");
}

task<void> file::write_all(std::span<const std::byte> buf) const {
  return detail::write_all(fd_, path_, buf, detail::at_cursor, "kyoto::fs::file::write_all");
}

task<void> file::write_all_at(std::span<const std::byte> buf, std::uint64_t offset) const {
  return detail::write_all(fd_, path_, buf, offset, "kyoto::fs::file::write_all_at");
}

task<void> file::sync_all() const {
  const int r = co_await detail::op_awaiter(detail::fsync_args(fd_, 0));
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::file::sync_all", path_);
}

task<void> file::sync_data() const {
  const int r = co_await detail::op_awaiter(detail::fsync_args(fd_, detail::fsync_datasync));
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::file::sync_data", path_);
}

task<file_metadata> file::metadata() const {
  return detail::fstatx(fd_, path_, "kyoto::fs::file::metadata");
}

task<void> file::set_len(std::uint64_t size) const {
  int r = co_await detail::op_awaiter(detail::ftruncate_args(fd_, size));
  if (r == -EINVAL) {
    // Before Linux 6.9 the kernel does not know the opcode (EINVAL), and
    // io_uring has nothing else for it: ftruncate(2) on this worker (it
    // changes the inode's size; freeing blocks is the file system's
    // business). It also reports the genuine EINVALs (read-only file,
    // size beyond off_t) itself.
    r = ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? 0 : -errno;
  }
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::file::set_len", path_);
}

task<void> file::set_permissions(fs::permissions perm) const {
  // fchmod(2) on this worker: io_uring has no opcode for it.
  if (::fchmod(fd_, static_cast<mode_t>(perm.mode())) != 0) {
    detail::throw_fs_error(errno, "kyoto::fs::file::set_permissions", path_);
  }
  co_return;
}

task<std::uint64_t> file::seek(seek_from pos) const {
  // lseek(2) on this worker: io_uring has no opcode for it, and it only
  // moves the file's position (SEEK_SET/CUR/END never wait for the disk).
  const off_t r = ::lseek(fd_, static_cast<off_t>(pos.offset()), pos.whence());
  if (r < 0) detail::throw_fs_error(errno, "kyoto::fs::file::seek", path_);
  co_return static_cast<std::uint64_t>(r);
}

task<void> file::rewind() const {
  co_await seek(seek_from::start(0));
}

task<std::uint64_t> file::stream_position() const {
  return seek(seek_from::current(0));
}

task<void> file::close() {
  if (fd_ < 0) co_return;
  detail::close_awaiter c(std::exchange(fd_, -1));
  const int r = co_await c;
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::file::close", path_);
}

// ---- file_metadata ----

std::filesystem::file_type file_metadata::file_type() const noexcept {
  return detail::file_type_of_mode(stx_.stx_mode);
}

}  // namespace kyoto::fs

namespace kyoto::detail {

std::filesystem::file_type file_type_of_mode(unsigned mode) noexcept {
  using ft = std::filesystem::file_type;
  switch (mode & S_IFMT) {
    case S_IFREG:
      return ft::regular;
    case S_IFDIR:
      return ft::directory;
    case S_IFLNK:
      return ft::symlink;
    case S_IFIFO:
      return ft::fifo;
    case S_IFSOCK:
      return ft::socket;
    case S_IFBLK:
      return ft::block;
    case S_IFCHR:
      return ft::character;
    default:
      return ft::unknown;
  }
}

}  // namespace kyoto::detail

namespace kyoto::fs {

file_metadata::time_point file_metadata::created() const {
  if ((stx_.stx_mask & STATX_BTIME) == 0) {
    throw std::system_error(ENOTSUP, std::system_category(), "kyoto::fs::file_metadata::created");
  }
  return to_time(stx_.stx_btime);
}

std::uint64_t file_metadata::dev() const noexcept {
  return makedev(stx_.stx_dev_major, stx_.stx_dev_minor);
}

}  // namespace kyoto::fs
