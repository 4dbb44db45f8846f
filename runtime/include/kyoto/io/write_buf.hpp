// kyoto::io::write_buf: writes from a kyoto::buf and consumes what was
// taken (tokio's AsyncWriteExt::write_buf).
#pragma once

#include <kyoto/bytes/buf.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/runtime/task.hpp>

#include <cstddef>
#include <span>

namespace kyoto::io {

/// Writes the next chunk of `b` once and advances `b` over what `w` took;
/// gives that count (0 if `b` has nothing left). Call it in a loop while
/// `b.has_remaining()` to write everything.
///
/// Errors: whatever `w.write` throws; `b` is then unchanged.
/// Cancel safety: `b` advances only when the write completes; whether the
/// write itself is cancel safe is `w`'s contract.
/// Thread safety: `w` and `b` must outlive the awaited task.
template <async_write W, buf B>
task<std::size_t> write_buf(W& w, B& b) {
  if (!b.has_remaining()) co_return 0;
  const std::span<const std::byte> chunk = b.chunk();
  const std::size_t n = co_await w.write(chunk);
  b.advance(n);
  co_return n;
}

}  // namespace kyoto::io
