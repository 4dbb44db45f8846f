// kyoto::fs::open_options: how to open a file (tokio::fs::OpenOptions,
// with std's rules for which combinations are valid).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <filesystem>

namespace kyoto::fs {

class file;

/// A builder of open(2) flags: pick the access (read, write, append) and
/// the creation behaviour (create, create_new, truncate), then open(path).
/// Every setter returns *this for chaining:
///
///   fs::file f = co_await fs::file::options().append(true).create(true).open(p);
///
/// A plain value (copy it freely); not shared between threads while being
/// changed.
class KYOTO_EXPORT open_options {
 public:
  /// Nothing set: open() fails with EINVAL until an access mode is chosen.
  open_options() noexcept = default;

  /// Read access.
  open_options& read(bool on) noexcept {
    read_ = on;
    return *this;
  }
  /// Write access (at the cursor, which starts at 0).
  open_options& write(bool on) noexcept {
    write_ = on;
    return *this;
  }
  /// Write access where every write goes to the end of the file
  /// (O_APPEND; implies write).
  open_options& append(bool on) noexcept {
    append_ = on;
    return *this;
  }
  /// Truncate an existing file to 0 bytes (needs write; not with append).
  open_options& truncate(bool on) noexcept {
    truncate_ = on;
    return *this;
  }
  /// Create the file if it does not exist (needs write or append).
  open_options& create(bool on) noexcept {
    create_ = on;
    return *this;
  }
  /// Create the file, failing with EEXIST if it exists (O_CREAT|O_EXCL;
  /// create and truncate are then ignored; needs write or append).
  open_options& create_new(bool on) noexcept {
    create_new_ = on;
    return *this;
  }
  /// The permission bits of a created file, before the umask (default
  /// 0666; OpenOptionsExt::mode).
  open_options& mode(std::uint32_t mode) noexcept {
    mode_ = mode;
    return *this;
  }
  /// Extra open(2) flags OR-ed in (O_NOFOLLOW, O_DIRECT, ...; the access
  /// mode bits are ignored; OpenOptionsExt::custom_flags).
  open_options& custom_flags(int flags) noexcept {
    custom_flags_ = flags;
    return *this;
  }

  /// Opens `path` with these options (one openat request; O_CLOEXEC is
  /// always added). The options are read now: the builder need not outlive
  /// the task. Throws std::system_error naming
  /// "kyoto::fs::open_options::open" and the path: EINVAL for an invalid
  /// combination (no access mode, truncate without write, ...), else what
  /// openat said (ENOENT, EEXIST, EACCES, ...). Cancel safe: a file opened
  /// by a cancelled request is closed.
  task<file> open(std::filesystem::path path) const;

  /// The open(2) flags these options stand for, or -EINVAL for an invalid
  /// combination (std's rules).
  int flags() const noexcept;
  /// The mode a created file gets.
  std::uint32_t creation_mode() const noexcept { return mode_; }

 private:
  bool read_ = false;
  bool write_ = false;
  bool append_ = false;
  bool truncate_ = false;
  bool create_ = false;
  bool create_new_ = false;
  std::uint32_t mode_ = 0666;
  int custom_flags_ = 0;
};

}  // namespace kyoto::fs

// open() gives a file: whoever includes this header can await it. (file.hpp
// includes this header first; #pragma once stops the cycle.)
#include <kyoto/fs/file.hpp>
