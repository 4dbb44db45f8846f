// The examples in docs/bytes.md, compiled and run. Keep them in step: each
// doc block is the body of a function below (the read loop wrapped in one,
// with read_some standing in for a socket read).
#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

// docs/bytes.md, "Example: length-prefixed frames".
std::vector<kyoto::bytes> encode_then_decode() {
  // Encode: a 4-byte big-endian length, then the payload.
  kyoto::bytes_mut out;
  for (std::string_view msg : {"hello", "kyoto"}) {
    out.put_u32(static_cast<std::uint32_t>(msg.size()));
    out.put_slice(msg);
  }
  kyoto::bytes wire = std::move(out).freeze();  // no copy

  // Decode: each frame is a window onto wire's buffer.
  std::vector<kyoto::bytes> frames;
  while (wire.remaining() >= 4) {
    const std::uint32_t n = wire.get_u32();
    frames.push_back(wire.split_to(n));  // O(1); throws std::out_of_range if truncated
  }
  return frames;
}

TEST(BytesDocExample, LengthPrefixedFrames) {
  const std::vector<kyoto::bytes> frames = encode_then_decode();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], "hello");
  EXPECT_EQ(frames[1], "kyoto");
  EXPECT_EQ(frames[1].data(), frames[0].data() + 5 + 4);  // one buffer
}

// docs/bytes.md, "Example: a read buffer that reuses its memory".
// `read_some` stands in for a socket read into a span.
std::size_t read_some(std::span<std::byte> into) {
  static constexpr std::string_view input(
      "\x00\x03"
      "abc"
      "\x00\x02"
      "de",
      9);
  static std::size_t at = 0;
  // At most 4 bytes a time, so frames arrive in pieces.
  const std::size_t n = std::min({into.size(), input.size() - at, std::size_t{4}});
  std::memcpy(into.data(), input.data() + at, n);
  at += n;
  return n;
}

std::vector<kyoto::bytes> read_frames() {
  std::vector<kyoto::bytes> frames;
  kyoto::bytes_mut buf = kyoto::bytes_mut::with_capacity(4096);
  for (;;) {
    buf.reserve(1024);  // reuses the front once earlier frames are dropped
    const std::size_t n = read_some(buf.chunk_mut());
    if (n == 0) break;
    buf.advance_mut(n);
    while (buf.size() >= 2) {
      const std::size_t len =
          (std::to_integer<std::size_t>(buf[0]) << 8) | std::to_integer<std::size_t>(buf[1]);
      if (buf.size() < 2 + len) break;  // wait for the rest
      buf.advance(2);
      frames.push_back(buf.split_to(len).freeze());  // hand off, no copy
    }
  }
  return frames;
}

TEST(BytesDocExample, ReadBufferThatReusesItsMemory) {
  const std::vector<kyoto::bytes> frames = read_frames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], "abc");
  EXPECT_EQ(frames[1], "de");
}

}  // namespace
