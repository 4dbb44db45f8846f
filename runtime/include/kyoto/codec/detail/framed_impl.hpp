// The state machines shared by framed_read, framed_write and framed
// (tokio-util's codec/framed_impl.rs).
//
// # Reading (framed_next), tokio-util 0.7.3's states
//
//   | state   | eof   | is_readable | has_errored |
//   | reading | false | false       | false       |   read more, then framing
//   | framing | false | true        | false       |   decode() until nullopt
//   | pausing | true  | true        | false       |   decode_eof() until nullopt
//   | paused  | true  | false       | false       |   a read giving 0 again: end
//   | errored | any   | any         | true        |   give nullopt once -> paused
//
// A decode error (or a read error) is given as an error item and moves to
// *errored*; the next call gives end of stream (nullopt) and moves to
// *paused*; a call after that reads again: if the stream gives more bytes,
// decoding resumes with them (tokio's "resumable" streams). A stream that
// ended gives end of stream again.
//
// Cancel safety: the only suspension is the read, which appends to the
// buffer only when it completes (io::read_buf); the state changes only
// after it. A cancelled call therefore loses nothing: the bytes read
// earlier stay buffered and the next call decodes them.
//
// # Writing
//
// Items are encoded into `buffer`; when it holds at least
// `backpressure_boundary` bytes (8 KiB, tokio's BACKPRESSURE_BOUNDARY) it is
// written out before the feed completes. flush() writes it all and flushes
// the stream. A write that takes 0 bytes is io::errc::write_zero ("failed
// to write frame to transport").
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>
#include <kyoto/codec/decoder.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/read_buf.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/task.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace kyoto::codec {

/// Initial capacity of a framed stream's read buffer (tokio's 8 KiB).
inline constexpr std::size_t initial_read_capacity = std::size_t{8} * 1024;
/// Default high-water mark of a framed stream's write buffer (tokio's
/// BACKPRESSURE_BOUNDARY, 8 KiB).
inline constexpr std::size_t default_backpressure_boundary = std::size_t{8} * 1024;

/// What framed_read::next() gives: a frame, or the codec_error that ended
/// the stream (tokio's Result<Item, Error>).
template <class Item>
using frame_result = kyoto::result<Item, codec_error>;

}  // namespace kyoto::codec

namespace kyoto::detail {

/// A framed stream's read side (tokio's ReadFrame).
struct read_frame {
  bytes_mut buffer = bytes_mut::with_capacity(codec::initial_read_capacity);
  bool eof = false;
  bool is_readable = false;
  bool has_errored = false;
};

/// A read side over bytes read elsewhere (tokio's ReadFrame::from): the
/// buffer grows to the initial capacity if smaller, and is decoded before
/// the stream is read.
inline read_frame read_frame_from(bytes_mut buffer) {
  if (buffer.capacity() < codec::initial_read_capacity) {
    buffer.reserve(codec::initial_read_capacity - buffer.size());
  }
  read_frame f;
  f.buffer = std::move(buffer);
  f.is_readable = !f.buffer.empty();
  return f;
}

/// A framed stream's write side (tokio's WriteFrame).
struct write_frame {
  bytes_mut buffer = bytes_mut::with_capacity(codec::initial_read_capacity);
  std::size_t backpressure_boundary = codec::default_backpressure_boundary;
};

/// The part of a read step that needs no read: a frame (or error, or end)
/// decoded from what is buffered. Returns true with `out` set if the step
/// is complete, false if the stream must be read (the state is then
/// *reading* or *paused*). Shared by framed_next and the next() awaiter's
/// fast path, so the two are one state machine.
template <class D>
bool framed_decode_step(D& dec, read_frame& st,
                        std::optional<codec::frame_result<codec::decoder_item_t<D>>>& out) {
  using item = codec::decoder_item_t<D>;
  if (st.has_errored) {
    st.is_readable = false;
    st.has_errored = false;
    out.reset();
    return true;
  }
  if (!st.is_readable) return false;
  std::optional<codec::codec_error> failed;
  try {
    // The frame goes from the codec's optional into `out` in one move (a
    // short std::string is copied by every move).
    std::optional<item> frame = st.eof ? codec::decode_eof(dec, st.buffer) : dec.decode(st.buffer);
    if (frame) {
      out.emplace(std::move(*frame));
      return true;
    }
  } catch (codec::codec_error& e) {
    failed.emplace(std::move(e));
  }
  if (failed) {
    st.has_errored = true;
    out.emplace(kyoto::unexpected<codec::codec_error>(std::move(*failed)));
    return true;
  }
  st.is_readable = false;
  if (st.eof) {  // pausing -> paused
    out.reset();
    return true;
  }
  return false;
}

/// One step of the read state machine (see the file comment).
template <class R, class D>
task<std::optional<codec::frame_result<codec::decoder_item_t<D>>>> framed_next(R& inner, D& dec,
                                                                               read_frame& st) {
  using item = codec::decoder_item_t<D>;
  using out = codec::frame_result<item>;
  std::optional<codec::codec_error> failed;
  for (;;) {
    {
      std::optional<out> decoded;
      if (framed_decode_step(dec, st, decoded)) co_return decoded;
    }
    // reading or paused: read more. reserve(1) so the read has room and 0
    // means end of stream.
    st.buffer.reserve(1);
    std::size_t n = 0;
    try {
      n = co_await io::read_buf(inner, st.buffer);
    } catch (codec::codec_error& e) {
      failed.emplace(std::move(e));
    } catch (std::system_error& e) {
      failed.emplace(e.code(), std::string("kyoto::codec::framed_read: read failed: ") + e.what());
    }
    if (failed) {
      st.has_errored = true;
      co_return out(kyoto::unexpected<codec::codec_error>(std::move(*failed)));
    }
    if (n == 0) {
      if (st.eof) co_return std::nullopt;  // paused -> paused
      st.eof = true;
    } else {
      st.eof = false;
    }
    st.is_readable = true;
  }
}

/// The awaiter of framed_read::next() and framed::next(). Fast path: a
/// frame that is already buffered is decoded in await_ready(), with no
/// coroutine frame; only when the stream must be read does it run
/// framed_next as a task. The decode happens when awaited, never when
/// next() is called, so a next() that is never awaited (or loses a select
/// before it is polled) takes nothing. Cancel safety: framed_next's (the
/// fast path does not suspend).
template <class R, class D>
class [[nodiscard]] framed_next_awaiter {
 public:
  /// What the await gives.
  using result_type = std::optional<codec::frame_result<codec::decoder_item_t<D>>>;

  framed_next_awaiter(R& inner, D& dec, read_frame& st) noexcept
      : inner_(&inner), dec_(&dec), st_(&st) {}
  /// Movable until awaited (select and timeout hold it by value).
  framed_next_awaiter(framed_next_awaiter&& o) noexcept
      : inner_(o.inner_), dec_(o.dec_), st_(o.st_) {}
  framed_next_awaiter(const framed_next_awaiter&) = delete;
  framed_next_awaiter& operator=(const framed_next_awaiter&) = delete;
  ~framed_next_awaiter() = default;

  /// Decodes a buffered frame (true); else starts the read task's await.
  bool await_ready() {
    if (framed_decode_step(*dec_, *st_, out_)) return true;
    slow_ = framed_next(*inner_, *dec_, *st_);
    slow_awaiter_.emplace(&slow_);
    return slow_awaiter_->await_ready();
  }
  /// Runs the read task (it resumes `h` when it completes).
  bool await_suspend(std::coroutine_handle<> h) {
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set by the await_ready() that said false
    return slow_awaiter_->await_suspend(h);
  }
  /// The frame, the error item, or nullopt at the end.
  result_type await_resume() {
    if (slow_awaiter_) return slow_awaiter_->await_resume();
    return std::move(out_);
  }

 private:
  using slow_awaiter = decltype(std::declval<task<result_type>&>().operator co_await());

  R* inner_;
  D* dec_;
  read_frame* st_;
  result_type out_;
  task<result_type> slow_;                    ///< the read, when one is needed
  std::optional<slow_awaiter> slow_awaiter_;  ///< destroyed before slow_
};

/// Writes all of `st.buffer` to `inner` (not flushing `inner`).
template <class W>
task<void> framed_drain(W& inner, write_frame& st) {
  while (!st.buffer.empty()) {
    const std::size_t n = co_await inner.write(st.buffer.as_span());
    if (n == 0) {
      throw_io_error(io::errc::write_zero,
                     "kyoto::codec::framed_write: failed to write frame to transport");
    }
    st.buffer.advance(n);
  }
}

/// The awaiter of feed(): writes the buffer out if it reached the
/// high-water mark. Fast path: below the mark, await_ready() is true and
/// no coroutine frame is made; past it, framed_drain runs as a task.
/// Cancel safety: framed_drain's (the bytes written stay written, the
/// rest stay buffered).
template <class W>
class [[nodiscard]] framed_feed_awaiter {
 public:
  framed_feed_awaiter(W& inner, write_frame& st) noexcept : inner_(&inner), st_(&st) {}
  /// Movable until awaited.
  framed_feed_awaiter(framed_feed_awaiter&& o) noexcept : inner_(o.inner_), st_(o.st_) {}
  framed_feed_awaiter(const framed_feed_awaiter&) = delete;
  framed_feed_awaiter& operator=(const framed_feed_awaiter&) = delete;
  ~framed_feed_awaiter() = default;

  /// True below the high-water mark; else starts the drain's await.
  bool await_ready() {
    if (st_->buffer.size() < st_->backpressure_boundary) return true;
    slow_ = framed_drain(*inner_, *st_);
    slow_awaiter_.emplace(&slow_);
    return slow_awaiter_->await_ready();
  }
  /// Runs the drain (it resumes `h` when it completes).
  bool await_suspend(std::coroutine_handle<> h) {
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set by the await_ready() that said false
    return slow_awaiter_->await_suspend(h);
  }
  /// Rethrows the drain's error, if any.
  void await_resume() {
    if (slow_awaiter_) slow_awaiter_->await_resume();
  }

 private:
  using slow_awaiter = decltype(std::declval<task<void>&>().operator co_await());

  W* inner_;
  write_frame* st_;
  task<void> slow_;                           ///< the drain, when one is needed
  std::optional<slow_awaiter> slow_awaiter_;  ///< destroyed before slow_
};

/// Writes all of the buffer, then flushes `inner`.
template <class W>
task<void> framed_flush(W& inner, write_frame& st) {
  co_await framed_drain(inner, st);
  co_await inner.flush();
}

/// Flushes, then shuts `inner` down.
template <class W>
task<void> framed_close(W& inner, write_frame& st) {
  co_await framed_drain(inner, st);
  co_await inner.flush();
  co_await inner.shutdown();
}

}  // namespace kyoto::detail
