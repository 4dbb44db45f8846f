// kyoto::io::buf_writer: buffering for any async_write
// (tokio::io::BufWriter).
//
// # The buffer
//
// Writes are copied into a buffer (8 KiB unless told otherwise) and go to
// the inner writer only when the next write would not fit, or on flush()
// and shutdown(). A write at least as large as the buffer goes straight to
// the inner writer, after what was buffered (as tokio's). While the buffer
// is written out, the bytes the inner writer has taken are dropped from its
// front when the flush ends, also if it throws or is cancelled, so the
// buffer always holds exactly the bytes not yet handed to the inner writer.
//
// # Unflushed data
//
// Destroying a buf_writer drops what it still buffers, silently, as
// tokio's BufWriter does (a destructor cannot await a write). Call
// `co_await w.flush()` (or shutdown()) before letting it go.
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/runtime/task.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::detail {

/// Drops the first `written` bytes of a write buffer when it goes out of
/// scope (the end of a flush, normal, thrown or cancelled).
class drain_on_exit {
 public:
  explicit drain_on_exit(std::vector<std::byte>& buf) noexcept : buf_(buf) {}
  drain_on_exit(const drain_on_exit&) = delete;
  drain_on_exit& operator=(const drain_on_exit&) = delete;
  ~drain_on_exit() {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(written));
  }

  std::size_t written = 0;  ///< bytes the inner writer has taken

 private:
  std::vector<std::byte>& buf_;
};

}  // namespace kyoto::detail

namespace kyoto::io {

/// Adds a buffer to a writer (tokio's BufWriter): many small writes become
/// one write of the inner writer. A buf_writer is itself an async_write,
/// and an async_read when `W` is (reads go straight to the inner reader).
///
/// **Flush before dropping it**: data still buffered when a buf_writer is
/// destroyed is lost, silently, as with tokio's BufWriter. write() and
/// write_all() only buffer; flush() or shutdown() send.
///
/// `W` is the writer, owned by the buf_writer: move a stream in, get it
/// back with into_inner(). To buffer a writer you keep using elsewhere,
/// name a reference type: `buf_writer<tcp_stream&>`; the stream must then
/// outlive the buf_writer.
///
/// Thread safety: one task at a time uses it (one write-side operation at
/// a time; a read forwarded to the inner reader may run alongside, as the
/// inner type allows). Each awaiting task resumes where the inner writer's
/// writes resume.
/// Cancel safety: no write-side operation is cancel safe (a cancelled write
/// of the inner writer may have sent part of its bytes, on io_uring);
/// after a cancel the buffer holds exactly what the inner writer has not
/// taken.
/// Errors: the inner writer's; std::system_error with io::errc::write_zero
/// if the inner writer takes nothing.
/// Moved-from: may only be destroyed or assigned to.
template <class W>
  requires async_write<W>
class buf_writer {
 public:
  /// The inner writer's type without the reference, if `W` is one.
  using inner_type = std::remove_reference_t<W>;
  /// The buffer size unless told otherwise: 8 KiB, as tokio's.
  static constexpr std::size_t default_capacity = std::size_t{8} * 1024;

  /// Wraps `inner` with a buffer of `capacity` bytes (default 8 KiB).
  /// Throws std::invalid_argument if `capacity` is 0.
  explicit buf_writer(W inner, std::size_t capacity = default_capacity)
      : inner_(static_cast<W&&>(inner)), cap_(checked(capacity)) {
    buf_.reserve(cap_);
  }
  /// Takes over `o`'s writer and buffered bytes; `o` is left moved-from.
  buf_writer(buf_writer&& o) noexcept(std::is_nothrow_move_constructible_v<W>)
      : inner_(static_cast<W&&>(o.inner_)), buf_(std::move(o.buf_)), cap_(o.cap_) {}
  /// Move-assignable when `W` is not a reference. What the assigned-to
  /// writer buffered is lost.
  buf_writer& operator=(buf_writer&& o) noexcept(std::is_nothrow_move_assignable_v<W>)
    requires(!std::is_reference_v<W>)
  {
    if (this != &o) {
      inner_ = std::move(o.inner_);
      buf_ = std::move(o.buf_);
      cap_ = o.cap_;
    }
    return *this;
  }

  /// Writes `buf`: buffers it if it fits (after writing the buffer out if
  /// it would not fit beside what is buffered); a `buf` at least as large
  /// as the buffer goes to one write of the inner writer instead. Gives how
  /// many bytes were taken (all of them unless the inner write was short).
  /// `buf` must outlive the task. Not cancel safe.
  task<std::size_t> write(std::span<const std::byte> buf) {
    if (!buf_.empty() && buf_.size() + buf.size() > cap_) co_await flush_buf();
    if (buf.size() >= cap_) {
      const std::size_t n = co_await inner_.write(buf);
      co_return n;
    }
    buf_.insert(buf_.end(), buf.begin(), buf.end());
    co_return buf.size();
  }
  /// write() of a string's bytes (they must outlive the task).
  task<std::size_t> write(std::string_view s) { return write(std::as_bytes(std::span(s))); }

  /// Writes all of `buf`: buffered if it fits (after writing the buffer out
  /// if it would not fit beside what is buffered), otherwise written
  /// straight to the inner writer in full. `buf` must outlive the task.
  /// Not cancel safe.
  task<void> write_all(std::span<const std::byte> buf) {
    if (!buf_.empty() && buf_.size() + buf.size() > cap_) co_await flush_buf();
    if (buf.size() >= cap_) {
      co_await detail::write_all_named(inner_, buf, "kyoto::io::buf_writer::write_all");
      co_return;
    }
    buf_.insert(buf_.end(), buf.begin(), buf.end());
  }
  /// write_all() of a string's bytes (they must outlive the task).
  task<void> write_all(std::string_view s) { return write_all(std::as_bytes(std::span(s))); }

  /// Writes the buffer out to the inner writer, then flushes the inner
  /// writer. Not cancel safe (see the class comment for what a cancelled
  /// flush leaves buffered).
  task<void> flush() {
    co_await flush_buf();
    co_await inner_.flush();
  }

  /// Writes the buffer out, then shuts the inner writer down (the peer
  /// reads end of stream). Not cancel safe.
  task<void> shutdown() {
    co_await flush_buf();
    co_await inner_.shutdown();
  }

  /// The buffered bytes, not yet handed to the inner writer. Valid until
  /// the next operation on this buf_writer.
  std::span<const std::byte> buffer() const noexcept { return buf_; }
  /// The buffer's size.
  std::size_t capacity() const noexcept { return cap_; }

  /// The inner writer. Writing it directly goes ahead of the buffered bytes.
  const inner_type& get_ref() const noexcept { return inner_; }
  /// The inner writer. Writing it directly goes ahead of the buffered bytes.
  inner_type& get_mut() noexcept { return inner_; }
  /// Gives the inner writer back; buffered bytes are lost (flush first), as
  /// tokio's into_inner.
  W into_inner() && { return static_cast<W&&>(inner_); }

  /// Reads go to the inner reader, unbuffered (tokio's BufWriter is
  /// AsyncRead when its writer is). Same contract as the inner read.
  auto read(std::span<std::byte> buf)
    requires async_read<W>
  {
    return inner_.read(buf);
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("kyoto::io::buf_writer: capacity must not be 0");
    return capacity;
  }

  /// Writes the whole buffer to the inner writer (short writes continued)
  /// and empties it; on error or cancel, drops only what was taken.
  task<void> flush_buf() {
    detail::drain_on_exit drained(buf_);
    while (drained.written < buf_.size()) {
      const std::span<const std::byte> rest(buf_.data() + drained.written,
                                            buf_.size() - drained.written);
      const std::size_t n = co_await inner_.write(rest);
      if (n == 0) detail::throw_io_error(errc::write_zero, "kyoto::io::buf_writer::flush");
      drained.written += std::min(n, rest.size());
    }
  }

  W inner_;                     ///< the writer
  std::vector<std::byte> buf_;  ///< the bytes not yet written (size <= cap_)
  std::size_t cap_;             ///< the buffer's size
};

}  // namespace kyoto::io
