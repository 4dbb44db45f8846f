// upstream tests/frame_validation.rs ported, and the frame parser's limits:
// check() tells a whole frame, an incomplete one and an invalid one apart.
#include "frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using mini_redis::cursor;
using mini_redis::frame;

namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// check() on `s`: "ok", "incomplete", or the error message.
std::string check(std::string_view s) {
  cursor c(as_bytes(s));
  auto r = frame::check(c);
  if (r) return "ok";
  if (r.error().incomplete) return "incomplete";
  return r.error().message;
}

frame parse(std::string_view s) {
  cursor c(as_bytes(s));
  auto checked = frame::check(c);
  EXPECT_TRUE(checked.has_value()) << s;
  c.set_position(0);
  return frame::parse(c).value();
}

constexpr std::string_view invalid_format = "protocol error; invalid frame format";

}  // namespace

// upstream: check_rejects_invalid_negative_bulk_length.
TEST(MiniRedisFrame, CheckRejectsInvalidNegativeBulkLength) {
  EXPECT_EQ(check("$-1\r\n"), "ok");
  EXPECT_EQ(check("$-2\r\n"), invalid_format);
}

TEST(MiniRedisFrame, CheckAcceptsEachFrameTypeAndLeavesTheCursorAfterIt) {
  for (std::string_view s : {"+OK\r\n", "-ERR x\r\n", ":42\r\n", "$5\r\nhello\r\n", "$-1\r\n",
                             "*2\r\n$3\r\nGET\r\n:1\r\n", "*0\r\n", "$0\r\n\r\n"}) {
    const std::string with_tail = std::string(s) + "+next\r\n";
    cursor c(as_bytes(with_tail));
    EXPECT_TRUE(frame::check(c).has_value()) << s;
    EXPECT_EQ(c.position(), s.size()) << s;
  }
}

TEST(MiniRedisFrame, CheckSaysIncompleteForEveryPrefixOfAFrame) {
  const std::string_view whole = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n:7\r\n";
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_EQ(check(whole.substr(0, n)), "incomplete") << n;
  }
  EXPECT_EQ(check(whole), "ok");
}

TEST(MiniRedisFrame, ParseBuildsTheFrame) {
  const frame f = parse("*4\r\n$3\r\nSET\r\n+k\r\n:12\r\n$-1\r\n");
  const auto& a = std::get<frame::array>(f.get()).value;
  ASSERT_EQ(a.size(), 4u);
  EXPECT_TRUE(a[0] == "SET");
  EXPECT_TRUE(a[1].is<frame::simple>());
  EXPECT_EQ(std::get<frame::integer>(a[2].get()).value, 12u);
  EXPECT_TRUE(a[3].is<frame::null>());
  EXPECT_EQ(f.to_string(), "SET k 12 (nil)");
}

TEST(MiniRedisFrame, WrongTypeByteIsInvalidWithUpstreamsMessage) {
  EXPECT_EQ(check("PING\r\n"), "protocol error; invalid frame type byte `80`");
  EXPECT_EQ(check(std::string_view("\0", 1)), "protocol error; invalid frame type byte `0`");
  EXPECT_EQ(check("*1\r\n?x\r\n"), "protocol error; invalid frame type byte `63`");
}

TEST(MiniRedisFrame, BadLengthIsInvalid) {
  EXPECT_EQ(check("$abc\r\n"), invalid_format);
  EXPECT_EQ(check("*x\r\n"), invalid_format);
  EXPECT_EQ(check("*-1\r\n"), invalid_format);
  EXPECT_EQ(check(":-5\r\n"), invalid_format);
  EXPECT_EQ(check("$\r\n"), invalid_format);
}

TEST(MiniRedisFrame, OverflowingLengthIsInvalid) {
  EXPECT_EQ(check("$18446744073709551616\r\n"), invalid_format);  // 2^64
  EXPECT_EQ(check("*99999999999999999999999\r\n"), invalid_format);
  EXPECT_EQ(check(":18446744073709551616\r\n"), invalid_format);
  // Fits in 64 bits but not in the limit: invalid at once, not incomplete.
  EXPECT_EQ(check("$18446744073709551615\r\n"), "protocol error; frame too large");
}

TEST(MiniRedisFrame, BulkLengthPastTheLimitIsInvalidAtOnce) {
  const std::string at_limit =
      std::string("$") + std::to_string(mini_redis::max_frame_size) + "\r\n";
  EXPECT_EQ(check(at_limit), "incomplete");
  const std::string past =
      std::string("$") + std::to_string(mini_redis::max_frame_size + 1) + "\r\n";
  EXPECT_EQ(check(past), "protocol error; frame too large");
}

TEST(MiniRedisFrame, BulkStringWithoutItsCrlfIsInvalid) {
  EXPECT_EQ(check("$4\r\nPINGxx"), invalid_format);
  EXPECT_EQ(check("*1\r\n$4\r\nPING\n\r"), invalid_format);
  EXPECT_EQ(check("$4\r\nPING"), "incomplete");
}

TEST(MiniRedisFrame, ArraysNestedPastTheLimitAreInvalid) {
  std::string ok, deep;
  for (std::size_t i = 0; i < mini_redis::max_depth; ++i)
    ok += "*1\r\n";
  ok += ":1\r\n";
  EXPECT_EQ(check(ok), "ok");
  for (std::size_t i = 0; i <= mini_redis::max_depth; ++i)
    deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_EQ(check(deep), "protocol error; frame nested too deeply");
  // Deep enough to overflow the stack without the limit: still just invalid.
  std::string very_deep;
  for (int i = 0; i < 1'000'000; ++i)
    very_deep += "*1\r\n";
  EXPECT_EQ(check(very_deep), "protocol error; frame nested too deeply");
}

TEST(MiniRedisFrame, InvalidUtf8InASimpleStringFailsParse) {
  cursor c(as_bytes("+\xff\xfe\r\n"));
  EXPECT_TRUE(frame::check(c).has_value());  // check() does not look at the text
  c.set_position(0);
  auto r = frame::parse(c);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, invalid_format);
}

TEST(MiniRedisFrame, HugeArrayCountWithFewBytesIsIncomplete) {
  EXPECT_EQ(check("*4294967295\r\n:1\r\n"), "incomplete");
}

TEST(MiniRedisFrame, AtoiReadsTheLeadingDigitsAsTheCrateDoes) {
  auto n = [](std::string_view s) {
    return mini_redis::atoi_u64(as_bytes(s));
  };
  EXPECT_EQ(n("42"), 42u);
  EXPECT_EQ(n("10abc"), 10u);
  EXPECT_EQ(n("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(n("18446744073709551616"), std::nullopt);
  EXPECT_EQ(n(""), std::nullopt);
  EXPECT_EQ(n("soon"), std::nullopt);
  EXPECT_EQ(n("-1"), std::nullopt);
}
