// Bad input: every malformed frame closes that connection, without a
// reply, without harm to other connections, and without the server
// buffering more than its frame limit (docs/mini_redis.md, "Limits").
#include "frame.hpp"
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using kyoto::net::socket_addr;
using kyoto::net::tcp_stream;
using mini_redis_test::closes_within;
using mini_redis_test::read_n;
using mini_redis_test::start_server;

namespace {

// Sends `input` on a fresh connection; true if the server closes it with
// nothing written back. Then checks another connection is still served.
kyoto::task<bool> closes_without_reply(socket_addr addr, std::string input) {
  tcp_stream bad = co_await tcp_stream::connect(addr);
  co_await bad.write_all(std::string_view(input));
  std::string got;
  const bool closed = co_await closes_within(bad, 10s, &got);
  EXPECT_EQ(got, "") << input;

  tcp_stream good = co_await tcp_stream::connect(addr);
  co_await good.write_all(std::string_view("*1\r\n$4\r\nPING\r\n"));
  EXPECT_EQ(co_await read_n(good, 7), "+PONG\r\n");
  co_return closed;
}

std::string nested(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i)
    s += "*1\r\n";
  return s + ":1\r\n";
}

}  // namespace

KYOTO_TEST(MiniRedisBadInput, WrongTypeByteClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, "PING\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n?x\r\n"));
}

KYOTO_TEST(MiniRedisBadInput, BadLengthClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n$abc\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n$-2\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*-1\r\n"));
}

KYOTO_TEST(MiniRedisBadInput, OverflowingLengthClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n$18446744073709551616\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n$18446744073709551615\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*99999999999999999999999\r\n"));
}

KYOTO_TEST(MiniRedisBadInput, BulkStringWithoutItsCrlfClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n$4\r\nPINGxx"));
}

KYOTO_TEST(MiniRedisBadInput, BulkLengthPastTheLimitClosesTheConnectionAtOnce) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(
      addr, std::string("*1\r\n$") + std::to_string(mini_redis::max_frame_size + 1) + "\r\n"));
}

KYOTO_TEST(MiniRedisBadInput, ArrayNestedPastTheLimitClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, nested(mini_redis::max_depth + 1)));
  EXPECT_TRUE(co_await closes_without_reply(addr, nested(100'000)));
}

KYOTO_TEST(MiniRedisBadInput, CommandThatIsNotAnArrayClosesTheConnection) {
  const auto addr = co_await start_server();
  EXPECT_TRUE(co_await closes_without_reply(addr, "+PING\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, ":1\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*1\r\n:1\r\n"));
  EXPECT_TRUE(co_await closes_without_reply(addr, "*2\r\n$3\r\nGET\r\n$2\r\n\xff\xfe\r\n"));
}

KYOTO_TEST(MiniRedisBadInput, BinaryGarbageClosesTheConnection) {
  const auto addr = co_await start_server();
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::string garbage(256, '\0');
    for (char& c : garbage)
      c = static_cast<char>(rng());
    // A leading byte that is no frame type, so the garbage cannot be an
    // incomplete frame the server rightly waits on.
    garbage[0] = '\x01';
    EXPECT_TRUE(co_await closes_without_reply(addr, garbage)) << round;
  }
}

// A line that never ends: the server stops buffering at the frame limit
// and closes, rather than growing without bound.
KYOTO_TEST(MiniRedisBadInput, EndlessLineClosesTheConnectionAtTheLimit) {
  const auto addr = co_await start_server();
  tcp_stream bad = co_await tcp_stream::connect(addr);
  const std::string chunk(1 << 20, 'a');
  co_await bad.write_all(std::string_view("+"));
  std::size_t sent = 0;
  bool write_failed = false;
  try {
    while (sent < 2 * mini_redis::max_frame_size) {
      co_await bad.write_all(std::string_view(chunk));
      sent += chunk.size();
    }
  } catch (const std::system_error&) {
    write_failed = true;  // reset by the server: it closed
  }
  if (!write_failed) {
    EXPECT_TRUE(co_await closes_within(bad, 10s));
  }
  EXPECT_LE(sent, 2 * mini_redis::max_frame_size);
  // The server is still there.
  tcp_stream good = co_await tcp_stream::connect(addr);
  co_await good.write_all(std::string_view("*1\r\n$4\r\nPING\r\n"));
  EXPECT_EQ(co_await read_n(good, 7), "+PONG\r\n");
}

// A connection closed mid-frame is an error of that connection only.
KYOTO_TEST(MiniRedisBadInput, PeerClosingMidFrameHarmsNoOtherConnection) {
  const auto addr = co_await start_server();
  tcp_stream other = co_await tcp_stream::connect(addr);
  {
    tcp_stream half = co_await tcp_stream::connect(addr);
    co_await half.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhel"));
  }
  co_await other.write_all(std::string_view("*1\r\n$4\r\nPING\r\n"));
  EXPECT_EQ(co_await read_n(other, 7), "+PONG\r\n");
}
