// kyoto::io::duplex: a connected pair of in-memory streams (tokio's
// io::duplex / DuplexStream).
//
// # How it works
//
// Each direction is a `duplex_pipe`: a ring buffer of fixed capacity
// guarded by a kyoto::detail::mutex (held for one memcpy, never across a
// suspension), and two kyoto::sync::notify: `readable` (data arrived, or
// the writer closed) and `writable` (room freed, or the reader closed).
// Stream A writes into pipe 1 and reads pipe 2; stream B the reverse.
//
// A read takes what is buffered, or, with nothing buffered and the writer
// still open, awaits `readable` and looks again. A write copies as much as
// fits, or awaits `writable`. Every change another side may wait for is
// followed by notify_one() on the matching notify; notify stores a permit
// when nobody waits yet, so a wake between "looked, found nothing" and
// "started waiting" is not lost (a spurious wake only costs a second look).
//
// Closing: shutdown() closes the writing side of its outgoing pipe (the
// peer reads what is left, then end of stream); destroying a stream also
// closes the reading side of its incoming pipe (the peer's writes then fail
// with a broken pipe). A closed side is never reopened.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

namespace kyoto::detail {
class duplex_pipe;
}  // namespace kyoto::detail

namespace kyoto::io {

/// One end of an in-memory byte stream pair made by io::duplex() (tokio's
/// DuplexStream): what one end writes, the other reads, through a buffer of
/// the capacity given to duplex().
///
/// - `co_await read(buf)` gives the bytes buffered (at most buf.size()),
///   waiting while none are; 0 once the peer has shut down or been
///   destroyed and the buffer is drained.
/// - `co_await write(buf)` buffers as much of `buf` as fits and gives how
///   much, waiting while the buffer is full (back-pressure). Throws
///   std::system_error(std::errc::broken_pipe) if the peer is gone or this
///   end was shut down.
/// - `flush()` does nothing; `shutdown()` ends this end's writing: the peer
///   reads end of stream after the buffered bytes.
/// - Destroying an end shuts it down and makes the peer's writes fail.
///
/// Thread safety: the two ends may be used from different tasks on
/// different workers. On one end, one read and one write may be in flight
/// at once (from two tasks, or through io::split); two concurrent reads (or
/// two writes) of one end are not supported. Waiting tasks are resumed on
/// their own task's thread.
///
/// Cancel safety: read and write are cancel safe: a cancelled read takes
/// nothing, a cancelled write buffers nothing.
///
/// Move-only; a moved-from end may only be destroyed or assigned to.
class KYOTO_EXPORT duplex_stream {
 public:
  /// Takes `o`'s end; `o` is left moved-from.
  duplex_stream(duplex_stream&&) noexcept = default;
  /// Closes this end (as the destructor), then takes `o`'s.
  duplex_stream& operator=(duplex_stream&& o) noexcept;
  duplex_stream(const duplex_stream&) = delete;
  duplex_stream& operator=(const duplex_stream&) = delete;
  /// Closes both directions for this end (see the class comment).
  ~duplex_stream();

  /// Reads at most `buf.size()` bytes; 0 at end of stream (or for an empty
  /// `buf`). Waits while nothing is buffered and the peer may still write.
  task<std::size_t> read(std::span<std::byte> buf);
  /// Buffers as much of `buf` as fits (at least one byte unless `buf` is
  /// empty); waits while the peer's buffer is full. Throws
  /// std::system_error(std::errc::broken_pipe) if the peer was destroyed or
  /// this end was shut down.
  task<std::size_t> write(std::span<const std::byte> buf);
  /// Does nothing: written bytes are readable at once.
  task<void> flush();
  /// Ends this end's writing; the peer reads end of stream once it has
  /// drained the buffer. Further writes fail with a broken pipe.
  task<void> shutdown();

 private:
  friend std::pair<duplex_stream, duplex_stream> duplex(std::size_t max_buf_size);
  duplex_stream(std::shared_ptr<detail::duplex_pipe> read,
                std::shared_ptr<detail::duplex_pipe> write) noexcept
      : read_(std::move(read)), write_(std::move(write)) {}
  void close() noexcept;

  std::shared_ptr<detail::duplex_pipe> read_;   ///< the pipe this end reads
  std::shared_ptr<detail::duplex_pipe> write_;  ///< the pipe this end writes
};

/// A connected pair of in-memory streams (tokio's io::duplex): bytes
/// written to one are read from the other, each direction buffering at most
/// `max_buf_size` bytes. Throws std::invalid_argument if `max_buf_size` is 0.
KYOTO_EXPORT std::pair<duplex_stream, duplex_stream> duplex(std::size_t max_buf_size);

}  // namespace kyoto::io
