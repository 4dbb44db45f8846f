// kyoto::buf_chain and kyoto::buf_take: the Rust bytes crate's
// tests/test_chain.rs and tests/test_take.rs (1.x), the parts about
// reading (the crate's BufMut chain and vectored reads are not ported).
// Each test names the upstream test it ports; tests with no upstream
// counterpart say so.
#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using kyoto::buf_chain;
using kyoto::buf_take;
using kyoto::byte_cursor;
using kyoto::bytes;

std::string_view as_chars(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

static_assert(kyoto::buf<buf_chain<bytes, bytes>>);
static_assert(kyoto::buf<buf_take<bytes&>>);

// upstream: collect_two_bufs
TEST(BufChain, CopyToBytesAcrossTheSeamCollectsBoth) {
  buf_chain c(bytes::copy_from_slice("hello"), bytes::copy_from_slice("world"));
  EXPECT_EQ(c.remaining(), 10u);
  EXPECT_EQ(c.copy_to_bytes(10), "helloworld");
  EXPECT_FALSE(c.has_remaining());
}

// upstream: iterating_two_bufs
TEST(BufChain, ChunksFollowOneAnother) {
  buf_chain c(bytes::copy_from_slice("hello"), bytes::copy_from_slice("world"));
  std::string all;
  while (c.has_remaining()) {
    const std::span<const std::byte> chunk = c.chunk();
    all += as_chars(chunk);
    c.advance(chunk.size());
  }
  EXPECT_EQ(all, "helloworld");
}

// upstream: chain_get_bytes
TEST(BufChain, CopyToBytesSharesWhenInOnePart) {
  bytes ab = bytes::copy_from_slice("ab");
  bytes cd = bytes::copy_from_slice("cd");
  const std::byte* const ab_ptr = ab.data();
  const std::byte* const cd_ptr = cd.data();
  buf_chain chain(ab, cd);  // lvalues: reads ab and cd in place
  const bytes a = chain.copy_to_bytes(1);
  const bytes bc = chain.copy_to_bytes(2);
  const bytes d = chain.copy_to_bytes(1);
  EXPECT_EQ(a, "a");
  EXPECT_EQ(bc, "bc");
  EXPECT_EQ(d, "d");
  EXPECT_EQ(a.data(), ab_ptr);      // did not copy
  EXPECT_EQ(d.data(), cd_ptr + 1);  // did not copy
  EXPECT_TRUE(ab.empty());
  EXPECT_TRUE(cd.empty());
}

// Not upstream: get_* reads across the seam; out of range names the chain.
TEST(BufChain, GetReadsAcrossTheSeam) {
  buf_chain c(byte_cursor(std::string_view("\x01\x02", 2)),
              byte_cursor(std::string_view("\x03\x04\x05", 3)));
  EXPECT_EQ(c.get_u32(), 0x01020304u);
  EXPECT_EQ(c.remaining(), 1u);
  try {
    (void)c.get_u16();
    ADD_FAILURE() << "no throw";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "kyoto::buf_chain::get_u16: 2 > remaining 1");
  }
  EXPECT_EQ(c.get_u8(), 5);
}

// upstream: long_take
TEST(BufTake, ALimitPastTheEndStopsAtTheEnd) {
  buf_take t(byte_cursor("hello world"), 100);
  EXPECT_EQ(t.remaining(), 11u);
  EXPECT_EQ(as_chars(t.chunk()), "hello world");
}

// Not upstream: the limit cuts the chunk and ends the buf.
TEST(BufTake, TheLimitCutsTheChunk) {
  bytes b = bytes::from_static("hello world");
  buf_take t(b, 5);
  EXPECT_EQ(as_chars(t.chunk()), "hello");
  t.advance(2);
  EXPECT_EQ(t.limit(), 3u);
  EXPECT_EQ(as_chars(t.chunk()), "llo");
  EXPECT_THROW(t.advance(4), std::out_of_range);
  t.advance(3);
  EXPECT_FALSE(t.has_remaining());
  EXPECT_EQ(b, " world");  // the inner buf was consumed in place
}

// upstream: take_copy_to_bytes
TEST(BufTake, CopyToBytesOfATakenBytesDoesNotCopy) {
  bytes abcd = bytes::copy_from_slice("abcd");
  const std::byte* const abcd_ptr = abcd.data();
  buf_take take(abcd, 2);
  const bytes a = take.copy_to_bytes(1);
  EXPECT_EQ(a, "a");
  EXPECT_EQ(a.data(), abcd_ptr);
  EXPECT_EQ(abcd, "bcd");
}

// upstream: take_copy_to_bytes_panics
TEST(BufTake, CopyToBytesPastTheLimitThrows) {
  buf_take t(bytes::copy_from_slice("abcd"), 2);
  try {
    (void)t.copy_to_bytes(3);
    ADD_FAILURE() << "no throw";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "kyoto::buf_take::copy_to_bytes: 3 > remaining 2");
  }
}

}  // namespace
