// kyoto::codec::lines_codec: newline-delimited UTF-8 lines (tokio-util's
// LinesCodec).
//
// Each byte is scanned once across calls, and an over-long line is
// reported once and skipped up to the next '\n', with at most max_length + 1
// bytes of it buffered (detail/delimiter_scan.hpp tells how).
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>
#include <kyoto/io/read_ext.hpp>

#include <kyoto/codec/detail/delimiter_scan.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kyoto::codec {

/// Splits a byte stream into lines and encodes lines (tokio-util's
/// LinesCodec). A line is the text before '\n', without a trailing "\r";
/// the decoded frame is a std::string, the encoded item a string_view to
/// which '\n' is appended.
///
/// Errors (codec_error, naming "kyoto::codec::lines_codec"):
/// - errc::max_line_length_exceeded: a line is longer than max_length (see
///   the file comment: the line is then skipped, the next is decoded);
/// - errc::invalid_utf8: a line is not UTF-8. The line is consumed (it is
///   reported, not kept); decoding continues with the next line.
///
/// Copyable; one stream's state (scan position, discarding): use one codec
/// per stream.
class lines_codec {
 public:
  /// No limit on line length (tokio's LinesCodec::new). An endless line
  /// grows the buffer without bound: prefer a max_length for input you do
  /// not trust.
  lines_codec() noexcept = default;
  /// Lines longer than `max_length` bytes (without the "\n") are errors
  /// (tokio's new_with_max_length).
  explicit lines_codec(std::size_t max_length) noexcept : scan_(max_length) {}

  /// The maximum line length (SIZE_MAX if none).
  [[nodiscard]] std::size_t max_length() const noexcept { return scan_.max_length(); }

  /// The next line, without "\n" or "\r\n"; std::nullopt if no whole line
  /// is buffered. Throws codec_error (see the class comment).
  std::optional<std::string> decode(bytes_mut& buf) {
    const std::optional<std::size_t> nl = scan_.find(
        buf,
        [](const std::byte* b, const std::byte* e) { return std::find(b, e, std::byte{'\n'}); },
        errc::max_line_length_exceeded, "kyoto::codec::lines_codec", "line");
    if (!nl) return std::nullopt;
    return take_line(buf, *nl, *nl + 1);
  }

  /// At end of stream: the next line, or the unterminated rest as a last
  /// line (unless it is empty or a lone "\r"); std::nullopt when nothing
  /// is left.
  std::optional<std::string> decode_eof(bytes_mut& buf) {
    if (std::optional<std::string> line = decode(buf)) return line;
    if (buf.empty() || buf.as_string_view() == "\r") return std::nullopt;
    scan_.restart();
    return take_line(buf, buf.size(), buf.size());
  }

  /// Appends `line` and '\n'.
  void encode(std::string_view line, bytes_mut& dst) {
    // One reserve and one copy (the line and its '\n' in the spare room).
    dst.reserve(line.size() + 1);
    const std::span<std::byte> room = dst.chunk_mut();
    if (!line.empty()) std::memcpy(room.data(), line.data(), line.size());
    room[line.size()] = std::byte{'\n'};
    dst.advance_mut(line.size() + 1);
  }

 private:
  /// Removes `consumed` bytes from the front of `buf` and gives the first
  /// `len` of them, less a trailing '\r', as a string (or throws
  /// invalid_utf8 once they are removed).
  /// Whether every byte is below 0x80 (then it is UTF-8): a branch-free
  /// test the compiler vectorises, ahead of the full check.
  static bool is_ascii(std::span<const std::byte> bytes) noexcept {
    unsigned char any = 0;
    for (const std::byte b : bytes)
      any = static_cast<unsigned char>(any | std::to_integer<unsigned char>(b));
    return any < 0x80;
  }

  /// Made in place in the optional decode() returns: a short line lives
  /// in std::string's small buffer, and every move of it is a copy, so
  /// the line is copied once here and moved as little as possible.
  static std::optional<std::string> take_line(bytes_mut& buf, std::size_t len,
                                              std::size_t consumed) {
    std::size_t n = len;
    if (n > 0 && buf.data()[n - 1] == std::byte{'\r'}) --n;
    const std::span<const std::byte> line(buf.data(), n);
    if (!is_ascii(line) && !kyoto::detail::is_utf8(line)) {
      buf.advance(consumed);
      throw codec_error(
          errc::invalid_utf8,
          "kyoto::codec::lines_codec: a line is not valid UTF-8 (the line is dropped)");
    }
    std::optional<std::string> out(std::in_place, reinterpret_cast<const char*>(line.data()), n);
    buf.advance(consumed);
    return out;
  }

  kyoto::detail::delimiter_scan scan_;  ///< where to look for '\n' next
};

}  // namespace kyoto::codec
