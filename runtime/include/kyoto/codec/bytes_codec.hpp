// kyoto::codec::bytes_codec: raw bytes in, raw bytes out (tokio-util's
// BytesCodec).
#pragma once

#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace kyoto::codec {

/// Decodes whatever has been read as one frame and encodes bytes as they
/// are (tokio-util's BytesCodec). Stateless: copyable, usable anywhere.
///
/// decode() gives all the buffered bytes (a bytes_mut sharing the read
/// buffer, no copy), or nothing if none are buffered; so a frame is
/// whatever one read delivered. It never fails.
class bytes_codec {
 public:
  /// All of `src`, split off without copying; std::nullopt if it is empty.
  std::optional<bytes_mut> decode(bytes_mut& src) {
    if (src.empty()) return std::nullopt;
    return src.split();
  }
  /// Appends `data`.
  void encode(std::span<const std::byte> data, bytes_mut& dst) { dst.extend_from_slice(data); }
  /// Appends the characters of `data`.
  void encode(std::string_view data, bytes_mut& dst) { dst.extend_from_slice(data); }
  /// Appends `data` (a kyoto::bytes).
  void encode(const bytes& data, bytes_mut& dst) { dst.extend_from_slice(data.as_span()); }
  /// Appends `data` (a kyoto::bytes_mut).
  void encode(const bytes_mut& data, bytes_mut& dst) { dst.extend_from_slice(data.as_span()); }
};

}  // namespace kyoto::codec
