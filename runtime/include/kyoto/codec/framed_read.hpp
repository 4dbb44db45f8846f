// kyoto::codec::framed_read: a stream of frames decoded from a reader
// (tokio-util's FramedRead). The state machine and its cancel safety are
// described in <kyoto/codec/detail/framed_impl.hpp>.
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/decoder.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/codec/detail/framed_impl.hpp>

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::codec {

/// Reads `R` and decodes its bytes with `D` into frames (tokio-util's
/// FramedRead). An async_stream: `co_await fr.next()` gives
/// `std::optional<frame_result<Frame>>`:
///
/// - a frame (`has_value()`), as many as the bytes allow;
/// - an error (`error()`, a codec_error): a decode error (bad input, named
///   by the codec), or a read error of `R` (is_io()). The stream then ends:
///   the next call gives std::nullopt. A call after that reads `R` again
///   and resumes decoding if it gives more bytes (as tokio 0.7.3);
/// - std::nullopt at the end: `R` ended and decode_eof() gave every last
///   frame. Bytes left inside a frame at the end are an error first
///   (errc::bytes_remaining_on_stream, unless the codec's decode_eof
///   decides otherwise), never dropped silently.
///
/// Exceptions other than codec_error and std::system_error (bad_alloc, a
/// codec's logic_error) propagate from next().
///
/// The read buffer starts at 8 KiB and grows as the codec needs (the codecs
/// bound it: lines_codec and any_delimiter_codec by their max_length,
/// length_delimited_codec by its max_frame_length).
///
/// Cancel safety: next() is cancel safe if `R`'s read is (kyoto's sockets,
/// duplex_stream and the test mock are): a cancelled next() keeps what it
/// read buffered, and the next call decodes it. The decode happens when
/// the awaiter is awaited, not when next() is called: a frame already
/// buffered is decoded in await_ready() (no coroutine frame, no
/// suspension); only a read runs as a task.
///
/// Thread safety: one task calls next() at a time; the framed_read may move
/// between tasks and workers between calls. Resumes on the awaiting task's
/// thread. Move-only if R or D is; next() refers to the object, which must
/// not move while it is awaited.
template <io::async_read R, decoder D>
class framed_read {
 public:
  /// The frame type.
  using frame_type = decoder_item_t<D>;
  /// What next() gives inside its optional.
  using item_type = frame_result<frame_type>;

  /// Frames `inner` with `codec` (tokio's FramedRead::new).
  framed_read(R inner, D codec) : inner_(static_cast<R&&>(inner)), codec_(std::move(codec)) {}
  /// With a read buffer of `capacity` bytes to start with (tokio's
  /// with_capacity).
  framed_read(R inner, D codec, std::size_t capacity)
      : inner_(static_cast<R&&>(inner)), codec_(std::move(codec)) {
    state_.buffer = bytes_mut::with_capacity(capacity);
  }

  /// Frames `inner` with `codec`, decoding `read_buffer` (bytes already
  /// read from it) first (tokio's FramedParts::read_buf). The buffer grows
  /// to 8 KiB if smaller.
  framed_read(R inner, D codec, bytes_mut read_buffer)
      : inner_(static_cast<R&&>(inner)),
        codec_(std::move(codec)),
        state_(detail::read_frame_from(std::move(read_buffer))) {}

  /// The next frame, an error, or std::nullopt at the end (see the class
  /// comment). Reads `R` only when the buffered bytes hold no frame.
  detail::framed_next_awaiter<std::remove_reference_t<R>, D> next() {
    return {inner_, codec_, state_};
  }

  /// The reader.
  [[nodiscard]] R& get_ref() noexcept { return inner_; }
  /// The reader (reading it directly skips the buffered bytes).
  [[nodiscard]] R& get_mut() noexcept { return inner_; }
  /// Gives the reader back; the buffered bytes are dropped.
  [[nodiscard]] R into_inner() && { return static_cast<R&&>(inner_); }
  /// The codec.
  [[nodiscard]] D& decoder() noexcept { return codec_; }
  /// The codec.
  [[nodiscard]] const D& decoder() const noexcept { return codec_; }
  /// Replaces the codec, keeping the buffered bytes (tokio's map_decoder /
  /// swapping the codec between frames).
  void set_decoder(D codec) { codec_ = std::move(codec); }
  /// The same stream and buffered bytes with the codec `f(old codec)`
  /// (tokio's map_decoder); this is left moved-from.
  template <class F>
  auto map_decoder(F&& f) && {
    using D2 = std::remove_cvref_t<decltype(f(std::move(codec_)))>;
    return framed_read<R, D2>(static_cast<R&&>(inner_), f(std::move(codec_)),
                              std::move(state_.buffer));
  }
  /// The bytes read but not decoded yet.
  [[nodiscard]] const bytes_mut& read_buffer() const noexcept { return state_.buffer; }
  /// The read buffer, e.g. to give bytes already read elsewhere (tokio's
  /// read_buffer_mut).
  [[nodiscard]] bytes_mut& read_buffer_mut() noexcept { return state_.buffer; }

 private:
  R inner_;
  D codec_;
  detail::read_frame state_;
};

}  // namespace kyoto::codec
