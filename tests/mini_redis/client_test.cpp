// upstream tests/client.rs ported: the async client against a server
// started in-process; and the blocking client.
#include "clients/client.hpp"

#include "clients/blocking_client.hpp"
#include "error.hpp"
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using mini_redis::clients::client;
using mini_redis_test::start_server;

// upstream: ping_pong_without_message.
KYOTO_TEST(MiniRedisClient, PingPongWithoutMessage) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  const kyoto::bytes pong = co_await c.ping();
  EXPECT_EQ(pong.as_string_view(), "PONG");
}

// upstream: ping_pong_with_message.
KYOTO_TEST(MiniRedisClient, PingPongWithMessage) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  const kyoto::bytes pong = co_await c.ping(kyoto::bytes::copy_from_slice("你好世界"));
  EXPECT_EQ(pong.as_string_view(), "你好世界");
}

// upstream: key_value_get_set.
KYOTO_TEST(MiniRedisClient, KeyValueGetSet) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  co_await c.set("hello", kyoto::bytes::copy_from_slice("world"));
  const std::optional<kyoto::bytes> value = co_await c.get("hello");
  KYOTO_ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->as_string_view(), "world");
}

// upstream: receive_message_subscribed_channel.
KYOTO_TEST(MiniRedisClient, ReceiveMessageSubscribedChannel) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  std::vector<std::string> channels{"hello"};
  auto subscriber = co_await std::move(c).subscribe(channels);

  kyoto::spawn(
      [](std::string a) -> kyoto::task<> {
        client p = co_await client::connect(a);
        (void)co_await p.publish("hello", kyoto::bytes::copy_from_slice("world"));
      },
      addr.to_string());

  const auto message = co_await subscriber.next_message();
  KYOTO_ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->channel, "hello");
  EXPECT_EQ(message->content.as_string_view(), "world");
}

// upstream: receive_message_multiple_subscribed_channels.
KYOTO_TEST(MiniRedisClient, ReceiveMessageMultipleSubscribedChannels) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  std::vector<std::string> channels{"hello", "world"};
  auto subscriber = co_await std::move(c).subscribe(channels);

  auto publish = [](std::string a, std::string channel, std::string msg) -> kyoto::task<> {
    client p = co_await client::connect(a);
    (void)co_await p.publish(channel, kyoto::bytes(std::move(msg)));
  };
  kyoto::spawn(publish, addr.to_string(), std::string("hello"), std::string("world"));
  const auto message1 = co_await subscriber.next_message();
  KYOTO_ASSERT_TRUE(message1.has_value());
  EXPECT_EQ(message1->channel, "hello");
  EXPECT_EQ(message1->content.as_string_view(), "world");

  kyoto::spawn(publish, addr.to_string(), std::string("world"), std::string("howdy?"));
  const auto message2 = co_await subscriber.next_message();
  KYOTO_ASSERT_TRUE(message2.has_value());
  EXPECT_EQ(message2->channel, "world");
  EXPECT_EQ(message2->content.as_string_view(), "howdy?");
}

// upstream: unsubscribes_from_channels.
KYOTO_TEST(MiniRedisClient, UnsubscribesFromChannels) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  std::vector<std::string> channels{"hello", "world"};
  auto subscriber = co_await std::move(c).subscribe(channels);
  const std::vector<std::string> all;
  co_await subscriber.unsubscribe(all);
  EXPECT_EQ(subscriber.get_subscribed().size(), 0u);
}

// Beyond upstream: a value set with an expiry is there at once.
KYOTO_TEST(MiniRedisClient, SetExpiresKeepsTheValueUntilItExpires) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  co_await c.set_expires("k", kyoto::bytes::copy_from_slice("v"), std::chrono::hours(1));
  const auto value = co_await c.get("k");
  KYOTO_ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->as_string_view(), "v");
}

// Beyond upstream: the subscriber as a stream, and a later subscribe.
KYOTO_TEST(MiniRedisClient, SubscriberIntoStreamYieldsMessages) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  std::vector<std::string> channels{"a"};
  auto subscriber = co_await std::move(c).subscribe(channels);
  const std::vector<std::string> more{"b"};
  co_await subscriber.subscribe(more);
  EXPECT_EQ(subscriber.get_subscribed(), (std::vector<std::string>{"a", "b"}));
  auto messages = std::move(subscriber).into_stream();

  client p = co_await client::connect(addr.to_string());
  EXPECT_EQ(co_await p.publish("b", kyoto::bytes::copy_from_slice("1")), 1u);
  EXPECT_EQ(co_await p.publish("a", kyoto::bytes::copy_from_slice("2")), 1u);
  const auto m1 = co_await messages.next();
  const auto m2 = co_await messages.next();
  KYOTO_ASSERT_TRUE(m1.has_value() && m2.has_value());
  EXPECT_EQ(m1->channel + m1->content.as_string_view().data()[0], "b1");
  EXPECT_EQ(m2->channel + m2->content.as_string_view().data()[0], "a2");
}

// Beyond upstream: an error reply is thrown with its text, a reply of the
// wrong type as "unexpected frame", a close as "connection reset by server".
KYOTO_TEST(MiniRedisClient, ErrorAndUnexpectedRepliesAreThrown) {
  kyoto::net::tcp_listener fake = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
  const std::string addr = fake.local_addr().to_string();
  // A fake server: answers its first request with an error, the second with
  // an integer, then closes.
  auto server = kyoto::spawn(
      [](kyoto::net::tcp_listener l) -> kyoto::task<> {
        auto [s, peer] = co_await l.accept();
        std::array<std::byte, 256> buf{};
        (void)co_await s.read(buf);
        co_await s.write_all(std::string_view("-ERR boom\r\n"));
        (void)co_await s.read(buf);
        co_await s.write_all(std::string_view(":7\r\n"));
        (void)co_await s.read(buf);
      },
      std::move(fake));
  client c = co_await client::connect(addr);
  std::string first, second, third;
  try {
    (void)co_await c.get("k");
  } catch (const mini_redis::error& e) {
    first = e.what();
  }
  try {
    (void)co_await c.get("k");
  } catch (const mini_redis::error& e) {
    second = e.what();
  }
  try {
    (void)co_await c.ping();
  } catch (const mini_redis::error& e) {
    third = e.what();
  }
  EXPECT_EQ(first, "ERR boom");
  EXPECT_EQ(second, "unexpected frame: 7");
  EXPECT_EQ(third, "connection reset by server");
  co_await server;
}

// The blocking client (upstream's BlockingClient has no test of its own):
// a server on a runtime in another thread, the client on this one.
TEST(MiniRedisBlockingClient, GetSetPublishSubscribe) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(1).build();
  const auto addr = rt.block_on(start_server());

  auto c = mini_redis::clients::blocking_client::connect(addr.to_string());
  EXPECT_EQ(c.ping().as_string_view(), "PONG");
  EXPECT_FALSE(c.get("k").has_value());
  c.set("k", kyoto::bytes::copy_from_slice("v"));
  EXPECT_EQ(c.get("k")->as_string_view(), "v");
  c.set_expires("e", kyoto::bytes::copy_from_slice("w"), std::chrono::hours(1));
  EXPECT_EQ(c.get("e")->as_string_view(), "w");
  EXPECT_EQ(c.publish("ch", kyoto::bytes::copy_from_slice("x")), 0u);

  auto sub = std::move(c).subscribe({"ch"});
  EXPECT_EQ(sub.get_subscribed(), std::vector<std::string>{"ch"});
  auto p = mini_redis::clients::blocking_client::connect(addr.to_string());
  EXPECT_EQ(p.publish("ch", kyoto::bytes::copy_from_slice("hi")), 1u);
  const auto m = sub.next_message();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->channel, "ch");
  EXPECT_EQ(m->content.as_string_view(), "hi");
  sub.unsubscribe({});
  EXPECT_TRUE(sub.get_subscribed().empty());
}
