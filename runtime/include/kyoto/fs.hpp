// kyoto::fs: files and directories on io_uring (tokio::fs): file,
// open_options, file_metadata and the free functions (read, write,
// create_dir_all, rename, ...) without a thread pool; read_dir,
// remove_dir_all and canonicalize, which have no io_uring opcode, on the
// blocking pool. See docs/fs.md.
/// \namespace kyoto::fs
/// Files and directories on io_uring (tokio::fs; docs/fs.md).
#pragma once

#include <kyoto/fs/file.hpp>
#include <kyoto/fs/functions.hpp>
#include <kyoto/fs/metadata.hpp>
#include <kyoto/fs/open_options.hpp>
#include <kyoto/fs/read_dir.hpp>
