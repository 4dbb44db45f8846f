// kyoto::io::buf_reader: buffering for any async_read, with line reading
// (tokio::io::BufReader, AsyncBufReadExt and Lines).
//
// # The buffer
//
// A buf_reader owns a fixed buffer (8 KiB unless told otherwise) holding
// bytes [pos_, filled_) not yet handed out. It is refilled by one read of
// the inner reader, straight into it, only when it is empty. A read at
// least as large as the buffer, made while the buffer is empty, bypasses
// it and reads into the caller's buffer directly (as tokio's does), so
// wrapping a stream costs nothing for large reads.
//
// # Cancel safety
//
// A refill awaits the inner read with pos_ == filled_ and changes them only
// once it completes; bytes taken out of the buffer are copied to their
// destination (the caller's span, a line being read) with no suspension in
// between. So a cancelled operation loses no buffered byte, and loses
// nothing at all if the inner read is cancel safe (a tcp_stream's keeps
// what a cancelled read received for the next one). What each operation
// promises is in its comment.
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/runtime/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::io {

template <class R>
  requires async_read<R>
class lines;

/// Adds a buffer to a reader (tokio's BufReader): many small reads cost one
/// read of the inner reader, and lines or delimited records can be read
/// (read_line, read_until, lines). A buf_reader is itself an async_read,
/// and an async_write when `R` is (writes go straight to the inner
/// writer), so a buffered tcp_stream is still a stream.
///
/// `R` is the reader, owned by the buf_reader (tokio's choice): move a
/// stream in, get it back with into_inner(). To buffer a reader you keep
/// using elsewhere, name a reference type: `buf_reader<tcp_stream&>`; the
/// stream must then outlive the buf_reader.
///
/// Thread safety: one task at a time uses it (one read-side operation at a
/// time; a write forwarded to the inner writer may run alongside, as the
/// inner type allows). Each awaiting task resumes where the inner reader's
/// reads resume (for kyoto's sockets, the thread that awaited).
/// Cancel safety: see each operation and the file comment; in short, read,
/// fill_buf, read_until and lines::next_line lose nothing if the inner
/// read is cancel safe; read_line is not cancel safe.
/// Errors: the inner reader's, thrown by the operation that read.
/// Moved-from: may only be destroyed or assigned to.
template <class R>
  requires async_read<R>
class buf_reader {
 public:
  /// The inner reader's type without the reference, if `R` is one.
  using inner_type = std::remove_reference_t<R>;
  /// The buffer size unless told otherwise: 8 KiB, as tokio's.
  static constexpr std::size_t default_capacity = std::size_t{8} * 1024;

  /// Wraps `inner` with a buffer of `capacity` bytes (default 8 KiB).
  /// Throws std::invalid_argument if `capacity` is 0.
  explicit buf_reader(R inner, std::size_t capacity = default_capacity)
      : inner_(static_cast<R&&>(inner)), buf_(allocate(capacity)), cap_(capacity) {}
  /// Takes over `o`'s reader and buffered bytes; `o` is left moved-from.
  buf_reader(buf_reader&& o) noexcept(std::is_nothrow_move_constructible_v<R>)
      : inner_(static_cast<R&&>(o.inner_)),
        buf_(std::move(o.buf_)),
        cap_(std::exchange(o.cap_, 0)),
        pos_(std::exchange(o.pos_, 0)),
        filled_(std::exchange(o.filled_, 0)) {}
  /// Move-assignable when `R` is not a reference. Buffered bytes of the
  /// assigned-to reader are dropped.
  buf_reader& operator=(buf_reader&& o) noexcept(std::is_nothrow_move_assignable_v<R>)
    requires(!std::is_reference_v<R>)
  {
    if (this != &o) {
      inner_ = std::move(o.inner_);
      buf_ = std::move(o.buf_);
      cap_ = std::exchange(o.cap_, 0);
      pos_ = std::exchange(o.pos_, 0);
      filled_ = std::exchange(o.filled_, 0);
    }
    return *this;
  }

  /// Reads at most `buf.size()` bytes: buffered bytes first; if none are
  /// buffered, one read of the inner reader (straight into `buf` when `buf`
  /// is at least as large as the buffer, as tokio's). Gives the count, 0 at
  /// end of stream or for an empty `buf`. `buf` must outlive the task.
  /// Cancel safe if the inner read is.
  task<std::size_t> read(std::span<std::byte> buf) {
    if (buf.empty()) co_return 0;
    if (pos_ == filled_ && buf.size() >= cap_) {
      const std::size_t n = co_await inner_.read(buf);
      detail::check_read_count(n, buf.size(), "kyoto::io::buf_reader::read");
      co_return n;
    }
    if (pos_ == filled_) {
      const std::size_t n = co_await inner_.read(storage());
      refilled(n);
    }
    co_return take(buf);
  }

  /// The buffered bytes, refilling the buffer first (one inner read) if it
  /// is empty (tokio's fill_buf). An empty span means end of stream. The
  /// span stays valid until the next operation on this buf_reader; mark
  /// what you used with consume(). Cancel safe if the inner read is.
  task<std::span<const std::byte>> fill_buf() {
    if (pos_ == filled_) {
      const std::size_t n = co_await inner_.read(storage());
      refilled(n);
    }
    co_return buffer();
  }

  /// Marks `n` buffered bytes as used (at most what is buffered): the next
  /// read or fill_buf starts after them. Never suspends.
  void consume(std::size_t n) noexcept { pos_ = std::min(pos_ + n, filled_); }

  /// Reads until `delim` or end of stream, appending the bytes to `out`,
  /// the delimiter included if found (tokio's read_until); gives how many
  /// bytes were appended, 0 at end of stream. `out` must outlive the task.
  /// Errors: the inner reader's; what was read before the error stays
  /// appended to `out`. Cancel safety: what was read before a cancel stays
  /// appended to `out` and a new call goes on from there (as tokio's); no
  /// byte is lost if the inner read is cancel safe.
  task<std::size_t> read_until(std::byte delim, std::vector<std::byte>& out) {
    return read_until_into(delim, out);
  }

  /// Reads a line: appends to `line` the bytes up to and including the
  /// next '\n' (or up to end of stream), if they are valid UTF-8 (tokio's
  /// read_line). Gives the number of bytes appended, 0 at end of stream.
  /// `line` must outlive the task.
  /// Errors: std::system_error with std::errc::illegal_byte_sequence ("stream
  /// did not contain valid UTF-8") if the line is not UTF-8, `line` left as
  /// it was; an error of the inner reader, the bytes read before it left
  /// appended if they are valid UTF-8 (otherwise `line` is left as it was),
  /// as tokio's.
  /// Cancel safety: not cancel safe: a cancelled call leaves `line` as it
  /// was and loses the part of the line it had read (tokio's loses it too).
  /// Use lines() for a cancel-safe loop over lines.
  task<std::size_t> read_line(std::string& line) {
    const std::size_t start = line.size();
    detail::truncate_on_exit<std::string> keep(line, start);
    std::size_t n = 0;
    try {
      n = co_await read_until_into(std::byte{'\n'}, line);
    } catch (...) {
      if (detail::is_utf8_from(line, start)) keep.len = line.size();
      throw;
    }
    if (!detail::is_utf8_from(line, start)) {
      detail::throw_invalid_utf8("kyoto::io::buf_reader::read_line");
    }
    keep.len = line.size();
    co_return n;
  }

  /// Turns this buf_reader into a stream of lines (tokio's lines()):
  /// `co_await lines.next_line()` gives each line without its "\n" or
  /// "\r\n", then std::nullopt at end of stream. Buffered bytes carry over.
  kyoto::io::lines<R> lines() && { return kyoto::io::lines<R>(std::move(*this)); }

  /// The buffered bytes, without reading (tokio's buffer()). Valid until the
  /// next operation on this buf_reader.
  std::span<const std::byte> buffer() const noexcept { return {buf_.get() + pos_, filled_ - pos_}; }
  /// The buffer's size.
  std::size_t capacity() const noexcept { return cap_; }

  /// The inner reader. Reading it directly skips the buffered bytes.
  const inner_type& get_ref() const noexcept { return inner_; }
  /// The inner reader. Reading it directly skips the buffered bytes.
  inner_type& get_mut() noexcept { return inner_; }
  /// Gives the inner reader back; the buffered bytes are lost (tokio's
  /// into_inner).
  R into_inner() && { return static_cast<R&&>(inner_); }

  /// Writes go to the inner writer, unbuffered (tokio's BufReader is
  /// AsyncWrite when its reader is). Same contract as the inner write.
  auto write(std::span<const std::byte> buf)
    requires async_write<R>
  {
    return inner_.write(buf);
  }
  /// The inner writer's flush.
  auto flush()
    requires async_write<R>
  {
    return inner_.flush();
  }
  /// The inner writer's shutdown.
  auto shutdown()
    requires async_write<R>
  {
    return inner_.shutdown();
  }

 private:
  friend class kyoto::io::lines<R>;

  static std::unique_ptr<std::byte[]> allocate(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("kyoto::io::buf_reader: capacity must not be 0");
    return std::make_unique_for_overwrite<std::byte[]>(capacity);
  }

  /// The whole buffer, to refill.
  std::span<std::byte> storage() noexcept { return {buf_.get(), cap_}; }
  /// Records a refill of `n` bytes.
  void refilled(std::size_t n) {
    detail::check_read_count(n, cap_, "kyoto::io::buf_reader");
    pos_ = 0;
    filled_ = n;
  }
  /// Moves buffered bytes into `buf`; gives how many.
  std::size_t take(std::span<std::byte> buf) noexcept {
    const std::size_t n = std::min(buf.size(), filled_ - pos_);
    if (n != 0) std::memcpy(buf.data(), buf_.get() + pos_, n);
    pos_ += n;
    return n;
  }

  static void append(std::vector<std::byte>& out, const std::byte* p, std::size_t n) {
    out.insert(out.end(), p, p + n);
  }
  static void append(std::string& out, const std::byte* p, std::size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
  }

  /// read_until into a std::vector<std::byte> or a std::string.
  template <class Container>
  task<std::size_t> read_until_into(std::byte delim, Container& out) {
    std::size_t appended = 0;
    for (;;) {
      if (pos_ == filled_) {
        const std::size_t n = co_await inner_.read(storage());
        refilled(n);
        if (n == 0) co_return appended;
      }
      const std::byte* begin = buf_.get() + pos_;
      const std::size_t available = filled_ - pos_;
      const void* hit = std::memchr(begin, std::to_integer<int>(delim), available);
      const std::size_t used =
          hit == nullptr ? available
                         : static_cast<std::size_t>(static_cast<const std::byte*>(hit) - begin) + 1;
      append(out, begin, used);
      pos_ += used;
      appended += used;
      if (hit != nullptr) co_return appended;
    }
  }

  R inner_;                           ///< the reader
  std::unique_ptr<std::byte[]> buf_;  ///< cap_ bytes
  std::size_t cap_ = 0;               ///< the buffer's size
  std::size_t pos_ = 0;               ///< the first byte not handed out
  std::size_t filled_ = 0;            ///< the end of the bytes read
};

/// The lines of a buf_reader (tokio's Lines), made by buf_reader::lines().
///
/// Thread safety: one task at a time. Cancel safety: next_line is cancel
/// safe if the inner read is: a partly read line is kept here and the next
/// call completes it (as tokio's).
template <class R>
  requires async_read<R>
class lines {
 public:
  /// Takes over `reader` (and what it has buffered).
  explicit lines(buf_reader<R> reader) noexcept(std::is_nothrow_move_constructible_v<buf_reader<R>>)
      : reader_(std::move(reader)) {}

  /// The next line, without its "\n" or "\r\n"; std::nullopt at end of
  /// stream. A last line without a '\n' is still returned.
  /// Errors: std::system_error with std::errc::illegal_byte_sequence if the
  /// line is not valid UTF-8 (the line is dropped; the next call reads the
  /// next one); the inner reader's errors (the part of the line read so far
  /// is kept for the next call).
  task<std::optional<std::string>> next_line() {
    const std::size_t n = co_await reader_.read_until_into(std::byte{'\n'}, line_);
    if (n == 0 && line_.empty()) co_return std::nullopt;
    if (!detail::is_utf8_from(line_, 0)) {
      line_.clear();
      detail::throw_invalid_utf8("kyoto::io::lines::next_line");
    }
    if (line_.ends_with('\n')) {
      line_.pop_back();
      if (line_.ends_with('\r')) line_.pop_back();
    }
    co_return std::optional<std::string>(std::exchange(line_, std::string()));
  }

  /// The buf_reader.
  const buf_reader<R>& get_ref() const noexcept { return reader_; }
  /// The buf_reader.
  buf_reader<R>& get_mut() noexcept { return reader_; }
  /// Gives the buf_reader back; a partly read line is lost.
  buf_reader<R> into_inner() && { return std::move(reader_); }

 private:
  buf_reader<R> reader_;
  std::string line_;  ///< the line being read (kept across a cancel)
};

}  // namespace kyoto::io
