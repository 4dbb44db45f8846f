// kyoto::fs::read_dir: the entries of a directory (tokio::fs::read_dir,
// ReadDir and DirEntry).
//
// # Why this part of kyoto::fs uses the blocking pool
//
// The rest of kyoto::fs is io_uring requests on the awaiting worker's ring.
// io_uring has no opcode for getdents, so directory reading is done as
// tokio does it: on the blocking pool (kyoto::spawn_blocking), in batches
// of 32 entries. read_dir() opens the directory and reads the first batch
// in one blocking call; next_entry() hands out the buffered entries and,
// when none is left, reads the next batch in another. A worker never
// blocks on the directory.
//
// # Cancel safety
//
// A batch in flight belongs to the stream, not to the next_entry() call
// that started it: cancelling next_entry() leaves the batch running, and
// the next call gives its entries. No entry is lost or repeated.
#pragma once

#include <kyoto/fs/metadata.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

namespace kyoto::detail {
struct read_dir_access;
struct read_dir_state;
}  // namespace kyoto::detail

namespace kyoto::fs {

/// One entry of a directory, as read_dir_stream::next_entry() gives it
/// (tokio's DirEntry). Its name, type and inode number were read with the
/// directory; metadata() asks the file system again.
///
/// A plain value: copyable; its const members may be used from any thread
/// at once.
class KYOTO_EXPORT dir_entry {
 public:
  /// The directory's path as given to read_dir() joined with the entry's
  /// name (tokio's DirEntry::path): relative if that path was.
  const std::filesystem::path& path() const noexcept { return path_; }

  /// The entry's name, without the directory (tokio's file_name).
  std::filesystem::path file_name() const { return path_.filename(); }

  /// The entry's type, as the directory listed it (a symbolic link is
  /// `symlink`, not followed). It comes from readdir's d_type, so it costs
  /// nothing. When the file system leaves d_type unknown, the batch's
  /// blocking call made an lstat for it instead: then `not_found` means the
  /// entry was removed before that lstat, and `unknown` that the lstat
  /// failed otherwise. (tokio's file_type() is async for that fallback;
  /// here it was done on the blocking pool already.)
  std::filesystem::file_type file_type() const noexcept { return type_; }

  /// The entry's inode number (readdir's d_ino; tokio's DirEntryExt::ino).
  std::uint64_t ino() const noexcept { return ino_; }

  /// What statx says about the entry itself, not following a symbolic link
  /// (tokio's DirEntry::metadata, i.e. symlink_metadata(path())): a statx
  /// request on the awaiting worker's ring, which resumes the awaiting
  /// task. The task keeps its own copy of the path, so the entry need not
  /// outlive it. Throws std::system_error naming
  /// "kyoto::fs::dir_entry::metadata" and the path (ENOENT if the entry
  /// was removed since). Cancel safe: it changes nothing.
  task<file_metadata> metadata() const;

 private:
  friend struct detail::read_dir_access;
  dir_entry(std::filesystem::path path, std::filesystem::file_type type, std::uint64_t ino) noexcept
      : path_(std::move(path)), type_(type), ino_(ino) {}

  std::filesystem::path path_;
  std::filesystem::file_type type_;
  std::uint64_t ino_;
};

/// The open directory read_dir() gives, read in batches on the blocking
/// pool (tokio's ReadDir); see the file comment. Move-only: it owns the
/// directory's descriptor, closed once the end is reached or the stream
/// (and any batch it has in flight) is gone.
///
/// Thread safety: one task at a time may call next_entry(); the stream may
/// move to another task or thread between calls. It must outlive the
/// next_entry() task; destroying it while a batch is in flight is fine
/// (the batch finishes on the pool and is dropped).
class KYOTO_EXPORT read_dir_stream {
 public:
  /// Takes over the directory (and any batch in flight); the moved-from
  /// stream is empty: only assigning to it or destroying it is valid.
  read_dir_stream(read_dir_stream&&) noexcept;
  /// Closes this stream's directory and takes over `other`'s, which is
  /// left empty.
  read_dir_stream& operator=(read_dir_stream&&) noexcept;
  read_dir_stream(const read_dir_stream&) = delete;
  read_dir_stream& operator=(const read_dir_stream&) = delete;
  /// Closes the directory (or leaves that to the batch in flight).
  ~read_dir_stream();

  /// The next entry, or std::nullopt at the end (tokio's next_entry). "."
  /// and ".." are skipped; the order is the file system's. Completes at
  /// once while the current batch lasts; otherwise reads the next batch of
  /// up to 32 entries on the blocking pool, and the awaiting task resumes
  /// on a worker of its runtime. An entry added or removed while the
  /// directory is being read may or may not be listed (readdir(3)).
  ///
  /// Throws std::system_error naming "kyoto::fs::read_dir_stream::next_entry"
  /// and the directory if reading fails, after giving the entries read
  /// before the failure; the stream is at its end afterwards. Throws
  /// std::logic_error on a moved-from stream.
  ///
  /// Cancel safe: a batch in flight is kept for the next call.
  task<std::optional<dir_entry>> next_entry();

 private:
  friend struct detail::read_dir_access;
  explicit read_dir_stream(std::unique_ptr<detail::read_dir_state> state) noexcept;

  std::unique_ptr<detail::read_dir_state> state_;  ///< null once moved from
};

/// Opens the directory `path` and gives a stream of its entries (tokio's
/// read_dir). The opendir and the first batch of entries are one call on
/// the blocking pool (io_uring has no getdents opcode); the awaiting task
/// resumes on a worker of its runtime. Must be awaited on a runtime thread.
///
/// Throws std::system_error with the errno, naming "kyoto::fs::read_dir"
/// and the path: ENOENT if it does not exist, ENOTDIR if it is not a
/// directory, EACCES, ... Cancel safe: it changes nothing (an abandoned
/// call finishes on the pool and closes the directory).
///
/// Call it qualified (kyoto::fs::read_dir(p)), as the other functions of
/// kyoto::fs.
KYOTO_EXPORT task<read_dir_stream> read_dir(std::filesystem::path path);

}  // namespace kyoto::fs
