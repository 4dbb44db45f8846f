// kyoto::fs's free functions (tokio::fs::read, write, create_dir, ...):
// each is a task of io_uring requests on the awaiting worker's ring, except
// remove_dir_all and canonicalize, which walk directories or resolve links
// with no io_uring opcode for it and run on the blocking pool
// (kyoto::spawn_blocking), as all of tokio::fs does.
//
// Paths are taken by value: a task may run after the caller's argument is
// gone. Call them qualified (kyoto::fs::copy(a, b)): with std::filesystem
// paths as arguments, an unqualified call also finds std::filesystem's
// functions of the same names by argument-dependent lookup.
//
// Errors: std::system_error with the errno, whose message names the
// function and the path(s): `kyoto::fs::remove_file "/tmp/x": No such file
// or directory`.
//
// Cancel safety: the reading functions (read, read_to_string, metadata,
// symlink_metadata, try_exists, read_link, canonicalize) are cancel safe:
// they change nothing. The others are not: a cancelled create_dir,
// remove_file, rename, write, copy, ... may or may not have taken effect
// (or, for write and copy, written part of the file). Each runs to
// completion once started unless its task is destroyed; remove_dir_all
// runs to completion on the pool even then.
//
// Thread safety: any task on any worker may call any of them at once; what
// happens when several change the same path is what the kernel makes of
// the requests' order.
#pragma once

#include <kyoto/fs/metadata.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kyoto::fs {

/// The whole contents of the file at `path`: open, statx (the size, as a
/// hint), reads until end of file (a file that grows meanwhile is read to
/// its new end), close.
KYOTO_EXPORT task<std::vector<std::byte>> read(std::filesystem::path path);

/// The whole contents of the file at `path` as a string (the bytes as they
/// are; unlike tokio, no UTF-8 check).
KYOTO_EXPORT task<std::string> read_to_string(std::filesystem::path path);

/// Creates or truncates the file at `path` (mode 0666 before the umask)
/// and writes all of `contents` to it. The bytes must stay alive until the
/// task completes (`co_await fs::write(p, bytes)` always satisfies that).
KYOTO_EXPORT task<void> write(std::filesystem::path path, std::span<const std::byte> contents);
/// write() of a string's bytes (which must stay alive until the task
/// completes).
KYOTO_EXPORT task<void> write(std::filesystem::path path, std::string_view contents);

/// Creates the directory `path` (mode 0777 before the umask). Fails with
/// EEXIST if it exists, ENOENT if its parent does not.
KYOTO_EXPORT task<void> create_dir(std::filesystem::path path);

/// Creates `path` and every missing parent (one mkdirat request per
/// missing level). Succeeds if `path` already is a directory; fails with
/// EEXIST if it, or a parent, is something else.
KYOTO_EXPORT task<void> create_dir_all(std::filesystem::path path);

/// Removes the file (or symbolic link) `path` (unlinkat). EISDIR for a
/// directory, ENOENT if absent.
KYOTO_EXPORT task<void> remove_file(std::filesystem::path path);

/// Removes the empty directory `path` (unlinkat with AT_REMOVEDIR).
/// ENOTEMPTY if it has entries.
KYOTO_EXPORT task<void> remove_dir(std::filesystem::path path);

/// Removes the directory `path` and everything in it (tokio's
/// remove_dir_all, after std's: a symbolic link in the tree is removed, not
/// followed; `path` itself being a link removes just the link). One call
/// to std::filesystem::remove_all on the blocking pool (no io_uring opcode
/// walks a directory); the awaiting task resumes on a worker of its
/// runtime. Must be awaited on a runtime thread.
///
/// Unlike std::filesystem::remove_all, a missing `path` is an error
/// (ENOENT), as in tokio; ENOTDIR if `path` is a file. An error partway
/// leaves what was not removed yet. Not cancel safe: a cancelled call
/// keeps running on the pool until it is done.
KYOTO_EXPORT task<void> remove_dir_all(std::filesystem::path path);

/// Renames `from` to `to` (renameat), replacing `to` if it is a file (or
/// an empty directory when `from` is one).
KYOTO_EXPORT task<void> rename(std::filesystem::path from, std::filesystem::path to);

/// Copies the contents and the permission bits of the file `from` to `to`
/// (created or truncated); gives the bytes copied. Reads and writes are
/// io_uring requests; the final fchmod(2) runs on the calling worker
/// (io_uring has no opcode for it).
KYOTO_EXPORT task<std::uint64_t> copy(std::filesystem::path from, std::filesystem::path to);

/// Makes `link` a new hard link to the file `original` (linkat).
KYOTO_EXPORT task<void> hard_link(std::filesystem::path original, std::filesystem::path link);

/// Makes `link` a symbolic link whose target is `original` (symlinkat;
/// the target need not exist).
KYOTO_EXPORT task<void> symlink(std::filesystem::path original, std::filesystem::path link);

/// The target of the symbolic link `path`. readlink(2) on the calling
/// worker: io_uring has no readlinkat opcode (it reads one inode). EINVAL
/// if `path` is not a link.
KYOTO_EXPORT task<std::filesystem::path> read_link(std::filesystem::path path);

/// The absolute form of `path` with every symbolic link resolved and no
/// ".", ".." or repeated separator left (tokio's canonicalize; realpath(3)).
/// Runs on the blocking pool (it resolves one link after another, with no
/// io_uring opcode for it); the awaiting task resumes on a worker of its
/// runtime. Must be awaited on a runtime thread. ENOENT if `path`, or a
/// link in it, leads nowhere.
KYOTO_EXPORT task<std::filesystem::path> canonicalize(std::filesystem::path path);

/// What statx says about `path`, following symbolic links.
KYOTO_EXPORT task<file_metadata> metadata(std::filesystem::path path);

/// What statx says about `path` itself: a symbolic link is described, not
/// followed.
KYOTO_EXPORT task<file_metadata> symlink_metadata(std::filesystem::path path);

/// Whether `path` exists (following links): false for ENOENT, an error for
/// anything else (EACCES, ...), unlike std::filesystem::exists.
KYOTO_EXPORT task<bool> try_exists(std::filesystem::path path);

/// Changes the permission bits of `path` (chmod(2) on the calling worker:
/// io_uring has no opcode for it; it touches only the inode).
KYOTO_EXPORT task<void> set_permissions(std::filesystem::path path, permissions perm);

}  // namespace kyoto::fs
