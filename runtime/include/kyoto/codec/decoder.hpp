// kyoto::codec::decoder: turns bytes read from a stream into frames
// (tokio-util's Decoder trait).
//
// A decoder is a type with
//
//   std::optional<Frame> decode(kyoto::bytes_mut& src);
//
// and optionally `decode_eof(src)` of the same shape. decode() looks at the
// bytes buffered so far: if they begin with a whole frame it removes them
// from `src` (split_to, advance) and gives the frame; otherwise it gives
// std::nullopt and leaves what it needs in `src` (it may reserve room for
// the rest). On bad input it throws codec::codec_error. Once the stream
// ends, framed_read calls decode_eof() until it gives std::nullopt; a
// decoder without one gets the default (codec::decode_eof): decode(), and
// if that gives nothing while bytes remain, a bytes_remaining_on_stream
// error (the stream ended inside a frame).
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace kyoto::detail {
/// Whether T is a std::optional.
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace kyoto::detail

namespace kyoto::codec {

/// A frame decoder (tokio-util's Decoder): `d.decode(src)` gives a
/// std::optional of its frame type (see the file comment).
template <class D>
concept decoder = requires(D& d, bytes_mut& src) {
  requires kyoto::detail::is_optional<decltype(d.decode(src))>::value;
};

/// The frame type of decoder D (tokio's Decoder::Item).
template <decoder D>
using decoder_item_t =
    typename decltype(std::declval<D&>().decode(std::declval<bytes_mut&>()))::value_type;

/// `d.decode_eof(src)` if D has one, else the default: decode(src), and if
/// that gives nothing while `src` is not empty, throws codec_error
/// (errc::bytes_remaining_on_stream, "kyoto::codec::decode_eof: the stream
/// ended inside a frame (n bytes left)"). The bytes stay in `src`.
template <decoder D>
std::optional<decoder_item_t<D>> decode_eof(D& d, bytes_mut& src) {
  if constexpr (requires { d.decode_eof(src); }) {
    return d.decode_eof(src);
  } else {
    std::optional<decoder_item_t<D>> frame = d.decode(src);
    if (!frame && !src.empty()) {
      throw codec_error(errc::bytes_remaining_on_stream,
                        "kyoto::codec::decode_eof: the stream ended inside a frame (" +
                            std::to_string(src.size()) + " bytes left)");
    }
    return frame;
  }
}

}  // namespace kyoto::codec
