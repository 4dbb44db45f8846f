// kyoto::fs: files and directories on io_uring (tokio::fs), without a
// thread pool: file, open_options, file_metadata and the free functions
// (read, write, create_dir_all, rename, ...). See docs/fs.md.
#pragma once

#include <kyoto/fs/file.hpp>
#include <kyoto/fs/functions.hpp>
#include <kyoto/fs/metadata.hpp>
#include <kyoto/fs/open_options.hpp>
