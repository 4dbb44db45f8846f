// kyoto::io::read_buf: reads into a bytes_mut's spare room (tokio's
// AsyncReadExt::read_buf).
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/runtime/task.hpp>

#include <cstddef>
#include <span>

namespace kyoto::io {

/// Reads once from `r` straight into the spare room of `buf` (reserving 64
/// bytes first if it has none, as the crate's chunk_mut) and appends what
/// was read; gives the count, 0 at end of stream. No intermediate copy.
///
/// Errors: whatever `r.read` throws; `buf` is then unchanged.
/// Cancel safety: cancel safe if `r.read` is: nothing is appended unless
/// the read completes.
/// Thread safety: `buf` must not be touched while the read is in flight;
/// `r` and `buf` must outlive the awaited task.
template <async_read R>
task<std::size_t> read_buf(R& r, bytes_mut& buf) {
  const std::span<std::byte> room = buf.chunk_mut();
  const std::size_t n = co_await r.read(room);
  detail::check_read_count(n, room.size(), "kyoto::io::read_buf");
  buf.advance_mut(n);
  co_return n;
}

}  // namespace kyoto::io
