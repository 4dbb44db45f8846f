// kyoto::fs's free functions: each one a short sequence of io_uring
// requests (openat, statx, read, write, close, mkdirat, unlinkat,
// renameat, linkat, symlinkat) awaited in turn on the calling worker's
// ring. readlink and chmod have no opcode and run on the worker.
// remove_dir_all and canonicalize make many syscalls (a directory walk, a
// chain of links) and run on the blocking pool; their errors come back as
// an errno and are thrown on the awaiting thread, so no exception object
// crosses threads (see net::lookup_host).
#include "fs/fs_ops.hpp"

#include <kyoto/fs/file.hpp>
#include <kyoto/fs/functions.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace kyoto::detail {
namespace {

static_assert(statx_mask == (STATX_BASIC_STATS | STATX_BTIME));

}  // namespace
}  // namespace kyoto::detail

namespace kyoto::fs {

namespace {

/// Closes a file that was written with an io_uring request, reporting the
/// error close(2) may give (delayed write-back errors, on NFS for
/// instance). Files only read are left to the destructor's close(2): there
/// is nothing for close to report.
task<void> close_written(file& f, const char* operation) {
  detail::close_awaiter c(f.release());
  const int r = co_await c;
  if (r < 0) detail::throw_fs_error(-r, operation, f.path());
}

/// One request with a raw result; errors name `operation` and `path`.
task<void> path_op(detail::op_args args, const char* operation, const std::filesystem::path& path) {
  const int r = co_await detail::op_awaiter(args);
  if (r < 0) detail::throw_fs_error(-r, operation, path);
}

/// What statx(path, flags) said: `error` is 0 or -errno.
struct stat_result {
  int error;
  struct statx buf;
};

task<stat_result> stat_path(const std::filesystem::path& path, int flags) {
  detail::statx_awaiter st(AT_FDCWD, path.c_str(), flags);
  const int r = co_await st;
  co_return stat_result{r, st.buffer()};
}

/// remove_dir_all's work, on the blocking pool: the errno, or 0.
int remove_tree(const std::filesystem::path& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return errno;
  std::error_code ec;
  if (S_ISLNK(st.st_mode)) {
    std::filesystem::remove(path, ec);  // the link, not what it points to
  } else if (!S_ISDIR(st.st_mode)) {
    return ENOTDIR;
  } else {
    std::filesystem::remove_all(path, ec);
  }
  return ec.value();
}

/// canonicalize's work, on the blocking pool: the path, or an errno.
struct resolved_path {
  std::filesystem::path path;
  int error = 0;
};

resolved_path resolve(const std::filesystem::path& path) {
  const std::unique_ptr<char, decltype(&std::free)> r(::realpath(path.c_str(), nullptr),
                                                      &std::free);
  if (r == nullptr) return resolved_path{{}, errno};
  return resolved_path{std::filesystem::path(r.get()), 0};
}

/// Whether `path` is a directory (false if statx fails).
task<bool> is_dir_at(const std::filesystem::path& path) {
  const stat_result s = co_await stat_path(path, 0);
  co_return s.error == 0 && file_metadata(s.buf).is_dir();
}

}  // namespace

task<std::vector<std::byte>> read(std::filesystem::path path) {
  constexpr const char* op = "kyoto::fs::read";
  const file f = co_await detail::open_file(std::move(path), O_RDONLY, 0, op);
  const file_metadata m = co_await detail::fstatx(f.native_handle(), f.path(), op);
  std::vector<std::byte> out;
  co_await detail::read_to_end(f.native_handle(), f.path(), out, 0, m.len(), op);
  co_return out;
}

task<std::string> read_to_string(std::filesystem::path path) {
  constexpr const char* op = "kyoto::fs::read_to_string";
  const file f = co_await detail::open_file(std::move(path), O_RDONLY, 0, op);
  const file_metadata m = co_await detail::fstatx(f.native_handle(), f.path(), op);
  std::string out;
  co_await detail::read_to_end(f.native_handle(), f.path(), out, 0, m.len(), op);
  co_return out;
}

task<void> write(std::filesystem::path path, std::span<const std::byte> contents) {
  constexpr const char* op = "kyoto::fs::write";
  file f = co_await detail::open_file(std::move(path), O_WRONLY | O_CREAT | O_TRUNC, 0666, op);
  co_await detail::write_all(f.native_handle(), f.path(), contents, 0, op);
  co_await close_written(f, op);
}

task<void> write(std::filesystem::path path, std::string_view contents) {
  return fs::write(std::move(path), std::as_bytes(std::span(contents)));
}

task<void> create_dir(std::filesystem::path path) {
  co_await path_op(detail::mkdirat_args(path.c_str(), 0777), "kyoto::fs::create_dir", path);
}

task<void> create_dir_all(std::filesystem::path path) {
  constexpr const char* op = "kyoto::fs::create_dir_all";
  if (path.empty()) co_return;  // as std: nothing to create
  // "a/b/" names "a/b": drop trailing separators so parents are real ones.
  std::filesystem::path cur = path;
  while (!cur.has_filename() && cur.has_relative_path())
    cur = cur.parent_path();
  // Walk up until a mkdir succeeds or finds a directory; then create the
  // missing levels on the way back down. One mkdirat request per level.
  std::vector<std::filesystem::path> missing;
  for (;;) {
    const int r = co_await detail::op_awaiter(detail::mkdirat_args(cur.c_str(), 0777));
    if (r == 0) break;
    if (r == -EEXIST) {
      if (co_await is_dir_at(cur)) break;
      detail::throw_fs_error(EEXIST, op, path);
    }
    std::filesystem::path parent = cur.parent_path();
    if (r != -ENOENT || parent.empty() || parent == cur) detail::throw_fs_error(-r, op, path);
    missing.push_back(std::exchange(cur, std::move(parent)));
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const int r = co_await detail::op_awaiter(detail::mkdirat_args(it->c_str(), 0777));
    if (r == 0) continue;
    // EEXIST: another task made it meanwhile; fine if it is a directory.
    const bool made_meanwhile = r == -EEXIST && co_await is_dir_at(*it);
    if (!made_meanwhile) detail::throw_fs_error(-r, op, path);
  }
}

task<void> remove_file(std::filesystem::path path) {
  co_await path_op(detail::unlinkat_args(path.c_str(), 0), "kyoto::fs::remove_file", path);
}

task<void> remove_dir(std::filesystem::path path) {
  co_await path_op(detail::unlinkat_args(path.c_str(), AT_REMOVEDIR), "kyoto::fs::remove_dir",
                   path);
}

task<void> remove_dir_all(std::filesystem::path path) {
  const int err = co_await spawn_blocking(remove_tree, path);
  if (err != 0) detail::throw_fs_error(err, "kyoto::fs::remove_dir_all", path);
}

task<void> rename(std::filesystem::path from, std::filesystem::path to) {
  const int r = co_await detail::op_awaiter(detail::renameat_args(from.c_str(), to.c_str()));
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::rename", from, to);
}

task<std::uint64_t> copy(std::filesystem::path from, std::filesystem::path to) {
  constexpr const char* op = "kyoto::fs::copy";
  // Up to 1 MiB per request: few requests for big files, little memory for
  // small ones.
  constexpr std::uint64_t max_chunk = 1 << 20;
  const file in = co_await detail::open_file(std::move(from), O_RDONLY, 0, op);
  const file_metadata m = co_await detail::fstatx(in.native_handle(), in.path(), op);
  const std::uint32_t perm = m.permissions().mode();
  file out = co_await detail::open_file(std::move(to), O_WRONLY | O_CREAT | O_TRUNC, perm, op);
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::clamp<std::uint64_t>(m.len(), 1, max_chunk)));
  std::uint64_t copied = 0;
  for (;;) {
    const std::size_t n = co_await in.read_at(buf, copied);
    if (n == 0) break;
    co_await detail::write_all(out.native_handle(), out.path(), std::span(buf).first(n), copied,
                               op);
    copied += n;
  }
  // The created file got `perm` minus the umask, and an existing one kept
  // its own: set them as std::fs::copy does (fchmod on this worker: no
  // io_uring opcode).
  if (::fchmod(out.native_handle(), static_cast<mode_t>(perm)) != 0) {
    detail::throw_fs_error(errno, op, out.path());
  }
  co_await close_written(out, op);
  co_return copied;
}

task<void> hard_link(std::filesystem::path original, std::filesystem::path link) {
  const int r = co_await detail::op_awaiter(detail::linkat_args(original.c_str(), link.c_str()));
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::hard_link", original, link);
}

task<void> symlink(std::filesystem::path original, std::filesystem::path link) {
  const int r = co_await detail::op_awaiter(detail::symlinkat_args(original.c_str(), link.c_str()));
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::symlink", original, link);
}

task<std::filesystem::path> read_link(std::filesystem::path path) {
  // readlink(2) on this worker: io_uring has no opcode for it.
  std::string target(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) detail::throw_fs_error(errno, "kyoto::fs::read_link", path);
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      co_return std::filesystem::path(std::move(target));
    }
    target.resize(target.size() * 2);  // it may have been cut short
  }
}

task<std::filesystem::path> canonicalize(std::filesystem::path path) {
  resolved_path r = co_await spawn_blocking(resolve, path);
  if (r.error != 0) detail::throw_fs_error(r.error, "kyoto::fs::canonicalize", path);
  co_return std::move(r.path);
}

task<file_metadata> metadata(std::filesystem::path path) {
  const stat_result s = co_await stat_path(path, 0);
  if (s.error < 0) detail::throw_fs_error(-s.error, "kyoto::fs::metadata", path);
  co_return file_metadata(s.buf);
}

task<file_metadata> symlink_metadata(std::filesystem::path path) {
  const stat_result s = co_await stat_path(path, AT_SYMLINK_NOFOLLOW);
  if (s.error < 0) detail::throw_fs_error(-s.error, "kyoto::fs::symlink_metadata", path);
  co_return file_metadata(s.buf);
}

task<bool> try_exists(std::filesystem::path path) {
  const stat_result s = co_await stat_path(path, 0);
  if (s.error == -ENOENT) co_return false;
  if (s.error < 0) detail::throw_fs_error(-s.error, "kyoto::fs::try_exists", path);
  co_return true;
}

task<void> set_permissions(std::filesystem::path path, permissions perm) {
  // chmod(2) on this worker: io_uring has no opcode for it.
  if (::chmod(path.c_str(), static_cast<mode_t>(perm.mode())) != 0) {
    detail::throw_fs_error(errno, "kyoto::fs::set_permissions", path);
  }
  co_return;
}

}  // namespace kyoto::fs
