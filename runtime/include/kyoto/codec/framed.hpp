// kyoto::codec::framed: one stream framed both ways with one codec
// (tokio-util's Framed): framed_read's next() and framed_write's feed,
// send, flush and close on the same object, and split() into the two.
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/decoder.hpp>
#include <kyoto/codec/encoder.hpp>
#include <kyoto/codec/framed_read.hpp>
#include <kyoto/codec/framed_write.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/io/split.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/codec/detail/framed_impl.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::codec {

/// A stream framed both ways by one codec (tokio-util's Framed): `C`
/// decodes what `S` reads and encodes what is written to it.
///
/// - `co_await f.next()`: as framed_read::next() (frames, an error item
///   that ends the stream, std::nullopt at the end).
/// - `feed`, `send`, `flush`, `close`: as framed_write's.
/// - `std::move(f).split()` gives a framed_read over an io::read_half and a
///   framed_write over an io::write_half, usable from two tasks at once;
///   the read side keeps the codec and the bytes already read, the write
///   side gets a copy of the codec and the bytes not yet written (tokio
///   shares one codec behind a lock instead).
///
/// Cancel safety and errors: as framed_read and framed_write. Thread
/// safety: one task at a time uses a framed (split it for two); one read
/// side operation and one write side operation may not be in flight at
/// once on the unsplit object.
template <class S, class C>
  requires io::async_read<S> && io::async_write<S> && decoder<C>
class framed {
 public:
  /// The frame type next() decodes.
  using frame_type = decoder_item_t<C>;
  /// What next() gives inside its optional.
  using item_type = frame_result<frame_type>;

  /// Frames `inner` with `codec` (tokio's Framed::new).
  framed(S inner, C codec) : inner_(static_cast<S&&>(inner)), codec_(std::move(codec)) {}

  /// Frames `inner` with `codec`, decoding `read_buffer` (bytes already
  /// read from it) first (tokio's Framed::from_parts). The buffer grows to
  /// 8 KiB if smaller.
  framed(S inner, C codec, bytes_mut read_buffer)
      : inner_(static_cast<S&&>(inner)),
        codec_(std::move(codec)),
        read_(detail::read_frame_from(std::move(read_buffer))) {}

  /// The next frame, an error, or std::nullopt at the end (framed_read's).
  detail::framed_next_awaiter<std::remove_reference_t<S>, C> next() {
    return {inner_, codec_, read_};
  }

  /// Encodes `item`; writes the buffer out past the high-water mark.
  template <class Item>
    requires kyoto::codec::encoder<C, Item>
  detail::framed_feed_awaiter<std::remove_reference_t<S>> feed(Item&& item) {
    codec_.encode(std::forward<Item>(item), write_.buffer);
    return {inner_, write_};
  }
  /// Encodes `item`, writes everything and flushes.
  template <class Item>
    requires kyoto::codec::encoder<C, Item>
  task<void> send(Item&& item) {
    codec_.encode(std::forward<Item>(item), write_.buffer);
    return detail::framed_flush(inner_, write_);
  }
  /// Writes everything buffered and flushes the stream.
  task<void> flush() { return detail::framed_flush(inner_, write_); }
  /// Flushes, then shuts the stream's writing down.
  task<void> close() { return detail::framed_close(inner_, write_); }

  /// The write buffer's high-water mark (8 KiB by default).
  [[nodiscard]] std::size_t backpressure_boundary() const noexcept {
    return write_.backpressure_boundary;
  }
  /// Sets the write buffer's high-water mark.
  void set_backpressure_boundary(std::size_t n) noexcept { write_.backpressure_boundary = n; }

  /// The stream.
  [[nodiscard]] S& get_ref() noexcept { return inner_; }
  /// The stream.
  [[nodiscard]] S& get_mut() noexcept { return inner_; }
  /// Gives the stream back; buffered bytes both ways are dropped.
  [[nodiscard]] S into_inner() && { return static_cast<S&&>(inner_); }
  /// The codec.
  [[nodiscard]] C& codec() noexcept { return codec_; }
  /// Replaces the codec, keeping the buffers (tokio's map_codec).
  void set_codec(C c) { codec_ = std::move(c); }
  /// The same stream and buffers with the codec `f(old codec)` (tokio's
  /// map_codec); this is left moved-from.
  template <class F>
  auto map_codec(F&& f) && {
    using C2 = std::remove_cvref_t<decltype(f(std::move(codec_)))>;
    framed<S, C2> out(static_cast<S&&>(inner_), f(std::move(codec_)), std::move(read_.buffer));
    out.write_buffer_mut() = std::move(write_.buffer);
    out.set_backpressure_boundary(write_.backpressure_boundary);
    return out;
  }
  /// The bytes read but not decoded yet.
  [[nodiscard]] const bytes_mut& read_buffer() const noexcept { return read_.buffer; }
  /// The read buffer (e.g. to give bytes read elsewhere first).
  [[nodiscard]] bytes_mut& read_buffer_mut() noexcept { return read_.buffer; }
  /// The bytes encoded but not written yet.
  [[nodiscard]] const bytes_mut& write_buffer() const noexcept { return write_.buffer; }
  /// The write buffer.
  [[nodiscard]] bytes_mut& write_buffer_mut() noexcept { return write_.buffer; }

  /// Splits into a reading and a writing half usable from two tasks (see
  /// the class comment). Precondition: S allows one read and one write in
  /// flight at once (io::split's rule).
  auto split() &&
    requires std::copy_constructible<C> && (!std::is_reference_v<S>)
  {
    auto [rd, wr] = io::split(std::move(inner_));
    framed_write<io::write_half<S>, C> w(std::move(wr), codec_);
    w.write_buffer_mut() = std::move(write_.buffer);
    w.set_backpressure_boundary(write_.backpressure_boundary);
    framed_read<io::read_half<S>, C> r(std::move(rd), std::move(codec_), std::move(read_.buffer));
    return std::pair<framed_read<io::read_half<S>, C>, framed_write<io::write_half<S>, C>>(
        std::move(r), std::move(w));
  }

 private:
  S inner_;
  C codec_;
  detail::read_frame read_;
  detail::write_frame write_;
};

}  // namespace kyoto::codec
