// kyoto::bytes: the Rust bytes crate's tests/test_bytes.rs (1.x) and
// tests/test_iter.rs, ported for Bytes. Each test names the upstream test
// it ports; tests with no upstream counterpart say so.
#include "errors.hpp"

#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace {

using kyoto::bytes;
using kyoto::bytes_mut;

constexpr std::string_view long_text = "mary had a little lamb, little lamb, little lamb";
constexpr std::string_view short_text = "hello world";

std::vector<std::byte> to_vec(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

// upstream: test_layout (Bytes is 4 words there; kyoto's is 3: block, pointer, length).
TEST(Bytes, IsThreeWordsAndNothrowMovable) {
  static_assert(sizeof(bytes) == 3 * sizeof(void*));
  static_assert(std::is_nothrow_move_constructible_v<bytes>);
  static_assert(std::is_nothrow_copy_constructible_v<bytes>);
}

// upstream: from_slice
TEST(Bytes, ComparesEqualToTheSliceItWasMadeFrom) {
  const bytes a = bytes::copy_from_slice("abcdefgh");
  EXPECT_EQ(a, "abcdefgh");
  EXPECT_EQ("abcdefgh", a);
  EXPECT_EQ(a, std::span<const std::byte>(to_vec("abcdefgh")));
  EXPECT_EQ(std::span<const std::byte>(to_vec("abcdefgh")), a);
  EXPECT_NE(a, "abcdefg");
}

// upstream: fmt
TEST(Bytes, PrintsLikeTheCratesDebug) {
  std::ostringstream os;
  os << bytes::copy_from_slice("abcdefg");
  EXPECT_EQ(os.str(), "b\"abcdefg\"");
  std::ostringstream esc;
  esc << bytes::copy_from_slice(std::string_view("a\n\"\\\0\x7f", 6));
  EXPECT_EQ(esc.str(), "b\"a\\n\\\"\\\\\\0\\x7f\"");
}

// upstream: len
TEST(Bytes, LenCountsBytesAndEmptyIsEmpty) {
  EXPECT_EQ(bytes::copy_from_slice("abcdefg").size(), 7u);
  EXPECT_EQ(bytes::copy_from_slice("abcdefg").len(), 7u);
  EXPECT_TRUE(bytes::copy_from_slice("").empty());
  EXPECT_TRUE(bytes().empty());
}

// upstream: index
TEST(Bytes, IndexReadsAByteAndChecksTheBound) {
  const bytes a = bytes::copy_from_slice("hello world");
  EXPECT_EQ(a[0], std::byte{'h'});
  EXPECT_EQ(a[10], std::byte{'d'});
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)a[11]; },
      kyoto::test::whole_message("kyoto::bytes::operator[]: index 11 >= len 11"));
}

// upstream: slice
TEST(Bytes, SliceViewsARange) {
  const bytes a = bytes::copy_from_slice("hello world");
  EXPECT_EQ(a.slice(3, 5), "lo");
  EXPECT_EQ(a.slice(0, 0), "");
  EXPECT_EQ(a.slice(3, 3), "");
  EXPECT_EQ(a.slice(a.size(), a.size()), "");
  EXPECT_EQ(a.slice(0, 5), "hello");
  EXPECT_EQ(a.slice(3), "lo world");
}

// Not upstream: slicing shares the buffer (O(1), no copy).
TEST(Bytes, SliceSharesTheBuffer) {
  const bytes a = bytes::copy_from_slice("hello world");
  const bytes b = a.slice(6, 11);
  EXPECT_EQ(b.data(), a.data() + 6);
}

// upstream: slice_oob_1, slice_oob_2
TEST(Bytes, SliceOutOfRangeThrowsNamingTheSizes) {
  const bytes a = bytes::copy_from_slice("hello world");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)a.slice(5, 44); },
      kyoto::test::whole_message("kyoto::bytes::slice: 44 > len 11"));
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)a.slice(44, 49); },
      kyoto::test::whole_message("kyoto::bytes::slice: 49 > len 11"));
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)a.slice(5, 3); }, kyoto::test::whole_message("kyoto::bytes::slice: 5 > end 3"));
}

// upstream: split_off
TEST(Bytes, SplitOffKeepsTheFrontAndReturnsTheBack) {
  bytes hello = bytes::copy_from_slice("helloworld");
  const bytes world = hello.split_off(5);
  EXPECT_EQ(hello, "hello");
  EXPECT_EQ(world, "world");
}

// upstream: split_off_oob
TEST(Bytes, SplitOffPastTheEndThrows) {
  bytes hello = bytes::copy_from_slice("helloworld");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)hello.split_off(44); },
      kyoto::test::whole_message("kyoto::bytes::split_off: 44 > len 10"));
  EXPECT_EQ(hello, "helloworld");
}

// upstream: split_off_to_loop (Bytes half)
TEST(Bytes, SplitAtEveryPositionLosesNothing) {
  const std::string_view s = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (std::size_t i = 0; i <= s.size(); ++i) {
    {
      bytes b = bytes::copy_from_slice(s);
      const bytes off = b.split_off(i);
      EXPECT_EQ(b.size(), i);
      EXPECT_EQ(std::string(b.as_string_view()) + std::string(off.as_string_view()), s);
    }
    {
      bytes b = bytes::copy_from_slice(s);
      const bytes off = b.split_to(i);
      EXPECT_EQ(off.size(), i);
      EXPECT_EQ(std::string(off.as_string_view()) + std::string(b.as_string_view()), s);
    }
  }
}

// upstream: split_to_1
TEST(Bytes, SplitToReturnsTheFrontOfStaticAndAllocatedBytes) {
  bytes a = bytes::from_static(short_text);
  bytes b = a.split_to(4);
  EXPECT_EQ(a, short_text.substr(4));
  EXPECT_EQ(b, short_text.substr(0, 4));

  a = bytes::copy_from_slice(long_text);
  b = a.split_to(4);
  EXPECT_EQ(a, long_text.substr(4));
  EXPECT_EQ(b, long_text.substr(0, 4));

  a = bytes::copy_from_slice(long_text);
  b = a.split_to(30);
  EXPECT_EQ(a, long_text.substr(30));
  EXPECT_EQ(b, long_text.substr(0, 30));
}

// upstream: split_to_2
TEST(Bytes, SplitToOneByteThenDropTheFront) {
  bytes a = bytes::copy_from_slice(long_text);
  EXPECT_EQ(a, long_text);
  {
    const bytes b = a.split_to(1);
    EXPECT_EQ(b, "m");
  }
  EXPECT_EQ(a, long_text.substr(1));
}

// upstream: split_to_oob
TEST(Bytes, SplitToPastTheEndThrows) {
  bytes hello = bytes::copy_from_slice("helloworld");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { (void)hello.split_to(33); },
      kyoto::test::whole_message("kyoto::bytes::split_to: 33 > len 10"));
}

// upstream: split_off_to_at_gt_len
TEST(Bytes, SplitOfFrozenBytesChecksItsLengthNotTheCapacity) {
  const auto make = [] {
    bytes_mut m = bytes_mut::with_capacity(100);
    m.put_slice(std::as_bytes(std::span("\x0a\x14\x1e\x28", 4)));
    return std::move(m).freeze();
  };
  EXPECT_NO_THROW((void)make().split_to(4));
  EXPECT_NO_THROW((void)make().split_off(4));
  EXPECT_THROW((void)make().split_to(5), std::out_of_range);
  EXPECT_THROW((void)make().split_off(5), std::out_of_range);
}

// upstream: truncate
TEST(Bytes, TruncateKeepsAPrefixAndIgnoresLongerLengths) {
  bytes hello = bytes::copy_from_slice("helloworld");
  hello.truncate(15);
  EXPECT_EQ(hello, "helloworld");
  hello.truncate(10);
  EXPECT_EQ(hello, "helloworld");
  hello.truncate(5);
  EXPECT_EQ(hello, "hello");
}

// Not upstream: clear drops the view.
TEST(Bytes, ClearEmptiesIt) {
  bytes b = bytes::copy_from_slice("abc");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b, "");
}

// upstream: from_static
TEST(Bytes, FromStaticSplitsLikeAnyOther) {
  bytes a = bytes::from_static("ab");
  const bytes b = a.split_off(1);
  EXPECT_EQ(a, "a");
  EXPECT_EQ(b, "b");
}

// Not upstream: from_static views the static data itself (no allocation,
// no count), and copies of it do too.
TEST(Bytes, FromStaticViewsTheDataWithoutCopying) {
  static constexpr char text[] = "static text";
  const bytes a = bytes::from_static(text);
  EXPECT_EQ(static_cast<const void*>(a.data()), static_cast<const void*>(text));
  EXPECT_EQ(a.size(), sizeof text - 1);
  const bytes b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(b.data(), a.data());
  EXPECT_EQ(a.slice(7).data(), a.data() + 7);
}

// upstream: advance_static
TEST(Bytes, AdvanceStatic) {
  bytes a = bytes::from_static("hello world");
  a.advance(6);
  EXPECT_EQ(a, "world");
}

// upstream: advance_vec
TEST(Bytes, AdvanceOwnedVector) {
  bytes a(to_vec("hello world boooo yah world zomg wat wat"));
  a.advance(16);
  EXPECT_EQ(a, "o yah world zomg wat wat");
  a.advance(4);
  EXPECT_EQ(a, "h world zomg wat wat");
  a.advance(6);
  EXPECT_EQ(a, "d zomg wat wat");
}

// upstream: advance_past_len (for BytesMut there; same contract here)
TEST(Bytes, AdvancePastTheEndThrows) {
  bytes a = bytes::from_static("hello world");
  kyoto::test::expect_throws<std::out_of_range>(
      [&] { a.advance(20); }, kyoto::test::whole_message("kyoto::bytes::advance: 20 > len 11"));
  EXPECT_EQ(a, "hello world");
}

// Not upstream (the crate's From<Vec<u8>> / From<String>): ownership is
// taken without copying the bytes.
TEST(Bytes, FromStringAndVectorTakeTheBufferWithoutCopying) {
  std::string s(100, 'x');
  // The address only (an integer: the analyzer takes a kept pointer for a use).
  const auto sp = reinterpret_cast<std::uintptr_t>(s.data());
  const bytes a(std::move(s));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()), sp);
  EXPECT_EQ(a, std::string(100, 'x'));

  std::vector<std::byte> v = to_vec(long_text);
  const std::byte* const vp = v.data();
  const bytes b(std::move(v));
  EXPECT_EQ(b.data(), vp);
  EXPECT_EQ(b, long_text);
}

// upstream: bytes_with_capacity_but_empty, box_slice_empty
TEST(Bytes, FromEmptyOwnersIsEmpty) {
  std::vector<std::byte> v;
  v.reserve(1);
  EXPECT_TRUE(bytes(std::move(v)).empty());
  EXPECT_TRUE(bytes(std::string()).empty());
}

// Not upstream: copy shares (the crate's clone()).
TEST(Bytes, CopySharesTheBuffer) {
  const bytes a = bytes::copy_from_slice(long_text);
  bytes b = a;
  EXPECT_EQ(b.data(), a.data());
  b.advance(5);
  EXPECT_EQ(a, long_text);
  EXPECT_EQ(b, long_text.substr(5));
}

// upstream: partial_eq_bytesmut
TEST(Bytes, ComparesWithBytesMut) {
  const bytes b = bytes::copy_from_slice("The quick red fox");
  const bytes_mut m("The quick red fox");
  EXPECT_TRUE(b == m);
  EXPECT_TRUE(m == b);
  const bytes b2 = bytes::copy_from_slice("Jumped over the lazy brown dog");
  EXPECT_TRUE(b2 != m);
  EXPECT_TRUE(m != b2);
}

// Not upstream (the crate's Ord): lexicographic, bytes unsigned.
TEST(Bytes, OrdersLexicographicallyAsUnsigned) {
  EXPECT_LT(bytes::from_static("abc"), bytes::from_static("abd"));
  EXPECT_LT(bytes::from_static("ab"), bytes::from_static("abc"));
  EXPECT_GT(bytes::from_static("\xff"), bytes::from_static("\x01"));
  EXPECT_LT(bytes(), "a");
  EXPECT_EQ(bytes::from_static("abc") <=> std::string_view("abc"), std::strong_ordering::equal);
}

// Not upstream: std::hash hashes the contents.
TEST(Bytes, HashesByContents) {
  std::unordered_set<bytes> set;
  set.insert(bytes::copy_from_slice("key"));
  EXPECT_EQ(set.count(bytes::from_static("key")), 1u);
  EXPECT_EQ(set.count(bytes::from_static("other")), 0u);
}

// upstream: slice_ref_works
TEST(Bytes, SliceRefViewsASubspanOfItself) {
  const bytes b = bytes::copy_from_slice("012345678");
  const auto check = [&](std::size_t begin, std::size_t end, std::string_view expected) {
    const bytes sub = b.slice_ref(b.as_span().subspan(begin, end - begin));
    EXPECT_EQ(sub, expected);
    if (!sub.empty()) {
      EXPECT_EQ(sub.data(), b.data() + begin);
    }
  };
  check(0, 0, "");
  check(0, 3, "012");
  check(2, 6, "2345");
  check(7, 9, "78");
  check(9, 9, "");
}

// upstream: slice_ref_empty, slice_ref_empty_subslice, slice_ref_not_an_empty_subset,
// empty_slice_ref_not_an_empty_subset
TEST(Bytes, SliceRefOfAnEmptySpanIsEmpty) {
  const bytes empty = bytes::copy_from_slice("");
  EXPECT_EQ(empty.slice_ref(empty.as_span()), bytes());
  const bytes b = bytes::copy_from_slice("abcde");
  EXPECT_EQ(b.slice_ref(b.slice(0, 0).as_span()), bytes());
  static constexpr char other[] = "some other slice";
  EXPECT_EQ(b.slice_ref(std::as_bytes(std::span(other, 0))), bytes());
  EXPECT_EQ(bytes().slice_ref(std::as_bytes(std::span(other, 0))), bytes());
}

// upstream: slice_ref_catches_not_a_subset
TEST(Bytes, SliceRefOfForeignBytesThrows) {
  const bytes b = bytes::copy_from_slice("012345678");
  static constexpr char other[] = "012345";
  EXPECT_THROW((void)b.slice_ref(std::as_bytes(std::span(other, 4))), std::out_of_range);
  EXPECT_THROW((void)b.slice_ref(b.as_span().subspan(5, 4)).slice_ref(b.as_span()),
               std::out_of_range);
}

// upstream: test_iter.rs iter_len, empty_iter_len
TEST(Bytes, IteratesOverItsBytes) {
  const bytes b = bytes::from_static("hello world");
  EXPECT_EQ(std::distance(b.begin(), b.end()), 11);
  std::string out;
  for (const std::byte c : b)
    out += static_cast<char>(c);
  EXPECT_EQ(out, "hello world");
  const bytes e = bytes::from_static("");
  EXPECT_EQ(e.begin(), e.end());
  static_assert(std::ranges::contiguous_range<bytes>);
}

// Not upstream: a bytes converts to the views the rest of kyoto takes.
TEST(Bytes, ConvertsToSpanAndStringView) {
  const bytes b = bytes::from_static("abc");
  const std::span<const std::byte> s = b;
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(static_cast<std::string_view>(b), "abc");
  EXPECT_EQ(b.as_string_view(), "abc");
}

}  // namespace
