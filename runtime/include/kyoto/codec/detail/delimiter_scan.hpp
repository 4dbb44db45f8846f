// The scan lines_codec and any_delimiter_codec share: find the next
// delimiter in a buffer, scanning each byte once across calls, with a
// maximum frame length and the discarding of an over-long frame.
//
// # One scan per byte
//
// `next_index_` remembers how far the previous calls scanned (tokio's
// next_index), so a frame arriving in many small reads is scanned once.
//
// # Over-long frames
//
// With a max_length, find() scans at most max_length + 1 bytes. If no
// delimiter is among them, it throws codec_error and enters *discarding*:
// the following calls drop bytes up to and including the next delimiter
// (at most max_length + 1 per call), then scan normally again. So the
// buffer never holds more than max_length + 1 bytes of one frame, and the
// over-long frame is reported once and skipped, as tokio does.
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>

namespace kyoto::detail {

/// A delimited codec's scan state. Copyable; one stream's state.
class delimiter_scan {
 public:
  delimiter_scan() noexcept = default;
  explicit delimiter_scan(std::size_t max_length) noexcept : max_length_(max_length) {}

  /// The maximum frame length (SIZE_MAX if none).
  std::size_t max_length() const noexcept { return max_length_; }

  /// The offset in `buf` of the next frame's delimiter, found by
  /// `find(begin, end)` (the first delimiter in [begin, end), or end), or
  /// std::nullopt if none is buffered yet. Skips the rest of a discarded
  /// frame first. Throws codec_error(`code`, "<codec>: a <frame> is longer
  /// than max_length N (it is discarded)") for a frame over max_length.
  template <class Find>
  std::optional<std::size_t> find(bytes_mut& buf, Find find, codec::errc code, const char* codec,
                                  const char* frame) {
    for (;;) {
      const std::size_t read_to = std::min(
          max_length_ == std::numeric_limits<std::size_t>::max() ? max_length_ : max_length_ + 1,
          buf.size());
      const std::byte* begin = buf.data() + std::min(next_index_, read_to);
      const std::byte* end = buf.data() + read_to;
      const std::byte* hit = find(begin, end);
      const bool found = hit != end;
      if (discarding_) {
        if (found) {
          buf.advance(static_cast<std::size_t>(hit - buf.data()) + 1);
          discarding_ = false;
          next_index_ = 0;
          continue;
        }
        buf.advance(read_to);
        next_index_ = 0;
        if (buf.empty()) return std::nullopt;
        continue;
      }
      if (found) {
        next_index_ = 0;
        return static_cast<std::size_t>(hit - buf.data());
      }
      if (buf.size() > max_length_) {
        discarding_ = true;
        throw codec::codec_error(code, std::string(codec) + ": a " + frame +
                                           " is longer than max_length " +
                                           std::to_string(max_length_) + " (it is discarded)");
      }
      next_index_ = read_to;
      return std::nullopt;
    }
  }

  /// The buffer's front was taken other than through find() (the last
  /// frame at end of stream): scan from its start next time.
  void restart() noexcept { next_index_ = 0; }

 private:
  std::size_t max_length_ = std::numeric_limits<std::size_t>::max();
  std::size_t next_index_ = 0;  ///< bytes of the buffer already scanned
  bool discarding_ = false;     ///< skipping the rest of an over-long frame
};

}  // namespace kyoto::detail
