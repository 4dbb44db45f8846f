// upstream tests/buffered_client.rs ported.
#include "clients/buffered_client.hpp"

#include "clients/client.hpp"
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using mini_redis::clients::buffered_client;
using mini_redis::clients::client;
using mini_redis_test::start_server;

// upstream: pool_key_value_get_set.
KYOTO_TEST(MiniRedisBufferedClient, PoolKeyValueGetSet) {
  const auto addr = co_await start_server();
  client c = co_await client::connect(addr.to_string());
  buffered_client bc = buffered_client::buffer(std::move(c));
  co_await bc.set("hello", kyoto::bytes::copy_from_slice("world"));
  const auto value = co_await bc.get("hello");
  KYOTO_ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->as_string_view(), "world");
}

// Beyond upstream: copies used by many tasks at once share one connection,
// and every request gets its own reply.
KYOTO_TEST(MiniRedisBufferedClient, CopiesFromManyTasksGetTheirOwnReplies) {
  const auto addr = co_await start_server();
  buffered_client bc = buffered_client::buffer(co_await client::connect(addr.to_string()));
  kyoto::join_set<bool> tasks;
  for (int i = 0; i < 50; ++i) {
    tasks.spawn(
        [](buffered_client h, int n) -> kyoto::task<bool> {
          const std::string key = std::string("k") + std::to_string(n);
          co_await h.set(key, kyoto::bytes(std::to_string(n * n)));
          const auto v = co_await h.get(key);
          co_return v && v->as_string_view() == std::to_string(n * n);
        },
        bc, i);
  }
  int ok = 0;
  while (auto r = co_await tasks.join_next())
    ok += *r ? 1 : 0;
  EXPECT_EQ(ok, 50);
}
