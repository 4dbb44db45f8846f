// The GET/SET fast path (samples/mini_redis/fast_path.hpp) and --busy-poll:
// the replies are upstream's bytes whichever path a request takes, the two
// paths see one store, and a busy-polling server still shuts down.
#include "db.hpp"
#include "server.hpp"
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/sync/notify.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using kyoto::net::tcp_stream;
using mini_redis_test::read_n;
using mini_redis_test::start_server;

namespace {

// A command name as a simple string (`+GET`) is valid RESP that the fast
// path does not take: the general path (upstream's) answers it.
constexpr std::string_view general_set_k = "*3\r\n+SET\r\n$1\r\nk\r\n$2\r\nv1\r\n";
constexpr std::string_view general_get_k = "*2\r\n+GET\r\n$1\r\nk\r\n";
constexpr std::string_view fast_set_k = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv2\r\n";
constexpr std::string_view fast_get_k = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";

kyoto::task<> until_notified(kyoto::sync::notify& n) {
  co_await n.notified();
}

}  // namespace

KYOTO_TEST(MiniRedisFastPath, BothPathsGiveTheSameRepliesOnOneStore) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  const std::string requests = std::string(fast_get_k) + std::string(general_get_k) +
                               std::string(general_set_k) + std::string(fast_get_k) +
                               std::string(fast_set_k) + std::string(general_get_k);
  co_await stream.write_all(std::string_view(requests));
  const std::string expected = "$-1\r\n$-1\r\n+OK\r\n$2\r\nv1\r\n+OK\r\n$2\r\nv2\r\n";
  EXPECT_EQ(co_await read_n(stream, expected.size()), expected);
}

KYOTO_TEST(MiniRedisFastPath, CommandNamesMatchInAnyCase) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(std::string_view(
      "*3\r\n$3\r\nsEt\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\ngeT\r\n$3\r\nkey\r\n"));
  EXPECT_EQ(co_await read_n(stream, 16), "+OK\r\n$5\r\nvalue\r\n");
}

KYOTO_TEST(MiniRedisFastPath, NonAsciiKeysAndEmptyValuesRoundTrip) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  // "é" in UTF-8: left to the general path, which checks it.
  co_await stream.write_all(
      std::string_view("*3\r\n$3\r\nSET\r\n$2\r\n\xc3\xa9\r\n$0\r\n\r\n"
                       "*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n"));
  EXPECT_EQ(co_await read_n(stream, 11), "+OK\r\n$0\r\n\r\n");
}

KYOTO_TEST(MiniRedisFastPath, InvalidUtf8KeyStillClosesWithUpstreamsError) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  // Not UTF-8: upstream's next_string() fails and the connection closes.
  co_await stream.write_all(std::string_view("*2\r\n$3\r\nGET\r\n$1\r\n\xff\r\n"));
  EXPECT_TRUE(co_await mini_redis_test::closes_within(stream, 5000ms));
}

KYOTO_TEST(MiniRedisFastPath, WrongArgumentCountsTakeTheGeneralPath) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  // SET with EX (5 elements) is the general path's; the value is there.
  co_await stream.write_all(
      std::string_view("*5\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n$2\r\nEX\r\n$2\r\n10\r\n*2\r\n$"
                       "3\r\nGET\r\n$1\r\nx\r\n"));
  EXPECT_EQ(co_await read_n(stream, 12), "+OK\r\n$1\r\ny\r\n");
}

KYOTO_TEST(MiniRedisFastPath, RequestSplitAcrossWritesIsAnsweredOnce) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  stream.set_nodelay(true);
  co_await stream.write_all(fast_set_k.substr(0, 9));
  co_await stream.write_all(fast_set_k.substr(9));
  co_await stream.write_all(fast_get_k.substr(0, 15));
  co_await stream.write_all(fast_get_k.substr(15));
  EXPECT_EQ(co_await read_n(stream, 13), "+OK\r\n$2\r\nv2\r\n");
}

// A fast-path SET replaces the value and drops an earlier SET's expiry, as
// the general path's does.
KYOTO_TEST_WITH(MiniRedisFastPath, FastSetDropsAnEarlierExpiry,
                kyoto::runtime::builder::current_thread().start_paused(true)) {
  const auto addr = co_await start_server();
  tcp_stream stream = co_await tcp_stream::connect(addr);
  co_await stream.write_all(
      std::string_view("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n+EX\r\n:1\r\n"));
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");
  co_await stream.write_all(fast_set_k);
  EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");
  co_await kyoto::time::advance(2s);
  co_await stream.write_all(fast_get_k);
  EXPECT_EQ(co_await read_n(stream, 8), "$2\r\nv2\r\n");
}

KYOTO_TEST_WITH(MiniRedisBusyPoll, ServesAndShutsDown, kyoto::runtime::builder::current_thread()) {
  kyoto::net::tcp_listener listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
  const kyoto::net::socket_addr addr = listener.local_addr();
  const mini_redis::db_drop_guard db_holder;
  kyoto::sync::notify stop;
  auto server = kyoto::spawn(mini_redis::server::run(
      std::move(listener), until_notified(stop), std::make_shared<kyoto::sync::semaphore>(8),
      db_holder.get(), std::chrono::microseconds(100)));
  tcp_stream stream = co_await tcp_stream::connect(addr);
  for (int i = 0; i < 3; ++i) {
    co_await stream.write_all(fast_set_k);
    EXPECT_EQ(co_await read_n(stream, 5), "+OK\r\n");
    co_await stream.write_all(fast_get_k);
    EXPECT_EQ(co_await read_n(stream, 8), "$2\r\nv2\r\n");
  }
  stop.notify_one();
  // The handler ends at shutdown; run() then stops the poller and returns.
  EXPECT_TRUE(co_await mini_redis_test::closes_within(stream, 5000ms));
  co_await std::move(server);
}
