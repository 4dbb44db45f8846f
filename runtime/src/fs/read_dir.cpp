// kyoto::fs::read_dir: opendir and readdir on the blocking pool, in
// batches (io_uring has no getdents opcode; tokio does the same).
//
// # Who owns the directory when
//
// The DIR* lives in a dir_reader, which is moved, never shared: it sits in
// the stream's state while the stream is idle, travels with the blocking
// call that reads a batch, and comes back in that call's result. So only
// one thread ever touches it, and a batch in flight outlives a cancelled
// next_entry() (its join_handle stays in the state) or a destroyed stream
// (the detached blocking task drops the reader, closing the directory).
//
// Errors found on the pool come back as an errno in the batch and are
// thrown on the awaiting thread, as net::lookup_host does: no exception
// object crosses threads.
#include "fs/fs_ops.hpp"

#include <kyoto/fs/read_dir.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace kyoto::detail {

namespace {

/// Entries read per blocking call (tokio's CHUNK_SIZE).
constexpr std::size_t batch_size = 32;

/// An open directory: closedir on destruction. Move-only; used by one
/// thread at a time (see the file comment).
class dir_reader {
 public:
  dir_reader(DIR* dir, std::filesystem::path root) noexcept : dir_(dir), root_(std::move(root)) {}

  DIR* get() const noexcept { return dir_.get(); }
  /// The path given to read_dir(), which entries' paths start with.
  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  struct closer {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
  };
  std::unique_ptr<DIR, closer> dir_;
  std::filesystem::path root_;
};

/// What one blocking call read.
struct batch {
  std::vector<fs::dir_entry> entries;  ///< in readdir's order
  int error = 0;                       ///< errno after `entries`, or 0
  /// The directory, to read the next batch from; empty once the end (or
  /// an error) was reached: it was closed on the pool.
  std::optional<dir_reader> reader;
};

/// The type of `name` in `dir` from an lstat (fstatat without following
/// links), for a file system that left d_type unknown.
std::filesystem::file_type lstat_type(DIR* dir, const char* name) noexcept {
  using ft = std::filesystem::file_type;
  struct stat st{};
  const int fd = ::dirfd(dir);
  if (fd < 0) return ft::unknown;  // the type stays unknown, as for a failed lstat
  if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? ft::not_found : ft::unknown;
  }
  return file_type_of_mode(st.st_mode);
}

}  // namespace

/// Makes the entries and streams (their constructors are private).
struct read_dir_access {
  static fs::dir_entry entry(const dir_reader& r, const dirent& d) {
    const std::filesystem::file_type t = d.d_type == DT_UNKNOWN
                                             ? lstat_type(r.get(), d.d_name)
                                             : file_type_of_mode(DTTOIF(d.d_type));
    return fs::dir_entry(r.root() / d.d_name, t, d.d_ino);
  }

  static fs::read_dir_stream stream(std::unique_ptr<read_dir_state> s) {
    return fs::read_dir_stream(std::move(s));
  }
};

namespace {

/// Reads up to batch_size entries (skipping "." and ".."). Runs on the
/// blocking pool, which owns `r` meanwhile.
batch read_batch(dir_reader r) {
  batch b;
  b.entries.reserve(batch_size);
  while (b.entries.size() < batch_size) {
    errno = 0;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread at a time reads this DIR
    const dirent* d = ::readdir(r.get());
    if (d == nullptr) {
      b.error = errno;  // 0 at the end; `r` closes the directory here
      return b;
    }
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    b.entries.push_back(read_dir_access::entry(r, *d));
  }
  b.reader.emplace(std::move(r));
  return b;
}

/// What the blocking call of read_dir() gives: the first batch, or
/// opendir's errno.
struct opened {
  batch first;
  int error = 0;
};

opened open_and_read(std::filesystem::path path) {
  DIR* dir = ::opendir(path.c_str());  // O_DIRECTORY | O_CLOEXEC
  if (dir == nullptr) return opened{{}, errno};
  return opened{read_batch(dir_reader(dir, std::move(path))), 0};
}

}  // namespace

/// A stream's state, on the heap so that the stream can move while a
/// next_entry() task refers to it. Touched only by the task calling
/// next_entry() (one at a time); the blocking call sees none of it.
struct read_dir_state {
  std::filesystem::path root;          ///< named in errors
  std::vector<fs::dir_entry> entries;  ///< the current batch
  std::size_t next = 0;                ///< entries[next] is given next
  int error = 0;                       ///< errno to throw after `entries`
  /// The directory while idle; empty while a batch is in flight, and at
  /// the end.
  std::optional<dir_reader> reader;
  /// The batch in flight; empty while idle. Kept here, not in the
  /// next_entry() frame, so that a cancelled call leaves it to the next.
  join_handle<batch> pending;

  /// Takes a completed batch.
  void take(batch&& b) {
    entries = std::move(b.entries);
    next = 0;
    error = b.error;
    reader = std::move(b.reader);
  }
};

}  // namespace kyoto::detail

namespace kyoto::fs {

namespace {

task<file_metadata> entry_metadata(std::filesystem::path path) {
  detail::statx_awaiter st(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW);
  const int r = co_await st;
  if (r < 0) detail::throw_fs_error(-r, "kyoto::fs::dir_entry::metadata", path);
  co_return file_metadata(st.buffer());
}

task<std::optional<dir_entry>> next_in(detail::read_dir_state& s) {
  for (;;) {
    if (s.next < s.entries.size()) co_return std::move(s.entries[s.next++]);
    if (s.error != 0) {
      const int err = std::exchange(s.error, 0);  // reported once; then the end
      detail::throw_fs_error(err, "kyoto::fs::read_dir_stream::next_entry", s.root);
    }
    if (!s.pending.valid()) {
      if (!s.reader) co_return std::nullopt;
      s.pending = spawn_blocking(detail::read_batch, std::move(*s.reader));
      s.reader.reset();
    }
    // Only a blocking call that was cancelled (its runtime shut down) or
    // threw (out of memory) throws here: its directory went with it, so
    // the stream ends.
    detail::batch b;
    try {
      b = co_await s.pending;
    } catch (...) {
      s.pending = {};
      throw;
    }
    s.pending = {};
    s.take(std::move(b));
  }
}

}  // namespace

task<file_metadata> dir_entry::metadata() const {
  return entry_metadata(path_);
}

read_dir_stream::read_dir_stream(std::unique_ptr<detail::read_dir_state> state) noexcept
    : state_(std::move(state)) {}
read_dir_stream::read_dir_stream(read_dir_stream&&) noexcept = default;
read_dir_stream& read_dir_stream::operator=(read_dir_stream&&) noexcept = default;
read_dir_stream::~read_dir_stream() = default;

task<std::optional<dir_entry>> read_dir_stream::next_entry() {
  if (!state_) {
    throw std::logic_error("kyoto::fs::read_dir_stream::next_entry: a moved-from stream");
  }
  return next_in(*state_);
}

task<read_dir_stream> read_dir(std::filesystem::path path) {
  std::filesystem::path root = path;
  detail::opened o = co_await spawn_blocking(detail::open_and_read, std::move(path));
  if (o.error != 0) detail::throw_fs_error(o.error, "kyoto::fs::read_dir", root);
  auto s = std::make_unique<detail::read_dir_state>();
  s->root = std::move(root);
  s->take(std::move(o.first));
  co_return detail::read_dir_access::stream(std::move(s));
}

}  // namespace kyoto::fs
