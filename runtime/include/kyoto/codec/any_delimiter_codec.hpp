// kyoto::codec::any_delimiter_codec: chunks ended by any of a set of
// delimiter bytes (tokio-util's AnyDelimiterCodec).
//
// Decoding scans each byte once across calls, and an over-long chunk is
// reported once and skipped up to the next delimiter, with at most
// max_length + 1 bytes of it buffered (detail/delimiter_scan.hpp tells how).
#pragma once

#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>

#include <kyoto/codec/detail/delimiter_scan.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kyoto::codec {

/// Splits a byte stream into chunks ended by any byte of `seek_delimiters`
/// and encodes chunks followed by `sequence_writer` (tokio-util's
/// AnyDelimiterCodec). A decoded chunk is a kyoto::bytes sharing the read
/// buffer (no copy), without its delimiter; at end of stream the
/// unterminated rest is a last chunk.
///
/// Errors (codec_error naming "kyoto::codec::any_delimiter_codec"):
/// errc::max_chunk_length_exceeded when a chunk is longer than max_length;
/// the chunk is skipped up to the next delimiter, then decoding continues.
///
/// Copyable; one stream's state: use one codec per stream.
class any_delimiter_codec {
 public:
  /// tokio's AnyDelimiterCodec::new(seek_delimiters, sequence_writer), with
  /// no length limit. Precondition: `seek_delimiters` is not empty.
  any_delimiter_codec(std::string_view seek_delimiters, std::string_view sequence_writer)
      : seek_(seek_delimiters), writer_(sequence_writer) {}
  /// Chunks longer than `max_length` bytes are errors (tokio's
  /// new_with_max_length).
  any_delimiter_codec(std::string_view seek_delimiters, std::string_view sequence_writer,
                      std::size_t max_length)
      : seek_(seek_delimiters), writer_(sequence_writer), scan_(max_length) {}

  /// The maximum chunk length (SIZE_MAX if none).
  [[nodiscard]] std::size_t max_length() const noexcept { return scan_.max_length(); }

  /// The next chunk without its delimiter; std::nullopt if no delimiter is
  /// buffered. Throws codec_error (see the class comment).
  std::optional<bytes> decode(bytes_mut& buf) {
    const std::optional<std::size_t> at = scan_.find(
        buf,
        [this](const std::byte* b, const std::byte* e) {
          return std::find_if(b, e, [this](std::byte c) {
            return seek_.find(static_cast<char>(c)) != std::string::npos;
          });
        },
        errc::max_chunk_length_exceeded, "kyoto::codec::any_delimiter_codec", "chunk");
    if (!at) return std::nullopt;
    bytes_mut chunk = buf.split_to(*at + 1);
    chunk.truncate(*at);
    return std::move(chunk).freeze();
  }

  /// At end of stream: the next chunk, or the unterminated rest; nullopt
  /// when nothing is left.
  std::optional<bytes> decode_eof(bytes_mut& buf) {
    if (std::optional<bytes> chunk = decode(buf)) return chunk;
    if (buf.empty()) return std::nullopt;
    scan_.restart();
    return buf.split().freeze();
  }

  /// Appends `chunk`, then the sequence writer.
  void encode(std::span<const std::byte> chunk, bytes_mut& dst) {
    dst.reserve(chunk.size() + writer_.size());
    dst.extend_from_slice(chunk);
    dst.extend_from_slice(writer_);
  }
  /// Appends the characters of `chunk`, then the sequence writer.
  void encode(std::string_view chunk, bytes_mut& dst) {
    encode(std::as_bytes(std::span(chunk.data(), chunk.size())), dst);
  }

 private:
  std::string seek_;                    ///< the delimiter bytes
  std::string writer_;                  ///< appended after each encoded chunk
  kyoto::detail::delimiter_scan scan_;  ///< where to look for a delimiter next
};

}  // namespace kyoto::codec
