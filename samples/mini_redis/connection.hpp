// mini-redis's connection module (upstream src/connection.rs): frames in
// and out of a TCP stream.
//
// Reads go into a kyoto::bytes_mut; each read is followed by check() on
// what is buffered, and a frame is parsed only once it is whole. Writes are
// encoded into an output buffer (upstream's BufWriter) and sent by flush().
//
// Departures from upstream, for speed and memory, not visible on the wire:
// - write_frame() only buffers, and flush() sends. The server flushes once
//   it has answered every whole frame it has read (pipelining: 16
//   pipelined commands cost one write, not 16); the client flushes after
//   each request.
// - Both buffers start empty and small: an idle connection holds a 512-byte
//   read buffer (grown to 4 KiB once a read fills it) and an output buffer
//   the size of the replies it has sent, not upstream's 4 KiB + 8 KiB.
#pragma once

#include "frame.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/runtime/task.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace mini_redis {

/// Sends and receives frames on a TCP stream (upstream's Connection).
///
/// Thread safety: one task at a time. Cancel safety: read_frame() is cancel
/// safe (bytes read stay buffered for the next call); write_frame() and
/// flush() are not.
class connection {
 public:
  /// A connection over `socket`; the buffers are allocated on first use
  /// (see the file comment). Sets TCP_NODELAY: replies are flushed whole,
  /// so Nagle's algorithm would only delay them.
  explicit connection(kyoto::net::tcp_stream socket);

  /// The next frame: nullopt when the peer closed the connection between
  /// frames. Throws mini_redis::error on an invalid or oversized frame or
  /// a connection closed mid-frame ("connection reset by peer"), and the
  /// stream's std::system_error. Does not flush.
  kyoto::task<std::optional<frame>> read_frame();

  /// Reads once more into the buffer, without parsing: false when the
  /// peer closed the connection between frames. Throws as read_frame() on
  /// a connection closed mid-frame. Cancel safe (as read_frame()).
  kyoto::task<bool> read_more();

  /// A frame already buffered whole, without reading (nullopt if none);
  /// throws as read_frame() on an invalid one.
  std::optional<frame> parse_frame();

  /// Encodes `f` into the output buffer (writing the buffer out once it
  /// holds 64 KiB). Call flush() to send.
  kyoto::task<> write_frame(const frame& f);

  /// Encodes `f` into the output buffer, without writing anything (the
  /// caller calls write_out_if_full() or flush() later).
  void buffer_frame(const frame& f);

  /// Writes the output buffer out if it holds 64 KiB or more (so a long
  /// pipeline of large replies does not pile up); otherwise completes at
  /// once.
  kyoto::task<> write_out_if_full();

  /// The bytes read and not yet parsed (valid until the next read or
  /// consume()).
  std::span<const std::byte> buffered() const noexcept { return buffer_.as_span(); }

  /// Drops the first `n` buffered bytes (a request fast_path.hpp applied).
  /// Precondition: n <= buffered().size().
  void consume(std::size_t n) noexcept;

  /// Whether the output buffer holds 64 KiB or more (write_out_if_full()
  /// would write it out): lets a caller skip that coroutine call.
  bool out_full() const noexcept;

  /// Whether replies are buffered, not yet sent.
  bool has_output() const noexcept { return !out_.empty(); }

  /// Sends whatever is buffered.
  kyoto::task<> flush();

 private:
  void encode(const frame& f);
  void encode_value(const frame& f);
  void encode_decimal(std::uint64_t v);
  void put(std::string_view s);

  kyoto::net::tcp_stream stream_;
  kyoto::bytes_mut buffer_;     ///< bytes read, not yet parsed
  std::size_t read_size_;       ///< what the next read reserves room for
  std::vector<std::byte> out_;  ///< replies encoded, not yet sent
};

}  // namespace mini_redis
