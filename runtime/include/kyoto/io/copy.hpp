// kyoto::io::copy and copy_bidirectional: pump bytes from readers to
// writers (tokio::io::copy, copy_bidirectional).
//
// # How copy_bidirectional runs
//
// It is two copies, a -> b and b -> a, awaited together with kyoto::join
// inside the calling task: while one direction waits for its read or its
// write, the other runs. Each direction, once its reader reports end of
// stream, flushes its writer and shuts it down, so the far side of that
// writer reads end of stream (tokio's semantics); the call returns when
// both directions have finished. If either direction throws, join cancels
// the other and the exception propagates.
//
// So one stream has a read (one direction) and a write (the other)
// pending at the same time. That is fine for kyoto's sockets: a
// tcp_stream's read and write are independent io_uring requests that
// share nothing but the descriptor. A user type passed to
// copy_bidirectional must allow the same: one read and one write in
// flight together.
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/runtime/join.hpp>
#include <kyoto/runtime/task.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <tuple>
#include <utility>

namespace kyoto::io {

/// The buffer copy() and copy_bidirectional() use per direction: 8 KiB, as
/// tokio's.
inline constexpr std::size_t copy_buffer_size = std::size_t{8} * 1024;

}  // namespace kyoto::io

namespace kyoto::detail {

/// copy()'s loop: reads `reader` into an 8 KiB buffer and writes each
/// chunk out to `writer` until end of stream, then flushes `writer`; with
/// `shutdown`, shuts it down too. Gives the bytes copied.
template <class R, class W>
task<std::uint64_t> copy_one_way(R& reader, W& writer, bool shutdown) {
  // On the heap: an 8 KiB array would make every frame of this coroutine
  // 8 KiB, beyond what the frame pool recycles.
  const auto buf = std::make_unique_for_overwrite<std::byte[]>(io::copy_buffer_size);
  std::uint64_t total = 0;
  for (;;) {
    const std::span<std::byte> space(buf.get(), io::copy_buffer_size);
    const std::size_t n = co_await reader.read(space);
    if (n == 0) break;
    check_read_count(n, space.size(), "kyoto::io::copy");
    std::span<const std::byte> chunk(buf.get(), n);
    while (!chunk.empty()) {
      const std::size_t w = co_await writer.write(chunk);
      if (w == 0) throw_io_error(io::errc::write_zero, "kyoto::io::copy");
      const std::size_t taken = std::min(w, chunk.size());
      chunk = chunk.subspan(taken);
      total += taken;
    }
  }
  co_await writer.flush();
  if (shutdown) co_await writer.shutdown();
  co_return total;
}

}  // namespace kyoto::detail

namespace kyoto::io {

/// Copies everything `reader` gives until end of stream into `writer`,
/// then flushes `writer` (tokio::io::copy); gives the number of bytes
/// copied. Uses an 8 KiB buffer. Does not shut `writer` down.
///
/// Errors: whatever the reads and writes throw; std::system_error with
/// io::errc::write_zero ("kyoto::io::copy") if a write takes nothing.
/// Cancel safety: not cancel safe: bytes read but not yet written when
/// the copy is cancelled are lost.
/// Thread safety: one task reads `reader` and writes `writer`; both must
/// outlive the awaited task.
template <async_read R, async_write W>
task<std::uint64_t> copy(R& reader, W& writer) {
  return detail::copy_one_way(reader, writer, false);
}

/// Copies between `a` and `b` in both directions at once until both have
/// ended (tokio::io::copy_bidirectional); gives {bytes a -> b, bytes
/// b -> a}. When `a` reaches end of stream, `b` is flushed and shut down
/// (its peer reads end of stream), and the other way round; the other
/// direction goes on until it ends too. See the file comment for how the
/// two directions share the task and why a stream may be read and written
/// at once.
///
/// Errors: the first error of either direction (the other is cancelled).
/// Cancel safety: not cancel safe: bytes in flight are lost.
/// Thread safety: `a` and `b` are used by this task only (each by one read
/// and one write at a time) and must outlive the awaited task.
template <class A, class B>
  requires async_read<A> && async_write<A> && async_read<B> && async_write<B>
task<std::pair<std::uint64_t, std::uint64_t>> copy_bidirectional(A& a, B& b) {
  task<std::uint64_t> a_to_b = detail::copy_one_way(a, b, true);
  task<std::uint64_t> b_to_a = detail::copy_one_way(b, a, true);
  const std::tuple<std::uint64_t, std::uint64_t> counts =
      co_await kyoto::join(std::move(a_to_b), std::move(b_to_a));
  co_return std::pair<std::uint64_t, std::uint64_t>(std::get<0>(counts), std::get<1>(counts));
}

}  // namespace kyoto::io
