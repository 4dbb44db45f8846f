// upstream tests/server.rs ported: a server started in-process, raw RESP
// on a TCP socket, replies checked byte for byte.
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

using namespace std::chrono_literals;
using kyoto::net::tcp_stream;
using mini_redis_test::read_n;
using mini_redis_test::start_server;

namespace {

// Asserts that nothing arrives on `s` for 100 ms (upstream's
// `time::timeout(100ms, read).await.unwrap_err()`).
kyoto::task<bool> nothing_within_100ms(tcp_stream& s) {
  std::array<std::byte, 1> buf{};
  auto r = co_await kyoto::time::timeout(100ms, s.read(buf));
  co_return !r.has_value();
}

}  // namespace

// upstream: key_value_get_set.
KYOTO_TEST(MiniRedisServer, KeyValueGetSet) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);

  // Get a key, data is missing.
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5), "$-1\r\n");

  // Set a key.
  co_await stream.write_all(std::string_view("*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");

  // Get the key, data is present; then shut the write half down.
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"));
  co_await stream.shutdown();
  EXPECT_EQ(co_await read_n(stream, 11), "$5\r\nworld\r\n");

  // The server closes its side too.
  std::array<std::byte, 11> buf{};
  EXPECT_EQ(co_await stream.read(buf), 0u);
}

// upstream: key_value_timeout. As upstream, on a current-thread runtime with
// time paused: advancing the clock by a second expires the key.
KYOTO_TEST_WITH(MiniRedisServer, KeyValueTimeout,
                kyoto::runtime::builder::current_thread().start_paused(true)) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);

  // Set a key with an expiry of one second.
  co_await stream.write_all(
      std::string_view("*5\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n+EX\r\n:1\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");

  // Get the key, data is present.
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 11), "$5\r\nworld\r\n");

  // Wait for the key to expire.
  co_await kyoto::time::advance(1s);

  // Get the key, data is missing.
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5), "$-1\r\n");
}

// upstream: pub_sub.
KYOTO_TEST(MiniRedisServer, PubSub) {
  const auto addr = co_await start_server();
  tcp_stream publisher = co_await tcp_stream::connect(addr);

  // No subscriber yet.
  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":0\r\n");

  // A subscriber to `hello`.
  tcp_stream sub1 = co_await tcp_stream::connect(addr);
  co_await sub1.write_all(std::string_view("*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(sub1, 34), "*3\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n:1\r\n");

  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":1\r\n");
  EXPECT_EQ(co_await read_n(sub1, 39), "*3\r\n$7\r\nmessage\r\n$5\r\nhello\r\n$5\r\nworld\r\n");

  // A second subscriber, to `hello` and `foo`.
  tcp_stream sub2 = co_await tcp_stream::connect(addr);
  co_await sub2.write_all(
      std::string_view("*3\r\n$9\r\nSUBSCRIBE\r\n$5\r\nhello\r\n$3\r\nfoo\r\n"));
  EXPECT_EQ(co_await read_n(sub2, 34), "*3\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n:1\r\n");
  EXPECT_EQ(co_await read_n(sub2, 32), "*3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:2\r\n");

  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$5\r\nhello\r\n$5\r\njazzy\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":2\r\n");
  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":1\r\n");

  EXPECT_EQ(co_await read_n(sub1, 39), "*3\r\n$7\r\nmessage\r\n$5\r\nhello\r\n$5\r\njazzy\r\n");
  EXPECT_EQ(co_await read_n(sub2, 39), "*3\r\n$7\r\nmessage\r\n$5\r\nhello\r\n$5\r\njazzy\r\n");
  // The first subscriber did not receive the `foo` message...
  EXPECT_TRUE(co_await nothing_within_100ms(sub1));
  // ...the second did.
  EXPECT_EQ(co_await read_n(sub2, 35), "*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n");
}

// upstream: manage_subscription.
KYOTO_TEST(MiniRedisServer, ManageSubscription) {
  const auto addr = co_await start_server();
  tcp_stream publisher = co_await tcp_stream::connect(addr);
  tcp_stream sub = co_await tcp_stream::connect(addr);

  co_await sub.write_all(std::string_view("*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(sub, 34), "*3\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n:1\r\n");

  // Add `foo`.
  co_await sub.write_all(std::string_view("*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nfoo\r\n"));
  EXPECT_EQ(co_await read_n(sub, 32), "*3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:2\r\n");

  // Remove `hello`.
  co_await sub.write_all(std::string_view("*2\r\n$11\r\nUNSUBSCRIBE\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(sub, 37), "*3\r\n$11\r\nunsubscribe\r\n$5\r\nhello\r\n:1\r\n");

  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":0\r\n");
  co_await publisher.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"));
  EXPECT_EQ(co_await read_n(publisher, 4), ":1\r\n");

  EXPECT_EQ(co_await read_n(sub, 35), "*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n");
  EXPECT_TRUE(co_await nothing_within_100ms(sub));

  // Unsubscribe from all.
  co_await sub.write_all(std::string_view("*1\r\n$11\r\nunsubscribe\r\n"));
  EXPECT_EQ(co_await read_n(sub, 35), "*3\r\n$11\r\nunsubscribe\r\n$3\r\nfoo\r\n:0\r\n");
}

// upstream: send_error_unknown_command.
KYOTO_TEST(MiniRedisServer, SendErrorUnknownCommand) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nFOO\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 28), "-ERR unknown command 'foo'\r\n");
}

// upstream: send_error_get_set_after_subscribe.
KYOTO_TEST(MiniRedisServer, SendErrorGetSetAfterSubscribe) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(std::string_view("*2\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 34), "*3\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n:1\r\n");

  co_await stream.write_all(std::string_view("*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(stream, 28), "-ERR unknown command 'set'\r\n");
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 28), "-ERR unknown command 'get'\r\n");
}

// upstream: send_error_publish_after_subscribe.
KYOTO_TEST(MiniRedisServer, SendErrorPublishAfterSubscribe) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(std::string_view("*2\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n"));
  EXPECT_EQ(co_await read_n(stream, 34), "*3\r\n$9\r\nsubscribe\r\n$5\r\nhello\r\n:1\r\n");

  co_await stream.write_all(
      std::string_view("*3\r\n$7\r\nPUBLISH\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
  EXPECT_EQ(co_await read_n(stream, 32), "-ERR unknown command 'publish'\r\n");
}

// Beyond upstream: pipelined commands are all answered, in order, and the
// replies arrive together (one flush).
KYOTO_TEST(MiniRedisServer, PipelinedCommandsAreAnsweredInOrder) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(std::string_view(
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"
      "*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n*2\r\n$3\r\nGET\r\n$1\r\nz\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5 + 7 + 7 + 28 + 5),
            "+OK\r\n$1\r\nv\r\n+PONG\r\n-ERR unknown command 'foo'\r\n$-1\r\n");
}

// Beyond upstream: a frame split across many writes is read whole.
KYOTO_TEST(MiniRedisServer, FrameSplitAcrossWritesIsReadWhole) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  const std::string_view frame = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
  for (const char c : frame) {
    co_await stream.write_all(std::string_view(&c, 1));
  }
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");
}

// Beyond upstream: a value larger than the read and write buffers.
KYOTO_TEST(MiniRedisServer, LargeValueRoundTrips) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  std::string value(1 << 20, 'x');
  for (std::size_t i = 0; i < value.size(); i += 997)
    value[i] = static_cast<char>('a' + i % 26);
  const std::string set = std::string("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$") +
                          std::to_string(value.size()) + "\r\n" + value + "\r\n";
  co_await stream.write_all(std::string_view(set));
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"));
  const std::string expected =
      std::string("$") + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  EXPECT_EQ(co_await read_n(stream, expected.size()), expected);
}

// The connection limit (upstream's MAX_CONNECTIONS, here a parameter): a
// connection past it waits, unserved, until one closes.
KYOTO_TEST(MiniRedisServer, ConnectionPastTheLimitWaitsUntilOneCloses) {
  const auto addr = co_await start_server(1);
  std::optional<tcp_stream> first(co_await tcp_stream::connect(addr));
  co_await first->write_all(std::string_view("*1\r\n$4\r\nPING\r\n"));
  EXPECT_EQ(co_await read_n(*first, 7), "+PONG\r\n");

  tcp_stream second = co_await tcp_stream::connect(addr);  // queued in the backlog
  co_await second.write_all(std::string_view("*1\r\n$4\r\nPING\r\n"));
  EXPECT_TRUE(co_await nothing_within_100ms(second));

  first.reset();  // frees the permit
  auto reply = co_await kyoto::time::timeout(10s, read_n(second, 7));
  KYOTO_ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "+PONG\r\n");
}
