// The buf / buf_mut accessors on kyoto::bytes, kyoto::bytes_mut and
// kyoto::byte_cursor: the Rust bytes crate's tests/test_buf.rs,
// tests/test_buf_mut.rs and tests/test_take.rs (1.x), where they apply.
// Each test names the upstream test it ports; tests with no upstream
// counterpart say so.
#include "errors.hpp"

#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using kyoto::byte_cursor;
using kyoto::bytes;
using kyoto::bytes_mut;

std::string_view as_chars(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// upstream: test_fresh_cursor_vec
TEST(Buf, CursorChunkAndRemainingFollowAdvance) {
  byte_cursor buf("hello");
  EXPECT_EQ(buf.remaining(), 5u);
  EXPECT_EQ(as_chars(buf.chunk()), "hello");
  buf.advance(2);
  EXPECT_EQ(buf.remaining(), 3u);
  EXPECT_EQ(as_chars(buf.chunk()), "llo");
  buf.advance(3);
  EXPECT_EQ(buf.remaining(), 0u);
  EXPECT_FALSE(buf.has_remaining());
  EXPECT_EQ(as_chars(buf.chunk()), "");
}

// upstream: test_get_u8
TEST(Buf, GetU8ReadsOneByte) {
  byte_cursor buf("\x21zomg");
  EXPECT_EQ(buf.get_u8(), 0x21);
  EXPECT_EQ(buf.remaining(), 4u);
}

// upstream: test_get_u16
TEST(Buf, GetU16IsBigEndianAndLeIsLittleEndian) {
  byte_cursor a("\x21\x54zomg");
  EXPECT_EQ(a.get_u16(), 0x2154);
  byte_cursor b("\x21\x54zomg");
  EXPECT_EQ(b.get_u16_le(), 0x5421);
}

// upstream: test_get_u16_buffer_underflow
TEST(Buf, GetPastTheEndThrowsAndConsumesNothing) {
  byte_cursor buf("\x21");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)buf.get_u16(); },
      kyoto::test::whole_message("kyoto::byte_cursor::get_u16: 2 > remaining 1"));
  EXPECT_EQ(buf.remaining(), 1u);
  bytes b = bytes::from_static("\x01\x02");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)b.get_u32(); },
      kyoto::test::whole_message("kyoto::bytes::get_u32: 4 > remaining 2"));
  bytes_mut m("\x01\x02\x03");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)m.get_i64_le(); },
      kyoto::test::whole_message("kyoto::bytes_mut::get_i64_le: 8 > remaining 3"));
  EXPECT_EQ(m.size(), 3u);
}

// Not upstream (the crate's get_* family, each width and sign): big endian
// by default, _le little endian, on all three bufs.
template <class B>
void check_every_width(B buf) {
  EXPECT_EQ(buf.get_u8(), 0x01);
  EXPECT_EQ(buf.get_i8(), -2);
  EXPECT_EQ(buf.get_u16(), 0x0102);
  EXPECT_EQ(buf.get_u16_le(), 0x0102);
  EXPECT_EQ(buf.get_i16(), -2);
  EXPECT_EQ(buf.get_i16_le(), -2);
  EXPECT_EQ(buf.get_u32(), 0x01020304u);
  EXPECT_EQ(buf.get_u32_le(), 0x01020304u);
  EXPECT_EQ(buf.get_i32(), -2);
  EXPECT_EQ(buf.get_i32_le(), -2);
  EXPECT_EQ(buf.get_u64(), 0x0102030405060708u);
  EXPECT_EQ(buf.get_u64_le(), 0x0102030405060708u);
  EXPECT_EQ(buf.get_i64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(buf.get_i64_le(), -2);
  EXPECT_EQ(buf.get_f32(), 1.5f);
  EXPECT_EQ(buf.get_f32_le(), 1.5f);
  EXPECT_EQ(buf.get_f64(), -0.25);
  EXPECT_EQ(buf.get_f64_le(), -0.25);
  EXPECT_FALSE(buf.has_remaining());
}

bytes_mut every_width() {
  bytes_mut m;
  m.put_u8(0x01);
  m.put_i8(-2);
  m.put_u16(0x0102);
  m.put_u16_le(0x0102);
  m.put_i16(-2);
  m.put_i16_le(-2);
  m.put_u32(0x01020304);
  m.put_u32_le(0x01020304);
  m.put_i32(-2);
  m.put_i32_le(-2);
  m.put_u64(0x0102030405060708);
  m.put_u64_le(0x0102030405060708);
  m.put_i64(std::numeric_limits<std::int64_t>::min());
  m.put_i64_le(-2);
  m.put_f32(1.5f);
  m.put_f32_le(1.5f);
  m.put_f64(-0.25);
  m.put_f64_le(-0.25);
  return m;
}

TEST(Buf, EveryWidthRoundTripsThroughPutAndGet) {
  const bytes_mut m = every_width();
  EXPECT_EQ(m.size(), 1u + 1 + 2 * 4 + 4 * 4 + 8 * 4 + 4 * 2 + 8 * 2);
  check_every_width(m);
  check_every_width(bytes::copy_from_slice(m.as_span()));
  check_every_width(byte_cursor(m.as_span()));
}

// Not upstream: the exact byte layout of a few puts.
TEST(BufMut, PutWritesBigEndianByDefault) {
  bytes_mut m;
  m.put_u32(0x01020304);
  m.put_u32_le(0x01020304);
  m.put_i16(-1);
  EXPECT_EQ(m, std::string_view("\x01\x02\x03\x04\x04\x03\x02\x01\xff\xff", 10));
}

// upstream: test_put_u8
TEST(BufMut, PutU8) {
  bytes_mut m = bytes_mut::with_capacity(8);
  m.put_u8(33);
  EXPECT_EQ(m, "\x21");
}

// upstream: test_put_u16
TEST(BufMut, PutU16BothEndians) {
  bytes_mut m = bytes_mut::with_capacity(8);
  m.put_u16(8532);
  EXPECT_EQ(m, "\x21\x54");
  m.clear();
  m.put_u16_le(8532);
  EXPECT_EQ(m, "\x54\x21");
}

// upstream: test_put_int, test_put_int_le
TEST(BufMut, PutIntWritesTheLowBytes) {
  bytes_mut m;
  m.put_int(0x1020304050607080, 3);
  EXPECT_EQ(m, "\x60\x70\x80");
  m.clear();
  m.put_int_le(0x1020304050607080, 3);
  EXPECT_EQ(m, "\x80\x70\x60");
  m.clear();
  m.put_uint(0xabcdef, 2);
  EXPECT_EQ(m, "\xcd\xef");
}

// upstream: test_put_int_nbytes_overflow, test_put_int_le_nbytes_overflow
TEST(BufMut, PutIntOfMoreThanEightBytesThrows) {
  bytes_mut m;
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { m.put_int(0x1020304050607080, 9); },
      kyoto::test::whole_message("kyoto::bytes_mut::put_int: 9 > max 8"));
  EXPECT_THROW(m.put_int_le(0x1020304050607080, 9), std::out_of_range);
  EXPECT_TRUE(m.empty());
}

// Not upstream (the crate's get_int / get_uint): n-byte reads, sign-extended.
TEST(Buf, GetIntReadsNBytesSignExtended) {
  byte_cursor a(std::string_view("\xff\xfe\x01\x02\x03\x80\x00", 7));
  EXPECT_EQ(a.get_int(2), -2);
  EXPECT_EQ(a.get_uint(3), 0x010203u);
  EXPECT_EQ(a.get_int_le(2), 0x0080);
  byte_cursor b(std::string_view("\x80\x00\x00", 3));
  EXPECT_EQ(b.get_int(3), -0x800000);
  byte_cursor c("abc");
  EXPECT_EQ(c.get_int(0), 0);
  EXPECT_THROW((void)c.get_uint(9), std::out_of_range);
}

// upstream: test_vec_put_bytes, test_vec_as_mut_buf
TEST(BufMut, PutSliceGrowsPastTheCapacity) {
  bytes_mut m = bytes_mut::with_capacity(64);
  m.put_slice("zomg");
  EXPECT_EQ(m, "zomg");
  EXPECT_EQ(m.capacity(), 64u);
  for (int i = 0; i < 16; ++i)
    m.put_slice("zomg");
  EXPECT_EQ(m.size(), 68u);
  m.clear();
  m.put_u8(17);
  m.put_bytes(std::byte{19}, 2);
  EXPECT_EQ(m, "\x11\x13\x13");
}

// upstream: copy_to_bytes_less
TEST(Buf, CopyToBytesTakesTheFront) {
  byte_cursor buf("hello world");
  const bytes b = buf.copy_to_bytes(5);
  EXPECT_EQ(b, "hello");
  EXPECT_EQ(as_chars(buf.chunk()), " world");
}

// upstream: copy_to_bytes_overflow, take_copy_to_bytes_panics
TEST(Buf, CopyToBytesPastTheEndThrows) {
  byte_cursor buf("hello world");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)buf.copy_to_bytes(12); },
      kyoto::test::whole_message("kyoto::byte_cursor::copy_to_bytes: 12 > remaining 11"));
  bytes b = bytes::copy_from_slice("abcd");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)b.copy_to_bytes(5); },
      kyoto::test::whole_message("kyoto::bytes::copy_to_bytes: 5 > len 4"));
  bytes_mut m("abcd");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)m.copy_to_bytes(5); },
      kyoto::test::whole_message("kyoto::bytes_mut::copy_to_bytes: 5 > len 4"));
}

// upstream: take_copy_to_bytes (test_take.rs): copy_to_bytes on a Bytes
// shares the buffer instead of allocating.
TEST(Buf, CopyToBytesOfBytesDoesNotCopy) {
  bytes abcd = bytes::copy_from_slice("abcd");
  const std::byte* const p = abcd.data();
  const bytes a = abcd.copy_to_bytes(1);
  EXPECT_EQ(a, "a");
  EXPECT_EQ(a.data(), p);
  EXPECT_EQ(abcd, "bcd");

  bytes_mut m("abcd");
  const std::byte* const mp = m.data();
  const bytes ma = m.copy_to_bytes(2);
  EXPECT_EQ(ma.data(), mp);
  EXPECT_EQ(m, "cd");
}

// upstream: test_vec_deque (the part that applies: copy_to_slice)
TEST(Buf, CopyToSliceFillsTheDestination) {
  bytes b = bytes::from_static("hello world");
  b.advance(6);
  std::array<std::byte, 5> out{};
  b.copy_to_slice(out);
  EXPECT_EQ(as_chars(out), "world");
  EXPECT_FALSE(b.has_remaining());
  EXPECT_THROW(b.copy_to_slice(out), std::out_of_range);
}

// Not upstream: code generic over the concept (a frame decoder).
template <kyoto::buf B>
std::uint32_t sum_u16_frames(B& in) {
  std::uint32_t sum = 0;
  while (in.remaining() >= 2)
    sum += in.get_u16();
  return sum;
}

TEST(Buf, GenericCodeTakesAnyBuf) {
  byte_cursor c(std::string_view("\x00\x01\x00\x02\x00", 5));
  EXPECT_EQ(sum_u16_frames(c), 3u);
  EXPECT_EQ(c.remaining(), 1u);
  bytes b = bytes::from_static(std::string_view("\x00\x05\x00\x06", 4));
  EXPECT_EQ(sum_u16_frames(b), 11u);
  static_assert(kyoto::buf_mut<bytes_mut>);
  static_assert(!kyoto::buf_mut<bytes>);
}

}  // namespace
