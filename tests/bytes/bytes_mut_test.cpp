// kyoto::bytes_mut: the Rust bytes crate's tests/test_bytes.rs (1.x), ported
// for BytesMut: splitting, freezing, reserve and its reuse of the
// allocation, unsplit. Each test names the upstream test it ports; tests
// with no upstream counterpart say so.
#include "errors.hpp"

#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using kyoto::bytes;
using kyoto::bytes_mut;

constexpr std::string_view long_text = "mary had a little lamb, little lamb, little lamb";

// upstream: test_layout (4 words, as in the crate)
TEST(BytesMut, IsFourWordsAndNothrowMovable) {
  static_assert(sizeof(bytes_mut) == 4 * sizeof(void*));
  static_assert(std::is_nothrow_move_constructible_v<bytes_mut>);
}

// upstream: from_slice, len
TEST(BytesMut, HoldsACopyOfTheSliceItWasMadeFrom) {
  const bytes_mut a("abcdefgh");
  EXPECT_EQ(a, "abcdefgh");
  EXPECT_EQ("abcdefgh", a);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_EQ(a.capacity(), 8u);
  EXPECT_TRUE(bytes_mut("").empty());
}

// upstream: fmt
TEST(BytesMut, PrintsLikeTheCratesDebug) {
  std::ostringstream os;
  os << bytes_mut("abcdefg");
  EXPECT_EQ(os.str(), "b\"abcdefg\"");
}

// upstream: fmt_write (the crate's fmt::Write; here extend_from_slice)
TEST(BytesMut, AppendsTextAcrossItsCapacity) {
  std::string s;
  for (int i = 0; i < 10; ++i)
    s += "abcdefg";
  bytes_mut a = bytes_mut::with_capacity(64);
  a.extend_from_slice(std::string_view(s).substr(0, 64));
  EXPECT_EQ(a, std::string_view(s).substr(0, 64));
  bytes_mut b = bytes_mut::with_capacity(64);
  b.extend_from_slice(std::string_view(s).substr(0, 32));
  b.extend_from_slice(std::string_view(s).substr(32, 32));
  EXPECT_EQ(b, std::string_view(s).substr(0, 64));
  bytes_mut c = bytes_mut::with_capacity(64);
  c.extend_from_slice(s);
  EXPECT_EQ(c, s);
}

// upstream: split_off
TEST(BytesMut, SplitOffKeepsTheFrontAndReturnsTheBack) {
  bytes_mut hello("helloworld");
  const bytes_mut world = hello.split_off(5);
  EXPECT_EQ(hello, "hello");
  EXPECT_EQ(world, "world");
}

// upstream: split_off_uninitialized
TEST(BytesMut, SplitOffCutsTheSpareRoomToo) {
  bytes_mut b = bytes_mut::with_capacity(1024);
  const bytes_mut other = b.split_off(128);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 128u);
  EXPECT_EQ(other.size(), 0u);
  EXPECT_EQ(other.capacity(), 896u);
}

// Not upstream: split_off checks the capacity.
TEST(BytesMut, SplitOffPastTheCapacityThrows) {
  bytes_mut b = bytes_mut::with_capacity(16);
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)b.split_off(17); },
      kyoto::test::whole_message("kyoto::bytes_mut::split_off: 17 > capacity 16"));
}

// upstream: split_off_to_loop (BytesMut half)
TEST(BytesMut, SplitAtEveryPositionLosesNothing) {
  const std::string_view s = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (std::size_t i = 0; i <= s.size(); ++i) {
    {
      bytes_mut b(s);
      const bytes_mut off = b.split_off(i);
      EXPECT_EQ(b.size(), i);
      EXPECT_EQ(std::string(b.as_string_view()) + std::string(off.as_string_view()), s);
    }
    {
      bytes_mut b(s);
      const bytes_mut off = b.split_to(i);
      EXPECT_EQ(off.size(), i);
      EXPECT_EQ(std::string(off.as_string_view()) + std::string(b.as_string_view()), s);
    }
  }
}

// upstream: split_to_oob_mut, split_to_uninitialized
TEST(BytesMut, SplitToPastTheLengthThrowsNamingTheSizes) {
  bytes_mut hello("helloworld");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)hello.split_to(33); },
      kyoto::test::whole_message("kyoto::bytes_mut::split_to: 33 > len 10"));
  bytes_mut b = bytes_mut::with_capacity(1024);
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)b.split_to(128); },
      kyoto::test::whole_message("kyoto::bytes_mut::split_to: 128 > len 0"));
  bytes_mut four("abcd");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)four.split_to(10); },
      kyoto::test::whole_message("kyoto::bytes_mut::split_to: 10 > len 4"));
}

// Not upstream: split halves share one allocation.
TEST(BytesMut, SplitHalvesShareTheAllocation) {
  bytes_mut a(long_text);
  const std::byte* const p = a.data();
  const bytes_mut front = a.split_to(10);
  EXPECT_EQ(front.data(), p);
  EXPECT_EQ(a.data(), p + 10);
  bytes_mut back = a.split_off(5);
  EXPECT_EQ(back.data(), p + 15);
  back[0] = std::byte{'X'};  // regions are disjoint: the others are unchanged
  EXPECT_EQ(front, long_text.substr(0, 10));
  EXPECT_EQ(a, long_text.substr(10, 5));
}

// upstream: freeze_clone_shared, freeze_clone_unique
TEST(BytesMut, FreezeThenCopy) {
  const bytes b = bytes_mut("abcdefgh").split().freeze();
  EXPECT_EQ(b, "abcdefgh");
  const bytes c = b;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(c, "abcdefgh");
  const bytes d = bytes_mut("abcdefgh").freeze();
  EXPECT_EQ(d, "abcdefgh");
}

// Not upstream: freeze does not copy (pointer identity).
TEST(BytesMut, FreezeKeepsTheSameBytes) {
  bytes_mut m(long_text);
  const std::byte* const p = m.data();
  const bytes b = std::move(m).freeze();
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b, long_text);
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(m.capacity(), 0u);
}

// upstream: freeze_after_advance, freeze_after_advance_arc
TEST(BytesMut, FreezeAfterAdvanceKeepsTheOffset) {
  bytes_mut b("abcdefgh");
  b.advance(1);
  EXPECT_EQ(b, "bcdefgh");
  EXPECT_EQ(std::move(b).freeze(), "bcdefgh");

  bytes_mut c("abcdefgh");
  (void)c.split_to(0);
  c.advance(1);
  EXPECT_EQ(std::move(c).freeze(), "bcdefgh");
}

// upstream: freeze_after_split_to, freeze_after_split_off
TEST(BytesMut, FreezeAfterSplitKeepsItsPart) {
  bytes_mut b("abcdefgh");
  (void)b.split_to(1);
  EXPECT_EQ(std::move(b).freeze(), "bcdefgh");
  bytes_mut c("abcdefgh");
  (void)c.split_off(7);
  EXPECT_EQ(std::move(c).freeze(), "abcdefg");
}

// upstream: freeze_after_truncate, freeze_after_truncate_arc
TEST(BytesMut, FreezeAfterTruncateKeepsThePrefix) {
  bytes_mut b("abcdefgh");
  b.truncate(7);
  EXPECT_EQ(b, "abcdefg");
  EXPECT_EQ(std::move(b).freeze(), "abcdefg");
  bytes_mut c("abcdefgh");
  (void)c.split_to(0);
  c.truncate(7);
  EXPECT_EQ(std::move(c).freeze(), "abcdefg");
}

// upstream: fns_defined_for_bytes_mut
TEST(BytesMut, ExposesItsBytesForReadingAndWriting) {
  bytes_mut b("hello world");
  b.data()[0] = std::byte{'j'};
  b[1] = std::byte{'E'};
  std::vector<std::byte> v(b.begin(), b.end());
  EXPECT_EQ(b, std::span<const std::byte>(v));
  EXPECT_EQ(b, "jEllo world");
  static_assert(std::ranges::contiguous_range<bytes_mut>);
  const std::span<std::byte> s = b;
  EXPECT_EQ(s.size(), 11u);
}

// upstream: reserve_convert
TEST(BytesMut, ReserveGrowsByWhatIsAsked) {
  bytes_mut b(long_text);
  b.reserve(64);
  EXPECT_EQ(b.capacity(), long_text.size() + 64);

  bytes_mut c(long_text);
  const bytes_mut a = c.split_to(30);
  c.reserve(128);
  EXPECT_GE(c.capacity(), c.size() + 128);
  EXPECT_EQ(a, long_text.substr(0, 30));
  EXPECT_EQ(c, long_text.substr(30));
}

// upstream: reserve_growth. The crate keeps the consumed front in the new
// buffer (capacity 128 - 11 = 117); kyoto moves the contents to the start,
// so the whole doubled buffer is usable.
TEST(BytesMut, ReserveBeyondTheBufferDoublesIt) {
  bytes_mut b = bytes_mut::with_capacity(64);
  b.put_slice("hello world");
  (void)b.split();
  b.reserve(65);
  EXPECT_EQ(b.capacity(), 128u);
}

// upstream: reserve_allocates_at_least_original_capacity
TEST(BytesMut, ReserveWhileSharedAllocatesTheOriginalCapacity) {
  bytes_mut b = bytes_mut::with_capacity(1024);
  for (int i = 0; i < 1020; ++i)
    b.put_u8(static_cast<std::uint8_t>(i));
  const bytes_mut other = b.split();
  b.reserve(16);
  EXPECT_EQ(b.capacity(), 1024u);
  EXPECT_EQ(other.size(), 1020u);
}

// upstream: reserve_max_original_capacity_value
TEST(BytesMut, ReserveWhileSharedInheritsAtMost64KiB) {
  constexpr std::size_t size = std::size_t{128} * 1024;
  bytes_mut b = bytes_mut::with_capacity(size);
  b.resize(size);
  const bytes_mut other = b.split();
  b.reserve(16);
  EXPECT_EQ(b.capacity(), 64u * 1024);
}

// upstream: reserve_vec_recycling
TEST(BytesMut, ReserveReclaimsTheFrontAfterAdvance) {
  bytes_mut b = bytes_mut::with_capacity(16);
  EXPECT_EQ(b.capacity(), 16u);
  const std::byte* const addr = b.data();
  b.put_slice("0123456789012345");
  EXPECT_EQ(b.data(), addr);
  b.advance(10);
  EXPECT_EQ(b.capacity(), 6u);
  b.reserve(8);
  EXPECT_EQ(b.capacity(), 16u);
  EXPECT_EQ(b.data(), addr);
  EXPECT_EQ(b, "012345");
}

// Not upstream as such (the brief's reclaim): the front split off and
// dropped is reused by reserve, in place.
TEST(BytesMut, ReserveReclaimsTheFrontAfterSplit) {
  bytes_mut b = bytes_mut::with_capacity(64);
  const std::byte* const addr = b.data();
  b.put_slice("header:payload");
  {
    const bytes head = b.split_to(7).freeze();
    EXPECT_EQ(head, "header:");
    b.reserve(57);  // the front is still shared: a new buffer
    EXPECT_NE(b.data(), addr);
  }
  bytes_mut c = bytes_mut::with_capacity(64);
  const std::byte* const caddr = c.data();
  c.put_slice("header:payload");
  {
    const bytes head = c.split_to(7).freeze();
  }  // dropped
  c.reserve(57);  // only owner: shift to the start, no allocation
  EXPECT_EQ(c.data(), caddr);
  EXPECT_EQ(c.capacity(), 64u);
  EXPECT_EQ(c, "payload");
}

// upstream: reserve_in_arc_unique_does_not_overallocate
TEST(BytesMut, ReserveAsOnlyOwnerGivesWhatIsAskedWhenMoreThanDouble) {
  bytes_mut b = bytes_mut::with_capacity(1000);
  (void)b.split();
  EXPECT_EQ(b.capacity(), 1000u);
  b.reserve(2001);
  EXPECT_EQ(b.capacity(), 2001u);
}

// upstream: reserve_in_arc_unique_doubles
TEST(BytesMut, ReserveAsOnlyOwnerDoubles) {
  bytes_mut b = bytes_mut::with_capacity(1000);
  (void)b.split();
  b.reserve(1001);
  EXPECT_EQ(b.capacity(), 2000u);
}

// upstream: reserve_in_arc_unique_does_not_overallocate_after_split,
// reserve_in_arc_unique_does_not_overallocate_after_multiple_splits
TEST(BytesMut, ReserveAsOnlyOwnerReclaimsTheTailSplitOff) {
  bytes_mut b(long_text);
  const std::size_t orig = b.capacity();
  const std::byte* const addr = b.data();
  for (int i = 0; i < 10; ++i) {
    (void)b.split_off(long_text.size() / 2);
    b.reserve(orig - b.capacity());
  }
  EXPECT_EQ(b.capacity(), orig);
  EXPECT_EQ(b.data(), addr);
}

// upstream: reserve_in_arc_nonunique_does_not_overallocate
TEST(BytesMut, ReserveWhileSharedGivesWhatIsAsked) {
  bytes_mut b = bytes_mut::with_capacity(1000);
  const bytes_mut copy = b.split();
  EXPECT_EQ(b.capacity(), 1000u);
  b.reserve(2001);
  EXPECT_EQ(b.capacity(), 2001u);
}

// upstream: reserve_shared_reuse
TEST(BytesMut, ReserveAsOnlyOwnerGrowsPastTheBuffer) {
  bytes_mut b = bytes_mut::with_capacity(1000);
  b.put_slice("Hello, World!");
  (void)b.split();
  b.put_slice("!123ex123,sadchELLO,_wORLD!");
  (void)b.split_off(9);
  EXPECT_EQ(b, "!123ex123");
  b.reserve(2000);
  EXPECT_EQ(b, "!123ex123");
  EXPECT_EQ(b.capacity(), 2009u);
}

// upstream: bytes_buf_mut_reuse_when_fully_consumed
TEST(BytesMut, ReserveReusesAFullyConsumedBuffer) {
  bytes_mut b;
  b.reserve(8192);
  b.resize(100);
  const std::byte* const p = b.data();
  b.advance(100);
  b.reserve(8192);
  b.extend_from_slice(" ");
  EXPECT_EQ(b.data(), p);
}

// upstream: bytes_reserve_overflow
TEST(BytesMut, ReserveThatOverflowsThrowsLengthError) {
  bytes_mut b = bytes_mut::with_capacity(1024);
  b.put_slice("hello world");
  EXPECT_THROW(b.reserve(std::numeric_limits<std::size_t>::max()), std::length_error);
  EXPECT_EQ(b, "hello world");
}

// upstream: extend_mut, extend_from_slice_mut, extend_mut_from_bytes
TEST(BytesMut, ExtendFromSliceAppends) {
  for (const std::size_t i : {std::size_t{3}, std::size_t{34}}) {
    bytes_mut b;
    b.extend_from_slice(long_text.substr(0, i));
    b.extend_from_slice(long_text.substr(i));
    EXPECT_EQ(b, long_text);
  }
  bytes_mut c = bytes_mut::with_capacity(0);
  c.extend_from_slice(bytes::from_static(long_text));
  EXPECT_EQ(c, long_text);
}

// Not upstream: appending a part of itself is safe even when it grows.
TEST(BytesMut, ExtendFromItsOwnBytes) {
  bytes_mut b("abc");
  b.extend_from_slice(b.as_span());
  EXPECT_EQ(b, "abcabc");
}

// upstream: advance_bytes_mut
TEST(BytesMut, AdvanceAcrossAReserve) {
  bytes_mut a("hello world boooo yah world zomg wat wat");
  a.advance(16);
  EXPECT_EQ(a, "o yah world zomg wat wat");
  a.advance(4);
  EXPECT_EQ(a, "h world zomg wat wat");
  a.reserve(1024);
  EXPECT_EQ(a, "h world zomg wat wat");
  a.advance(6);
  EXPECT_EQ(a, "d zomg wat wat");
}

// upstream: advance_past_len
TEST(BytesMut, AdvancePastTheLengthThrows) {
  bytes_mut a("hello world");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { a.advance(20); }, kyoto::test::whole_message("kyoto::bytes_mut::advance: 20 > len 11"));
  EXPECT_EQ(a, "hello world");
}

// upstream: bytes_mut_unsplit_basic
TEST(BytesMut, UnsplitJoinsTheSplitOffPart) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aaabbbcccddd");
  const std::byte* const p = buf.data();
  bytes_mut splitted = buf.split_off(6);
  EXPECT_EQ(buf, "aaabbb");
  EXPECT_EQ(splitted, "cccddd");
  buf.unsplit(std::move(splitted));
  EXPECT_EQ(buf, "aaabbbcccddd");
  EXPECT_EQ(buf.data(), p);
  EXPECT_EQ(buf.capacity(), 64u);
}

// upstream: bytes_mut_unsplit_empty_other, bytes_mut_unsplit_empty_self
TEST(BytesMut, UnsplitWithAnEmptySide) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aaabbbcccddd");
  buf.unsplit(bytes_mut());
  EXPECT_EQ(buf, "aaabbbcccddd");

  bytes_mut empty;
  bytes_mut other = bytes_mut::with_capacity(64);
  other.extend_from_slice("aaabbbcccddd");
  empty.unsplit(std::move(other));
  EXPECT_EQ(empty, "aaabbbcccddd");
}

// upstream: bytes_mut_unsplit_other_keeps_capacity,
// bytes_mut_unsplit_empty_other_keeps_capacity
TEST(BytesMut, UnsplitRestoresTheCapacity) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aabb");
  bytes_mut other = buf.split_off(buf.size());
  other.extend_from_slice("ccddee");
  buf.unsplit(std::move(other));
  EXPECT_EQ(buf.capacity(), 64u);
  EXPECT_EQ(buf, "aabbccddee");

  bytes_mut buf2 = bytes_mut::with_capacity(64);
  buf2.extend_from_slice("aabbccddee");
  buf2.unsplit(buf2.split_off(buf2.size()));
  EXPECT_EQ(buf2.capacity(), 64u);
}

// upstream: bytes_mut_unsplit_arc_different
TEST(BytesMut, UnsplitOfAnotherBufferCopies) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aaaabbbbeeee");
  (void)buf.split_off(8);
  bytes_mut buf2 = bytes_mut::with_capacity(64);
  buf2.extend_from_slice("ccccddddeeee");
  (void)buf2.split_off(8);
  buf.unsplit(std::move(buf2));
  EXPECT_EQ(buf, "aaaabbbbccccdddd");
}

// upstream: bytes_mut_unsplit_arc_non_contiguous
TEST(BytesMut, UnsplitOfANonAdjacentPartCopies) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aaaabbbbeeeeccccdddd");
  bytes_mut buf2 = buf.split_off(8);
  bytes_mut buf3 = buf2.split_off(4);
  buf.unsplit(std::move(buf3));
  EXPECT_EQ(buf, "aaaabbbbccccdddd");
}

// upstream: bytes_mut_unsplit_two_split_offs
TEST(BytesMut, UnsplitTwoSplitOffsInReverse) {
  bytes_mut buf = bytes_mut::with_capacity(64);
  buf.extend_from_slice("aaaabbbbccccdddd");
  bytes_mut buf2 = buf.split_off(8);
  bytes_mut buf3 = buf2.split_off(4);
  buf2.unsplit(std::move(buf3));
  buf.unsplit(std::move(buf2));
  EXPECT_EQ(buf, "aaaabbbbccccdddd");
  EXPECT_EQ(buf.capacity(), 64u);
}

// upstream: test_clone (test_buf_mut.rs)
TEST(BytesMut, CopyIsIndependent) {
  bytes_mut buf = bytes_mut::with_capacity(100);
  buf.extend_from_slice("this is a test");
  const bytes_mut buf2 = buf;
  buf.extend_from_slice(" of our emergency broadcast system");
  EXPECT_NE(buf, buf2);
  EXPECT_EQ(buf2, "this is a test");
  EXPECT_NE(buf.data(), buf2.data());
}

// upstream: bytes_buf_mut_advance
TEST(BytesMut, ChunkMutIsTheSpareRoomAndGrowsWhenFull) {
  bytes_mut b = bytes_mut::with_capacity(1024);
  const std::span<std::byte> first = b.chunk_mut();
  EXPECT_EQ(first.size(), 1024u);
  b.advance_mut(10);
  const std::span<std::byte> next = b.chunk_mut();
  EXPECT_EQ(next.size(), 1024u - 10);
  EXPECT_EQ(next.data(), first.data() + 10);
  b.advance_mut(1024 - 10);
  EXPECT_EQ(b.chunk_mut().size(), 1024u);  // the buffer doubled
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { b.advance_mut(1025); },
      kyoto::test::whole_message("kyoto::bytes_mut::advance_mut: 1025 > spare 1024"));
}

// upstream: bytes_put_bytes
TEST(BytesMut, PutBytesAppendsCopiesOfAByte) {
  bytes_mut b;
  b.put_u8(17);
  b.put_bytes(std::byte{19}, 2);
  EXPECT_EQ(b, "\x11\x13\x13");
}

// Not upstream: resize, truncate and clear keep the capacity.
TEST(BytesMut, ResizeTruncateAndClear) {
  bytes_mut b("abc");
  b.resize(5, std::byte{'z'});
  EXPECT_EQ(b, "abczz");
  b.resize(2);
  EXPECT_EQ(b, "ab");
  const std::size_t cap = b.capacity();
  b.truncate(1);
  EXPECT_EQ(b, "a");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
}

// upstream: test_bytes_into_vec (the part that applies: freezing split parts)
TEST(BytesMut, FrozenPartsKeepTheirBytes) {
  bytes_mut m("1b23exfcz3r");
  bytes_mut m2 = m.split_off(9);
  const bytes b1 = std::move(m).freeze();
  const bytes b2 = std::move(m2).freeze();
  EXPECT_EQ(b1, "1b23exfcz");
  EXPECT_EQ(b2, "3r");
}

}  // namespace
