// kyoto::streams::{timeout, throttle, chunks_timeout}: tokio-stream 0.1.9's
// tests/stream_timeout.rs and time_throttle.rs ported (each test names its
// upstream test). kyoto has no paused clock here, so the durations are
// real, with margins: tokio's 100/200 ms become 40/120 ms.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/streams.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace {

namespace streams = kyoto::streams;
using namespace std::chrono_literals;

kyoto::task<int> maybe_sleep(int idx) {
  if (idx % 2 == 0) co_await kyoto::time::sleep(120ms);
  co_return idx;
}

/// 1 for an item v, 0 for elapsed, as a vector of (ok, value) codes.
template <class S>
kyoto::task<std::vector<int>> codes(S& s) {
  std::vector<int> out;
  for (;;) {
    auto r = co_await s.next();
    if (!r) co_return out;
    out.push_back(r->has_value() ? **r : -1);
  }
}

// stream_timeout.rs basic_usage: [Ok(1), Err(Elapsed), Ok(2), Ok(3), Err(Elapsed), Ok(4)].
KYOTO_TEST(StreamsTimeout, SlowItemsGiveOneElapsedThenTheItem) {
  std::vector<int> in{1, 2, 3, 4};
  auto s = streams::iter(std::move(in)) | streams::then(&maybe_sleep) | streams::timeout(70ms);
  auto got = co_await codes(s);
  EXPECT_EQ(got, (std::vector<int>{1, -1, 2, 3, -1, 4}));
}

// stream_timeout.rs return_elapsed_errors_only_once: a long wait gives one elapsed.
KYOTO_TEST(StreamsTimeout, OneElapsedPerLateItem) {
  std::vector<int> in{1, 2, 3};
  auto s = streams::iter(std::move(in)) | streams::then(&maybe_sleep) | streams::timeout(30ms);
  auto got = co_await codes(s);
  EXPECT_EQ(got, (std::vector<int>{1, -1, 2, 3}));
}

// stream_timeout.rs no_timeouts.
KYOTO_TEST(StreamsTimeout, FastItemsNeverTimeOut) {
  std::vector<int> in{1, 3, 5};
  auto s = streams::iter(std::move(in)) | streams::then(&maybe_sleep) | streams::timeout(70ms);
  auto got = co_await codes(s);
  EXPECT_EQ(got, (std::vector<int>{1, 3, 5}));
}

// time_throttle.rs usage: the second item waits out the period.
KYOTO_TEST(StreamsThrottle, ItemsComeAtLeastThePeriodApart) {
  auto s = streams::iter(std::vector<int>(3, 0)) | streams::throttle(30ms);
  const auto t0 = kyoto::time::clock::now();
  std::optional<int> a = co_await s.next();
  const auto t1 = kyoto::time::clock::now();
  std::optional<int> b = co_await s.next();
  const auto t2 = kyoto::time::clock::now();
  std::optional<int> c = co_await s.next();
  const auto t3 = kyoto::time::clock::now();
  EXPECT_TRUE(a && b && c);
  EXPECT_LT(t1 - t0, 25ms);  // the first at once
  EXPECT_GE(t2 - t1, 30ms);
  EXPECT_GE(t3 - t2, 30ms);
}

// time_throttle.rs usage, second half: next() under the period is pending.
KYOTO_TEST(StreamsThrottle, NextBeforeThePeriodIsPending) {
  auto s = streams::iter(std::vector<int>(2, 0)) | streams::throttle(60ms);
  std::optional<int> a = co_await s.next();
  EXPECT_TRUE(a.has_value());
  auto early = co_await kyoto::time::timeout(20ms, s.next());
  EXPECT_FALSE(early.has_value());
  auto later = co_await kyoto::time::timeout(1s, s.next());
  EXPECT_TRUE(later.has_value() && later->has_value());
}

KYOTO_TEST(StreamsChunksTimeout, FullChunksAndTimedOutChunks) {
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  auto s =
      streams::unbounded_receiver_stream<int>(std::move(rx)) | streams::chunks_timeout(3, 30ms);
  for (int i = 0; i < 4; ++i)
    (void)tx.send(int{i});
  std::optional<std::vector<int>> full = co_await s.next();
  EXPECT_EQ(full, (std::vector<int>{0, 1, 2}));
  const auto t0 = kyoto::time::clock::now();
  std::optional<std::vector<int>> partial = co_await s.next();  // only 3 came: the deadline ends it
  EXPECT_EQ(partial, (std::vector<int>{3}));
  EXPECT_GE(kyoto::time::clock::now() - t0, 25ms);
  (void)tx.send(9);
  {
    auto drop = std::move(tx);
  }
  std::optional<std::vector<int>> last = co_await s.next();  // the end closes the chunk
  EXPECT_EQ(last, (std::vector<int>{9}));
  std::optional<std::vector<int>> end = co_await s.next();
  EXPECT_FALSE(end.has_value());
}

}  // namespace
