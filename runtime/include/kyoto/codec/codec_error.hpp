// kyoto::codec::codec_error: what a codec or a framed stream reports on bad
// input (tokio-util's LinesCodecError, AnyDelimiterCodecError and the
// io::Error its codecs return).
//
// A codec_error is a std::system_error: its code is a kyoto::codec::errc
// for what the codecs detect, or the I/O error's own code (errno) when the
// underlying read failed; its message names the codec and the cause
// ("kyoto::codec::lines_codec: line longer than max_length 1024 (the line is
// discarded)"). Catching std::system_error catches it too.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace kyoto::codec {

/// What went wrong in a codec (codec_category(), "kyoto.codec").
enum class errc : std::uint8_t {
  /// lines_codec: a line is longer than its max_length. tokio's
  /// LinesCodecError::MaxLineLengthExceeded.
  max_line_length_exceeded = 1,
  /// any_delimiter_codec: a chunk is longer than its max_length. tokio's
  /// AnyDelimiterCodecError::MaxChunkLengthExceeded.
  max_chunk_length_exceeded,
  /// length_delimited_codec: a frame's length is above the maximum
  /// ("frame size too big").
  frame_too_big,
  /// length_delimited_codec: the length field with its adjustment does not
  /// fit ("provided length would overflow after adjustment").
  length_overflow,
  /// The stream ended inside a frame ("bytes remaining on stream"): the
  /// default decode_eof.
  bytes_remaining_on_stream,
  /// A codec that yields text found bytes that are not UTF-8.
  invalid_utf8,
};

/// The category of kyoto::codec::errc ("kyoto.codec").
KYOTO_EXPORT const std::error_category& codec_category() noexcept;

/// Makes an error_code of the codec category.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}

/// The error of a decoder, an encoder or a framed stream (see the file
/// comment). Copyable; what() is "`what`: <the code's message>".
class KYOTO_EXPORT codec_error : public std::system_error {
 public:
  /// A codec's own error; `what` names the codec and the cause.
  codec_error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}
  /// An I/O error met by a framed stream (the read's std::system_error).
  codec_error(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}

  /// Whether it is an I/O error of the underlying stream (then code() is
  /// the stream's error code, usually errno), rather than a codec's.
  [[nodiscard]] bool is_io() const noexcept { return code().category() != codec_category(); }
};

}  // namespace kyoto::codec

template <>
struct std::is_error_code_enum<kyoto::codec::errc> : std::true_type {};
