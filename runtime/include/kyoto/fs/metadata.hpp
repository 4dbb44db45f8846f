// kyoto::fs::file_metadata and kyoto::fs::permissions: what statx(2) says
// about a file (tokio::fs::Metadata, std::fs::Permissions).
//
// The type is `file_metadata`, not tokio's `Metadata`: in C++ a class and
// the function kyoto::fs::metadata(path) cannot share one name.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

namespace kyoto::fs {

/// A file's permission bits (tokio's Permissions with PermissionsExt): the
/// low 12 bits of st_mode (rwx for user, group and others, setuid, setgid,
/// sticky). A plain value: any thread.
class permissions {
 public:
  /// Permissions of `mode` (bits outside 07777 are dropped).
  static constexpr permissions from_mode(std::uint32_t mode) noexcept { return permissions(mode); }

  /// The permission bits (07777 at most).
  constexpr std::uint32_t mode() const noexcept { return mode_; }
  /// Replaces the permission bits (bits outside 07777 are dropped).
  constexpr void set_mode(std::uint32_t mode) noexcept { mode_ = mode & 07777U; }
  /// Whether nobody may write: no write bit is set.
  constexpr bool readonly() const noexcept { return (mode_ & 0222U) == 0; }
  /// Clears every write bit (true) or sets them all (false), as Rust's
  /// set_readonly does on Unix.
  constexpr void set_readonly(bool readonly) noexcept {
    mode_ = readonly ? (mode_ & ~0222U) : (mode_ | 0222U);
  }

  /// The same permission bits.
  constexpr bool operator==(const permissions&) const noexcept = default;

 private:
  constexpr explicit permissions(std::uint32_t mode) noexcept : mode_(mode & 07777U) {}
  std::uint32_t mode_;
};

/// What statx reported about a file, directory or link: type, size,
/// permissions, owner, times (tokio's Metadata with MetadataExt). Made by
/// kyoto::fs::metadata(path), symlink_metadata(path) and file::metadata().
/// A snapshot: it does not change when the file does. A plain value: any
/// thread.
class KYOTO_EXPORT file_metadata {
 public:
  /// The clock of the time accessors.
  using time_point = std::chrono::system_clock::time_point;

  /// Wraps what statx filled in.
  explicit file_metadata(const struct statx& s) noexcept : stx_(s) {}

  /// The size in bytes (of the link itself for symlink_metadata).
  std::uint64_t len() const noexcept { return stx_.stx_size; }
  /// A regular file.
  bool is_file() const noexcept { return S_ISREG(stx_.stx_mode); }
  /// A directory.
  bool is_dir() const noexcept { return S_ISDIR(stx_.stx_mode); }
  /// A symbolic link (only symlink_metadata sees one: the others follow
  /// links).
  bool is_symlink() const noexcept { return S_ISLNK(stx_.stx_mode); }
  /// The type, as std::filesystem spells it (fifo, socket, block, ...).
  std::filesystem::file_type file_type() const noexcept;
  /// The permission bits.
  fs::permissions permissions() const noexcept { return fs::permissions::from_mode(stx_.stx_mode); }
  /// st_mode: the type bits and the permission bits.
  std::uint32_t mode() const noexcept { return stx_.stx_mode; }

  /// Last modification of the contents (st_mtime).
  time_point modified() const noexcept { return to_time(stx_.stx_mtime); }
  /// Last access (st_atime; the file system may not update it).
  time_point accessed() const noexcept { return to_time(stx_.stx_atime); }
  /// Last status change (st_ctime).
  time_point status_changed() const noexcept { return to_time(stx_.stx_ctime); }
  /// Creation (birth) time. Throws std::system_error(ENOTSUP) naming
  /// "kyoto::fs::file_metadata::created" when the file system did not
  /// report one (as tokio returns an error there).
  time_point created() const;

  /// Owner's user id.
  std::uint32_t uid() const noexcept { return stx_.stx_uid; }
  /// Owner's group id.
  std::uint32_t gid() const noexcept { return stx_.stx_gid; }
  /// Inode number.
  std::uint64_t ino() const noexcept { return stx_.stx_ino; }
  /// Device of the file system holding it (makedev of stx_dev_*).
  std::uint64_t dev() const noexcept;
  /// Hard link count.
  std::uint64_t nlink() const noexcept { return stx_.stx_nlink; }
  /// Preferred I/O block size.
  std::uint64_t blksize() const noexcept { return stx_.stx_blksize; }
  /// 512-byte blocks allocated.
  std::uint64_t blocks() const noexcept { return stx_.stx_blocks; }

  /// Everything statx reported.
  const struct statx& native() const noexcept { return stx_; }

 private:
  static time_point to_time(const struct statx_timestamp& t) noexcept {
    return time_point(std::chrono::duration_cast<time_point::duration>(
        std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
  }

  struct statx stx_;
};

}  // namespace kyoto::fs
