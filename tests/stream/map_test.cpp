// kyoto::stream_map: tokio-stream 0.1.9's tests/stream_stream_map.rs ported
// (each test names its upstream test), plus cancel safety of next().
// tokio's assert_pending!(map.poll_next()) is a next() that times out.
#include "ct_test.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/stream/stream_map.hpp>
#include <kyoto/streams.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace mpsc = kyoto::sync::mpsc;
namespace streams = kyoto::streams;
using namespace std::chrono_literals;
using rx_stream = streams::unbounded_receiver_stream<int>;
using map_t = kyoto::stream_map<std::string, rx_stream>;
using entry = std::pair<std::string, int>;

std::pair<mpsc::unbounded_sender<int>, rx_stream> channel_stream() {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  return {std::move(tx), rx_stream(std::move(rx))};
}

/// Destroys `x` now (a sender: its stream ends).
template <class T>
void drop(T& x) {
  [[maybe_unused]] const T gone = std::move(x);
}

kyoto::task<bool> is_pending(map_t& m) {
  auto r = co_await kyoto::time::timeout(2ms, m.next());
  co_return !r.has_value();
}

kyoto::task<std::optional<entry>> next_of(map_t& m) {
  co_return co_await m.next();
}

// stream_stream_map.rs empty.
KYOTO_TEST(StreamMap, EmptyMapEnds) {
  map_t map;
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.empty());
  auto a = co_await next_of(map);
  auto b = co_await next_of(map);
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());
  EXPECT_FALSE(map.remove("foo").has_value());
}

// stream_stream_map.rs single_entry.
KYOTO_CT_TEST(StreamMap, SingleEntryYieldsKeyedItemsThenEnds) {
  map_t map;
  auto [tx, rx] = channel_stream();
  auto none = co_await next_of(map);
  EXPECT_FALSE(none.has_value());
  EXPECT_FALSE(map.insert("foo", std::move(rx)));
  EXPECT_TRUE(map.contains_key("foo"));
  EXPECT_FALSE(map.contains_key("bar"));
  EXPECT_EQ(map.size(), 1u);
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx.send(1);
  auto a = co_await next_of(map);
  EXPECT_EQ(a, entry("foo", 1));
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx.send(2);
  auto b = co_await next_of(map);
  EXPECT_EQ(b, entry("foo", 2));
  EXPECT_TRUE(co_await is_pending(map));
  drop(tx);
  auto end = co_await next_of(map);
  EXPECT_FALSE(end.has_value());
  EXPECT_TRUE(map.empty());  // the ended stream was dropped
}

// stream_stream_map.rs multiple_entries.
KYOTO_CT_TEST(StreamMap, MultipleEntriesYieldFromEach) {
  map_t map;
  auto [tx1, rx1] = channel_stream();
  auto [tx2, rx2] = channel_stream();
  map.insert("foo", std::move(rx1));
  map.insert("bar", std::move(rx2));
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx1.send(1);
  auto a = co_await next_of(map);
  EXPECT_EQ(a, entry("foo", 1));
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx2.send(2);
  auto b = co_await next_of(map);
  EXPECT_EQ(b, entry("bar", 2));
  (void)tx1.send(3);
  (void)tx2.send(4);
  std::vector<entry> got;
  for (int i = 0; i < 2; ++i) {
    auto e = co_await next_of(map);
    EXPECT_TRUE(e.has_value());
    if (e) got.push_back(*e);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<entry>{{"bar", 4}, {"foo", 3}}));
  EXPECT_TRUE(co_await is_pending(map));
  drop(tx1);
  EXPECT_TRUE(co_await is_pending(map));
  drop(tx2);
  auto end = co_await next_of(map);
  EXPECT_FALSE(end.has_value());
}

// stream_stream_map.rs insert_remove: a removed stream keeps its items.
KYOTO_CT_TEST(StreamMap, RemovedStreamKeepsItsItems) {
  map_t map;
  auto [tx, rx] = channel_stream();
  map.insert("foo", std::move(rx));
  auto removed = map.remove("foo");
  EXPECT_TRUE(removed.has_value());
  (void)tx.send(1);
  auto none = co_await next_of(map);
  EXPECT_FALSE(none.has_value());
  EXPECT_FALSE(map.insert("bar", std::move(*removed)));
  auto v = co_await next_of(map);
  EXPECT_EQ(v, entry("bar", 1));
  EXPECT_TRUE(map.remove("bar").has_value());
  auto end = co_await next_of(map);
  EXPECT_FALSE(end.has_value());
  EXPECT_TRUE(map.empty());
}

// stream_stream_map.rs replace: inserting under a used key replaces it.
KYOTO_CT_TEST(StreamMap, InsertReplacesTheStreamUnderTheKey) {
  map_t map;
  auto [tx1, rx1] = channel_stream();
  auto [tx2, rx2] = channel_stream();
  EXPECT_FALSE(map.insert("foo", std::move(rx1)));
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx1.send(1);
  EXPECT_TRUE(map.insert("foo", std::move(rx2)));
  EXPECT_TRUE(co_await is_pending(map));
  (void)tx2.send(2);
  auto v = co_await next_of(map);
  EXPECT_EQ(v, entry("foo", 2));
  EXPECT_TRUE(tx1.is_closed());  // the replaced stream is gone
}

// Fairness: two always-ready streams take turns.
KYOTO_TEST(StreamMap, ReadyStreamsTakeTurns) {
  kyoto::stream_map<int, kyoto::stream<int>> map;
  map.insert(1, streams::iter(std::vector<int>(10, 1)));
  map.insert(2, streams::iter(std::vector<int>(10, 2)));
  int ones = 0;
  for (int i = 0; i < 10; ++i) {
    auto e = co_await map.next();
    if (e && e->first == 1) ++ones;
  }
  EXPECT_GE(ones, 4);
  EXPECT_LE(ones, 6);
}

KYOTO_TEST(StreamMap, AStreamsExceptionIsRethrownAndTheStreamDropped) {
  kyoto::stream_map<int, kyoto::stream<int>> map;
  auto failing = []() -> kyoto::stream<int> {
    co_yield 1;
    throw std::runtime_error("boom");
  };
  map.insert(7, failing());
  auto a = co_await map.next();
  EXPECT_EQ(a, (std::pair<int, int>(7, 1)));
  bool thrown = false;
  try {
    auto b = co_await map.next();
    (void)b;
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(map.empty());
}

// Cancel safety: next() timing out over waiting streams loses nothing.
KYOTO_CT_TEST(StreamMap, CancelledNextLosesNothing) {
  map_t map;
  auto [tx1, rx1] = channel_stream();
  auto [tx2, rx2] = channel_stream();
  map.insert("a", std::move(rx1));
  map.insert("b", std::move(rx2));
  for (int round = 0; round < 5; ++round) {
    EXPECT_TRUE(co_await is_pending(map));
    (void)tx1.send(int{round});
    co_await kyoto::yield_now();
    auto v = co_await next_of(map);
    EXPECT_EQ(v, entry("a", round));
    (void)tx2.send(int{round});
    auto w = co_await next_of(map);
    EXPECT_EQ(w, entry("b", round));
  }
}

// Multi-thread: entries fed from other workers and a plain thread, with
// the consumer timing out now and then; every value arrives exactly once.
KYOTO_TEST(StreamMap, WakesFromOtherWorkersAndThreadsLoseNothing) {
  constexpr int per_sender = 400;
  kyoto::stream_map<int, rx_stream> map;
  std::vector<kyoto::join_handle<void>> senders;
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    auto [tx, rx] = channel_stream();
    map.insert(k, std::move(rx));
    if (k == 3) {
      threads.emplace_back([out = std::move(tx)]() mutable {
        for (int i = 0; i < per_sender; ++i)
          (void)out.send(int{1});
      });
    } else {
      senders.push_back(kyoto::spawn(
          [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
            for (int i = 0; i < per_sender; ++i) {
              (void)out.send(int{1});
              if (i % 5 == 0) co_await kyoto::yield_now();
            }
          },
          std::move(tx)));
    }
  }
  long total = 0;
  for (;;) {
    auto r = co_await kyoto::time::timeout(30us, map.next());
    if (!r.has_value()) continue;
    if (!r->has_value()) break;  // every sender gone, every stream ended
    total += (*r)->second;
  }
  for (auto& h : senders)
    co_await h;
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(total, 4 * per_sender);
  EXPECT_TRUE(map.empty());
}

// Multi-thread: merge of two channels fed from other workers, consumed
// under timeouts.
KYOTO_TEST(StreamsMerge, WakesFromOtherWorkersLoseNothing) {
  constexpr int per_sender = 500;
  auto [tx1, rx1] = channel_stream();
  auto [tx2, rx2] = channel_stream();
  auto feed = [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
    for (int i = 0; i < per_sender; ++i) {
      (void)out.send(int{1});
      if (i % 3 == 0) co_await kyoto::yield_now();
    }
  };
  auto h1 = kyoto::spawn(feed, std::move(tx1));
  auto h2 = kyoto::spawn(feed, std::move(tx2));
  auto s = std::move(rx1) | streams::merge(std::move(rx2));
  long total = 0;
  for (;;) {
    auto r = co_await kyoto::time::timeout(30us, s.next());
    if (!r.has_value()) continue;
    if (!r->has_value()) break;
    total += **r;
  }
  co_await h1;
  co_await h2;
  EXPECT_EQ(total, 2 * per_sender);
}

}  // namespace
