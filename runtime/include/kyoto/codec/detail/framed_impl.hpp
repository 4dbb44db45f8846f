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

/// One step of the read state machine (see the file comment).
template <class R, class D>
task<std::optional<codec::frame_result<codec::decoder_item_t<D>>>> framed_next(R& inner, D& dec,
                                                                               read_frame& st) {
  using item = codec::decoder_item_t<D>;
  using out = codec::frame_result<item>;
  std::optional<codec::codec_error> failed;
  for (;;) {
    if (st.has_errored) {
      st.is_readable = false;
      st.has_errored = false;
      co_return std::nullopt;
    }
    if (st.is_readable) {
      std::optional<item> frame;
      try {
        frame = st.eof ? codec::decode_eof(dec, st.buffer) : dec.decode(st.buffer);
      } catch (codec::codec_error& e) {
        failed.emplace(std::move(e));
      }
      if (failed) {
        st.has_errored = true;
        co_return out(kyoto::unexpected<codec::codec_error>(std::move(*failed)));
      }
      if (frame) co_return out(std::move(*frame));
      st.is_readable = false;
      if (st.eof) co_return std::nullopt;  // pausing -> paused
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

/// Writes the buffer out if it reached the high-water mark.
template <class W>
task<void> framed_after_feed(W& inner, write_frame& st) {
  if (st.buffer.size() >= st.backpressure_boundary) co_await framed_drain(inner, st);
}

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
