// kyoto::codec::length_delimited_codec: frames prefixed by their length
// (tokio-util's LengthDelimitedCodec and its Builder).
//
// A frame on the wire is a head then a payload. The head is
// `length_field_offset` bytes, then the length field (`length_field_length`
// bytes, 1 to 8, big or little endian), possibly more; the decoder skips
// `num_skip` bytes of it (by default offset + field length) and the
// payload is `field + length_adjustment` bytes. The defaults: a 4-byte big
// endian length, no offset, no adjustment, skip the head, 8 MiB maximum.
//
// # Decoding state
//
// Head: wait for num_head_bytes, read the length, check it against the
// maximum (before adjusting, as tokio), skip, reserve room for the payload
// -> Data(n). Data(n): wait for n bytes, split them off -> Head. A length
// above the maximum throws at once, before the payload is buffered: the
// buffer never grows past a head plus max_frame_length (plus whatever one
// read brought).
#pragma once

#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/codec_error.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kyoto::codec {

class length_delimited_codec;

/// Configures a length_delimited_codec (tokio-util's
/// length_delimited::Builder). Setters return the builder so calls chain:
///
///   auto codec = length_delimited_codec::builder().length_field_length(2)
///                    .little_endian().max_frame_length(64 * 1024).new_codec();
class length_delimited_builder {
 public:
  /// 8 MiB (tokio's default).
  static constexpr std::size_t default_max_frame_length = std::size_t{8} * 1024 * 1024;

  /// The length field is big endian (the default).
  length_delimited_builder& big_endian() noexcept {
    big_endian_ = true;
    return *this;
  }
  /// The length field is little endian.
  length_delimited_builder& little_endian() noexcept {
    big_endian_ = false;
    return *this;
  }
  /// The length field has the machine's byte order.
  length_delimited_builder& native_endian() noexcept {
    big_endian_ = std::endian::native == std::endian::big;
    return *this;
  }
  /// Frames longer than `n` are errors, decoding and encoding (8 MiB by
  /// default).
  length_delimited_builder& max_frame_length(std::size_t n) noexcept {
    max_frame_len_ = n;
    return *this;
  }
  /// Bytes in the length field, 1 to 8 (4 by default). Throws
  /// std::invalid_argument otherwise (tokio asserts).
  length_delimited_builder& length_field_length(std::size_t n) {
    if (n < 1 || n > 8) {
      throw std::invalid_argument("kyoto::codec::length_delimited_builder::length_field_length: " +
                                  std::to_string(n) + " is not in 1..8");
    }
    length_field_len_ = n;
    return *this;
  }
  /// Bytes of the head before the length field (0 by default).
  length_delimited_builder& length_field_offset(std::size_t n) noexcept {
    length_field_offset_ = n;
    return *this;
  }
  /// Added to the length field to get the payload's length (0 by default;
  /// e.g. -4 when the field counts a 4-byte head too).
  length_delimited_builder& length_adjustment(std::ptrdiff_t n) noexcept {
    length_adjustment_ = n;
    return *this;
  }
  /// Head bytes to skip before the payload (by default offset + field
  /// length; 0 keeps the head in the frame).
  length_delimited_builder& num_skip(std::size_t n) noexcept {
    num_skip_ = n;
    return *this;
  }
  /// A codec with this configuration.
  [[nodiscard]] length_delimited_codec new_codec() const noexcept;

 private:
  friend class length_delimited_codec;
  [[nodiscard]] std::size_t num_head_bytes() const noexcept {
    return std::max(length_field_offset_ + length_field_len_, num_skip_.value_or(0));
  }
  [[nodiscard]] std::size_t get_num_skip() const noexcept {
    return num_skip_.value_or(length_field_offset_ + length_field_len_);
  }

  std::size_t max_frame_len_ = default_max_frame_length;
  std::size_t length_field_len_ = 4;
  std::size_t length_field_offset_ = 0;
  std::ptrdiff_t length_adjustment_ = 0;
  std::optional<std::size_t> num_skip_;
  bool big_endian_ = true;
};

/// Length-prefixed frames (tokio-util's LengthDelimitedCodec); see the file
/// comment for the wire format. A decoded frame is a bytes_mut sharing the
/// read buffer (no copy); encode() takes the payload and writes the head.
///
/// Errors (codec_error naming "kyoto::codec::length_delimited_codec"):
/// - errc::frame_too_big: decoding, a length field above max_frame_length;
///   encoding, a payload above it (nothing is written);
/// - errc::length_overflow: the length with its adjustment is negative or
///   does not fit the field;
/// - at end of stream inside a frame, the default decode_eof's
///   errc::bytes_remaining_on_stream.
/// After a decoding error the codec is not resynchronised: the stream's
/// framing is lost; drop the connection (a framed_read ends its stream
/// after reporting the error, as tokio).
///
/// Copyable; one stream's state: use one codec per stream.
class length_delimited_codec {
 public:
  /// The default configuration (see the file comment).
  length_delimited_codec() noexcept = default;
  /// A builder to configure one.
  static length_delimited_builder builder() noexcept { return {}; }

  /// The maximum frame length.
  [[nodiscard]] std::size_t max_frame_length() const noexcept { return cfg_.max_frame_len_; }
  /// Changes the maximum frame length; applies to the next head decoded
  /// and the next frame encoded.
  void set_max_frame_length(std::size_t n) noexcept { cfg_.max_frame_len_ = n; }

  /// The next frame's payload; std::nullopt until it is all buffered.
  std::optional<bytes_mut> decode(bytes_mut& src) {
    if (!data_len_) {
      data_len_ = decode_head(src);
      if (!data_len_) return std::nullopt;
    }
    const std::size_t n = *data_len_;
    if (src.size() < n) return std::nullopt;
    data_len_.reset();
    bytes_mut frame = src.split_to(n);
    src.reserve(cfg_.num_head_bytes());
    return frame;
  }

  /// Appends the head and `payload`. Throws codec_error (frame_too_big,
  /// length_overflow) and then appends nothing.
  void encode(std::span<const std::byte> payload, bytes_mut& dst) {
    const std::size_t len = payload.size();
    if (len > cfg_.max_frame_len_) {
      throw codec_error(errc::frame_too_big,
                        "kyoto::codec::length_delimited_codec: cannot encode a frame of " +
                            std::to_string(len) + " bytes (max_frame_length " +
                            std::to_string(cfg_.max_frame_len_) + ")");
    }
    // The field holds len - adjustment.
    std::uint64_t field = 0;
    const bool overflow =
        cfg_.length_adjustment_ < 0
            ? __builtin_add_overflow(static_cast<std::uint64_t>(len),
                                     static_cast<std::uint64_t>(-cfg_.length_adjustment_), &field)
            : __builtin_sub_overflow(static_cast<std::uint64_t>(len),
                                     static_cast<std::uint64_t>(cfg_.length_adjustment_), &field);
    const std::size_t bits = 8 * cfg_.length_field_len_;
    if (overflow || (bits < 64 && field >> bits != 0)) {
      throw codec_error(errc::length_overflow, "kyoto::codec::length_delimited_codec: a frame of " +
                                                   std::to_string(len) + " bytes does not fit a " +
                                                   std::to_string(cfg_.length_field_len_) +
                                                   "-byte length field with adjustment " +
                                                   std::to_string(cfg_.length_adjustment_));
    }
    dst.reserve(cfg_.length_field_len_ + len);
    if (cfg_.big_endian_) {
      dst.put_uint(field, cfg_.length_field_len_);
    } else {
      dst.put_uint_le(field, cfg_.length_field_len_);
    }
    dst.extend_from_slice(payload);
  }
  /// Appends the head and the characters of `payload`.
  void encode(std::string_view payload, bytes_mut& dst) {
    encode(std::as_bytes(std::span(payload.data(), payload.size())), dst);
  }

 private:
  friend class length_delimited_builder;
  explicit length_delimited_codec(const length_delimited_builder& cfg) noexcept : cfg_(cfg) {}

  /// Reads and skips the head if it is buffered: the payload length.
  std::optional<std::size_t> decode_head(bytes_mut& src) {
    if (src.size() < cfg_.num_head_bytes()) return std::nullopt;
    std::uint64_t n = 0;
    const std::byte* field = src.data() + cfg_.length_field_offset_;
    for (std::size_t i = 0; i < cfg_.length_field_len_; ++i) {
      const std::size_t k = cfg_.big_endian_ ? i : cfg_.length_field_len_ - 1 - i;
      n = (n << 8) | std::to_integer<std::uint64_t>(field[k]);
    }
    if (n > cfg_.max_frame_len_) {
      throw codec_error(errc::frame_too_big, "kyoto::codec::length_delimited_codec: a frame of " +
                                                 std::to_string(n) +
                                                 " bytes is announced (max_frame_length " +
                                                 std::to_string(cfg_.max_frame_len_) + ")");
    }
    std::size_t len = 0;
    const bool overflow =
        cfg_.length_adjustment_ < 0
            ? __builtin_sub_overflow(static_cast<std::size_t>(n),
                                     static_cast<std::size_t>(-cfg_.length_adjustment_), &len)
            : __builtin_add_overflow(static_cast<std::size_t>(n),
                                     static_cast<std::size_t>(cfg_.length_adjustment_), &len);
    if (overflow) {
      throw codec_error(errc::length_overflow,
                        "kyoto::codec::length_delimited_codec: length field " + std::to_string(n) +
                            " with adjustment " + std::to_string(cfg_.length_adjustment_) +
                            " is out of range");
    }
    src.advance(cfg_.get_num_skip());
    src.reserve(len);
    return len;
  }

  length_delimited_builder cfg_;
  std::optional<std::size_t> data_len_;  ///< Data(n) state: the payload's length
};

inline length_delimited_codec length_delimited_builder::new_codec() const noexcept {
  return length_delimited_codec(*this);
}

}  // namespace kyoto::codec
