// kyoto::streams' wrappers: tokio-stream 0.1.9's tests/watch.rs ported
// (message_not_twice), then each wrapper's contract: items, end, and a
// next() cancelled by a timeout that loses nothing.
#include "temp_dir.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/streams.hpp>
#include <kyoto/sync/broadcast.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/watch.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace streams = kyoto::streams;
using namespace std::chrono_literals;

static_assert(kyoto::async_stream<streams::broadcast_stream<int>>);
static_assert(kyoto::async_stream<streams::watch_stream<int>>);
static_assert(kyoto::async_stream<streams::read_dir_stream>);
static_assert(kyoto::async_stream<streams::tcp_listener_stream>);
static_assert(kyoto::async_stream<streams::unix_listener_stream>);
static_assert(kyoto::async_stream<streams::lines_stream<kyoto::fs::file>>);

// watch.rs message_not_twice: a value sent once is seen once.
KYOTO_TEST(WatchStream, MessageNotTwice) {
  auto [tx, rx] = kyoto::sync::watch::channel(std::string("hello"));
  auto s = streams::watch_stream<std::string>(std::move(rx));
  auto h = kyoto::spawn(
      [](streams::watch_stream<std::string> in) -> kyoto::task<int> {
        int goodbyes = 0;
        for (;;) {
          std::optional<std::string> v = co_await in.next();
          if (!v) co_return goodbyes;
          if (*v == "goodbye") ++goodbyes;
        }
      },
      std::move(s));
  (void)tx.send(std::string("goodbye"));
  {
    auto drop = std::move(tx);
  }
  const int goodbyes = co_await h;
  EXPECT_LE(goodbyes, 1);
}

KYOTO_TEST(WatchStream, FirstTheCurrentValueThenChanges) {
  auto [tx, rx] = kyoto::sync::watch::channel(1);
  auto s = streams::watch_stream<int>(std::move(rx));
  std::optional<int> a = co_await s.next();
  EXPECT_EQ(a, 1);
  auto early = co_await kyoto::time::timeout(2ms, s.next());  // cancelled: nothing changed
  EXPECT_FALSE(early.has_value());
  (void)tx.send(2);
  std::optional<int> b = co_await s.next();
  EXPECT_EQ(b, 2);
  auto [tx2, rx2] = kyoto::sync::watch::channel(5);
  auto changes = streams::watch_stream<int>::from_changes(std::move(rx2));
  (void)tx2.send(6);
  std::optional<int> c = co_await changes.next();
  EXPECT_EQ(c, 6);
}

KYOTO_TEST(BroadcastStream, ALagIsAnErrorItemAndTheStreamGoesOn) {
  auto [tx, rx] = kyoto::sync::broadcast::channel<int>(2);
  auto s = streams::broadcast_stream<int>(std::move(rx));
  for (int i = 0; i < 5; ++i)
    (void)tx.send(int{i});
  auto lag = co_await s.next();
  EXPECT_TRUE(lag.has_value() && !lag->has_value() && lag->error().is_lagged());
  if (lag && !lag->has_value()) {
    EXPECT_EQ(lag->error().skipped(), 3u);
  }
  auto a = co_await s.next();
  auto b = co_await s.next();
  EXPECT_TRUE(a && a->has_value() && **a == 3);
  EXPECT_TRUE(b && b->has_value() && **b == 4);
  auto early = co_await kyoto::time::timeout(2ms, s.next());
  EXPECT_FALSE(early.has_value());
  (void)tx.send(9);
  auto c = co_await s.next();
  EXPECT_TRUE(c && c->has_value() && **c == 9);
  {
    auto drop = std::move(tx);
  }
  auto end = co_await s.next();
  EXPECT_FALSE(end.has_value());
}

KYOTO_TEST(ReceiverStream, GivesTheValuesThenEnds) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(4);
  auto s = streams::receiver_stream<int>(std::move(rx));
  auto early = co_await kyoto::time::timeout(2ms, s.next());
  EXPECT_FALSE(early.has_value());
  auto sent = co_await tx.send(1);
  EXPECT_TRUE(sent.has_value());
  {
    auto drop = std::move(tx);
  }
  auto got = co_await streams::collect(std::move(s));
  EXPECT_EQ(got, (std::vector<int>{1}));
}

KYOTO_TEST(IntervalStream, TicksForever) {
  auto s = streams::interval_stream(kyoto::time::interval(2ms));
  auto firsts = co_await (std::move(s) | streams::take(3) | streams::collect());
  EXPECT_EQ(firsts.size(), 3u);
  EXPECT_TRUE(std::is_sorted(firsts.begin(), firsts.end()));
}

KYOTO_TEST(LinesStream, GivesEachLine) {
  kyoto::test::temp_dir dir;
  co_await kyoto::fs::write(dir / "f.txt", std::string_view("one\ntwo\r\nthree"));
  kyoto::fs::file f = co_await kyoto::fs::file::open(dir / "f.txt");
  auto s = streams::lines_stream<kyoto::fs::file>(
      kyoto::io::buf_reader<kyoto::fs::file>(std::move(f)).lines());
  std::vector<std::string> got;
  for (;;) {
    std::optional<std::string> line = co_await s.next();
    if (!line) break;
    got.push_back(*line);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
}

KYOTO_TEST(ReadDirStream, GivesEachEntry) {
  kyoto::test::temp_dir dir;
  co_await kyoto::fs::write(dir / "a", std::string_view("x"));
  co_await kyoto::fs::write(dir / "b", std::string_view("y"));
  kyoto::fs::read_dir_stream rd = co_await kyoto::fs::read_dir(dir.get());
  auto s = streams::read_dir_stream(std::move(rd)) |
           streams::map([](const kyoto::fs::dir_entry& e) { return e.file_name().string(); });
  auto names = co_await streams::collect(std::move(s));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
}

KYOTO_TEST(TcpListenerStream, GivesEachConnectionAndACancelledNextKeepsIt) {
  kyoto::net::tcp_listener l = co_await kyoto::net::tcp_listener::bind(std::string("127.0.0.1:0"));
  const kyoto::net::socket_addr addr = l.local_addr();
  auto s = streams::tcp_listener_stream(std::move(l));
  auto early = co_await kyoto::time::timeout(2ms, s.next());
  EXPECT_FALSE(early.has_value());
  kyoto::net::tcp_stream client = co_await kyoto::net::tcp_stream::connect(addr);
  auto accepted = co_await kyoto::time::timeout(5s, s.next());
  EXPECT_TRUE(accepted.has_value() && accepted->has_value());
}

KYOTO_TEST(UnixListenerStream, GivesEachConnectionAndACancelledNextKeepsIt) {
  kyoto::test::temp_dir dir;
  auto s = streams::unix_listener_stream(kyoto::net::unix_listener::bind(dir / "sock"));
  auto early = co_await kyoto::time::timeout(2ms, s.next());
  EXPECT_FALSE(early.has_value());
  kyoto::net::unix_stream client = co_await kyoto::net::unix_stream::connect(dir / "sock");
  auto accepted = co_await kyoto::time::timeout(5s, s.next());
  EXPECT_TRUE(accepted.has_value() && accepted->has_value());
}

KYOTO_TEST(IntervalStream, ACancelledNextLosesNoTick) {
  auto s = streams::interval_stream(kyoto::time::interval(20ms));
  std::optional<kyoto::time::instant> first = co_await s.next();  // at once
  EXPECT_TRUE(first.has_value());
  auto early = co_await kyoto::time::timeout(2ms, s.next());
  EXPECT_FALSE(early.has_value());
  std::optional<kyoto::time::instant> second = co_await s.next();
  EXPECT_TRUE(second.has_value() && first.has_value() && *second - *first == 20ms);
}

}  // namespace
