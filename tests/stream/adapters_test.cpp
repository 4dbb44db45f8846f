// kyoto::streams' value sources, one-input adapters, chain, merge and the
// consumers: tokio-stream 0.1.9's tests/stream_{iter,once,empty,pending,
// fuse,chain,merge,collect}.rs ported (each test names its upstream test),
// then kyoto's contract for every adapter: a next() cancelled while the
// adapter waits on its input loses nothing.
//
// tokio's mock-polled checks (assert_pending!, is_woken) become a
// time::timeout on next() that elapses, then the event, then a next() that
// gets the item. size_hint has no kyoto analog.
#include "ct_test.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/streams.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace mpsc = kyoto::sync::mpsc;
namespace streams = kyoto::streams;
using namespace std::chrono_literals;

// tokio-stream's support::mpsc::unbounded_channel_stream().
template <class T>
std::pair<mpsc::unbounded_sender<T>, streams::unbounded_receiver_stream<T>> channel_stream() {
  auto [tx, rx] = mpsc::unbounded_channel<T>();
  return {std::move(tx), streams::unbounded_receiver_stream<T>(std::move(rx))};
}

/// Whether next() on `s` is still pending after a short wait (tokio's
/// assert_pending!(s.poll_next())); the wait is cancelled either way.
/// Destroys `x` now (a sender: its stream ends).
template <class T>
void drop(T& x) {
  [[maybe_unused]] const T gone = std::move(x);
}

template <class S>
kyoto::task<bool> is_pending(S& s) {
  auto r = co_await kyoto::time::timeout(2ms, s.next());
  co_return !r.has_value();
}

template <class S>
kyoto::task<std::vector<kyoto::stream_item_t<S>>> drain(S& s) {
  std::vector<kyoto::stream_item_t<S>> out;
  for (;;) {
    auto v = co_await s.next();
    if (!v) co_return out;
    out.push_back(std::move(*v));
  }
}

static_assert(kyoto::async_stream<streams::receiver_stream<int>>);
static_assert(kyoto::async_stream<streams::unbounded_receiver_stream<int>>);
static_assert(kyoto::async_stream<streams::interval_stream>);

// ---- sources ----

// stream_iter.rs: iter yields the range's items in order.
KYOTO_TEST(StreamsIter, YieldsTheItemsInOrder) {
  auto s = streams::iter(std::vector<int>{1, 2, 3});
  auto got = co_await drain(s);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

// stream_iter.rs coop: an endless iter yields the task once its budget is spent.
KYOTO_CT_TEST(StreamsIter, SpendsTheCooperativeBudget) {
  bool other_ran = false;
  auto h = kyoto::spawn(
      [](bool* flag) -> kyoto::task<> {
        *flag = true;
        co_return;
      },
      &other_ran);
  auto s = streams::iter(std::views::iota(0));
  for (int i = 0; i < 10'000 && !other_ran; ++i) {
    EXPECT_EQ(co_await s.next(), i);
  }
  EXPECT_TRUE(other_ran);
  co_await h;
}

// stream_once.rs basic_usage.
KYOTO_TEST(StreamsOnce, YieldsOneItemThenEnds) {
  auto one = streams::once(1);
  std::optional<int> a = co_await one.next();
  std::optional<int> b = co_await one.next();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, std::nullopt);
}

// stream_empty.rs basic_usage.
KYOTO_TEST(StreamsEmpty, EndsAtOnceEveryTime) {
  auto s = streams::empty<int>();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(co_await s.next(), std::nullopt);
  }
}

// stream_pending.rs basic_usage.
KYOTO_TEST(StreamsPending, NeverYields) {
  auto s = streams::pending<int>();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(co_await is_pending(s));
  }
}

// ---- one-input adapters ----

// stream_fuse.rs basic_usage: once fused, the end is final.
struct alternate {
  int state = 0;
  struct ready {
    std::optional<int> v;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    std::optional<int> await_resume() noexcept { return v; }
  };
  ready next() {
    const int val = state++;
    return ready{val % 2 == 0 ? std::optional<int>(val) : std::nullopt};
  }
};
static_assert(kyoto::async_stream<alternate>);

KYOTO_TEST(StreamsFuse, NoItemAfterTheFirstEnd) {
  alternate raw;
  std::optional<int> a = co_await raw.next();
  std::optional<int> b = co_await raw.next();
  std::optional<int> c = co_await raw.next();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, std::nullopt);
  EXPECT_EQ(c, 2);
  (void)raw.next();  // the None between
  auto fused = streams::fuse(raw);
  std::optional<int> d = co_await fused.next();
  std::optional<int> e = co_await fused.next();
  std::optional<int> f = co_await fused.next();
  EXPECT_EQ(d, 4);
  EXPECT_EQ(e, std::nullopt);
  EXPECT_EQ(f, std::nullopt);
}

KYOTO_TEST(StreamsMap, MapsFilterAndFilterMapCompose) {
  auto s = streams::iter(std::vector<int>{1, 2, 3, 4, 5, 6}) |
           streams::filter([](const int& v) { return v % 2 == 0; }) |
           streams::map([](int v) { return v * 10; }) | streams::filter_map([](int v) {
             return v == 40 ? std::nullopt : std::optional<std::string>(std::to_string(v));
           });
  auto got = co_await drain(s);
  EXPECT_EQ(got, (std::vector<std::string>{"20", "60"}));
}

kyoto::task<int> add_one_later(int v) {
  co_await kyoto::time::sleep(1ms);
  co_return v + 1;
}

KYOTO_TEST(StreamsThen, AwaitsTheFunctionsResult) {
  auto s = streams::iter(std::vector<int>{1, 2, 3}) | streams::then(&add_one_later);
  auto got = co_await drain(s);
  EXPECT_EQ(got, (std::vector<int>{2, 3, 4}));
}

KYOTO_TEST(StreamsTake, TakeSkipAndTheirWhileForms) {
  std::vector<int> v{1, 2, 3, 4, 5, 1};
  auto a = streams::iter(v) | streams::take(2);
  auto b = streams::iter(v) | streams::skip(4);
  auto c = streams::iter(v) | streams::take_while([](const int& x) { return x < 3; });
  auto d = streams::iter(v) | streams::skip_while([](const int& x) { return x < 3; });
  auto ga = co_await drain(a);
  auto gb = co_await drain(b);
  auto gc = co_await drain(c);
  auto gd = co_await drain(d);
  EXPECT_EQ(ga, (std::vector<int>{1, 2}));
  EXPECT_EQ(gb, (std::vector<int>{5, 1}));
  EXPECT_EQ(gc, (std::vector<int>{1, 2}));
  EXPECT_EQ(gd, (std::vector<int>{3, 4, 5, 1}));
}

KYOTO_TEST(StreamsTake, TakeDoesNotPollPastTheLastItem) {
  auto [tx, rx] = channel_stream<int>();
  auto s = std::move(rx) | streams::take(1);
  (void)tx.send(7);
  std::optional<int> a = co_await s.next();
  std::optional<int> b = co_await s.next();  // ends without waiting for a second value
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, std::nullopt);
}

// ---- chain and merge ----

// stream_chain.rs basic_usage.
KYOTO_TEST(StreamsChain, YieldsTheFirstThenTheSecond) {
  auto s = streams::chain(streams::iter(std::vector<int>{1, 2, 3}),
                          streams::iter(std::vector<int>{4, 5, 6}));
  auto got = co_await drain(s);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(co_await s.next(), std::nullopt);
}

// stream_chain.rs pending_first: the second is not read before the first ends.
KYOTO_CT_TEST(StreamsChain, SecondWaitsForTheFirstToEnd) {
  auto [tx1, rx1] = channel_stream<int>();
  auto [tx2, rx2] = channel_stream<int>();
  auto s = std::move(rx1) | streams::chain(std::move(rx2));
  EXPECT_TRUE(co_await is_pending(s));
  (void)tx2.send(2);
  EXPECT_TRUE(co_await is_pending(s));
  (void)tx1.send(1);
  EXPECT_EQ(co_await s.next(), 1);
  EXPECT_TRUE(co_await is_pending(s));
  drop(tx1);
  EXPECT_EQ(co_await s.next(), 2);
  drop(tx2);
  EXPECT_EQ(co_await s.next(), std::nullopt);
}

// stream_merge.rs merge_sync_streams: fair, so two ready streams interleave.
KYOTO_TEST(StreamsMerge, ReadyStreamsTakeTurns) {
  auto s = streams::merge(streams::iter(std::vector<int>{0, 2, 4, 6}),
                          streams::iter(std::vector<int>{1, 3, 5}));
  auto got = co_await drain(s);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

// stream_merge.rs merge_async_streams.
KYOTO_CT_TEST(StreamsMerge, YieldsFromWhicheverIsReadyUntilBothEnd) {
  auto [tx1, rx1] = channel_stream<int>();
  auto [tx2, rx2] = channel_stream<int>();
  auto s = std::move(rx1) | streams::merge(std::move(rx2));
  EXPECT_TRUE(co_await is_pending(s));
  (void)tx1.send(1);
  EXPECT_EQ(co_await s.next(), 1);
  EXPECT_TRUE(co_await is_pending(s));
  (void)tx2.send(2);
  EXPECT_EQ(co_await s.next(), 2);
  EXPECT_TRUE(co_await is_pending(s));
  drop(tx1);
  EXPECT_TRUE(co_await is_pending(s));
  (void)tx2.send(3);
  EXPECT_EQ(co_await s.next(), 3);
  EXPECT_TRUE(co_await is_pending(s));
  drop(tx2);
  EXPECT_EQ(co_await s.next(), std::nullopt);
}

// ---- consumers ----

// stream_collect.rs empty_vec, empty_string.
KYOTO_TEST(StreamsCollect, EmptyStreamCollectsEmpty) {
  auto v = co_await streams::collect(streams::empty<unsigned>());
  EXPECT_TRUE(v.empty());
  auto s = co_await streams::collect<std::string>(streams::empty<std::string>());
  EXPECT_TRUE(s.empty());
}

// stream_collect.rs collect_vec_items.
KYOTO_CT_TEST(StreamsCollect, CollectsItemsUntilTheEnd) {
  auto [tx, rx] = channel_stream<int>();
  auto h = kyoto::spawn(streams::collect(std::move(rx)));
  co_await kyoto::time::sleep(1ms);
  EXPECT_FALSE(h.is_finished());
  (void)tx.send(1);
  (void)tx.send(2);
  co_await kyoto::time::sleep(1ms);
  EXPECT_FALSE(h.is_finished());
  drop(tx);
  auto got = co_await h;
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

// stream_collect.rs collect_string_items.
KYOTO_TEST(StreamsCollect, CollectsStringsIntoAString) {
  auto [tx, rx] = channel_stream<std::string>();
  (void)tx.send(std::string("hello "));
  (void)tx.send(std::string("world"));
  drop(tx);
  auto got = co_await (std::move(rx) | streams::collect<std::string>());
  EXPECT_EQ(got, "hello world");
}

KYOTO_TEST(StreamsCollect, CollectsIntoASet) {
  std::vector<int> items{3, 1, 3, 2};
  auto got = co_await streams::collect<std::set<int>>(streams::iter(std::move(items)));
  EXPECT_EQ(got, (std::set<int>{1, 2, 3}));
}

KYOTO_TEST(StreamsFold, FoldAnyAllForEach) {
  std::vector<int> v{1, 2, 3, 4};
  const int sum =
      co_await (streams::iter(v) | streams::fold(0, [](int acc, int x) { return acc + x; }));
  EXPECT_EQ(sum, 10);
  const bool any3 = co_await (streams::iter(v) | streams::any([](int x) { return x == 3; }));
  const bool any9 = co_await streams::any(streams::iter(v), [](int x) { return x == 9; });
  const bool all_pos = co_await (streams::iter(v) | streams::all([](int x) { return x > 0; }));
  const bool all_small = co_await streams::all(streams::iter(v), [](int x) { return x < 4; });
  EXPECT_TRUE(any3);
  EXPECT_FALSE(any9);
  EXPECT_TRUE(all_pos);
  EXPECT_FALSE(all_small);
  std::vector<int> seen;
  co_await streams::for_each(streams::iter(v), [p = &seen](int x) { p->push_back(x); });
  EXPECT_EQ(seen, v);
}

// ---- cancellation of next() on every adapter ----

/// Over a channel: next() times out while the adapter waits on the
/// channel, then the value sent is the next item (nothing lost).
template <class Make>
kyoto::task<> check_cancel_safe(Make make, int send, int expect) {
  auto [tx, rx] = channel_stream<int>();
  auto s = make(std::move(rx));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(co_await is_pending(s));
  }
  (void)tx.send(int{send});
  auto r = co_await kyoto::time::timeout(5s, s.next());
  EXPECT_TRUE(r.has_value() && r->has_value() && **r == expect);
}

KYOTO_CT_TEST(StreamsCancel, EveryAdaptersNextIsCancelSafe) {
  using rx_t = streams::unbounded_receiver_stream<int>;
  co_await check_cancel_safe(
      [](rx_t rx) { return std::move(rx) | streams::map([](int v) { return v + 1; }); }, 1, 2);
  co_await check_cancel_safe(
      [](rx_t rx) { return std::move(rx) | streams::filter([](const int& v) { return v > 0; }); },
      3, 3);
  co_await check_cancel_safe(
      [](rx_t rx) {
        return std::move(rx) | streams::filter_map([](int v) { return std::optional<int>(v * 2); });
      },
      3, 6);
  co_await check_cancel_safe([](rx_t rx) { return std::move(rx) | streams::then(&add_one_later); },
                             4, 5);
  co_await check_cancel_safe([](rx_t rx) { return std::move(rx) | streams::take(3); }, 5, 5);
  co_await check_cancel_safe(
      [](rx_t rx) { return std::move(rx) | streams::take_while([](const int&) { return true; }); },
      6, 6);
  co_await check_cancel_safe([](rx_t rx) { return std::move(rx) | streams::skip(0); }, 7, 7);
  co_await check_cancel_safe(
      [](rx_t rx) {
        return std::move(rx) | streams::skip_while([](const int& v) { return v < 0; });
      },
      8, 8);
  co_await check_cancel_safe([](rx_t rx) { return std::move(rx) | streams::fuse(); }, 9, 9);
  co_await check_cancel_safe(
      [](rx_t rx) { return streams::empty<int>() | streams::chain(std::move(rx)); }, 10, 10);
  co_await check_cancel_safe(
      [](rx_t rx) { return streams::pending<int>() | streams::merge(std::move(rx)); }, 11, 11);
  co_await check_cancel_safe(
      [](rx_t rx) { return std::move(rx) | streams::merge(streams::pending<int>()); }, 12, 12);
  co_await check_cancel_safe([](rx_t rx) { return std::move(rx) | streams::throttle(1ms); }, 13,
                             13);
  co_await check_cancel_safe(
      [](rx_t rx) {
        return std::move(rx) | streams::chunks_timeout(1, 1s) |
               streams::map([](std::vector<int> c) { return c.at(0); });
      },
      14, 14);
  co_await check_cancel_safe(
      [](rx_t rx) {
        return std::move(rx) | streams::timeout(1h) |
               streams::map([](kyoto::result<int, kyoto::time::elapsed> r) { return *r; });
      },
      15, 15);
  co_await check_cancel_safe([](rx_t rx) { return rx; }, 16, 16);  // the wrapper itself
}

// ---- map, filter and filter_map are fused (streams/detail/fused.hpp) ----

/// A stream body that waits on a channel: an input whose next() suspends
/// inside a nested task.
kyoto::stream<int> relay(mpsc::unbounded_receiver<int> rx) {
  for (;;) {
    std::optional<int> v = co_await rx.recv();
    if (!v) co_return;
    co_yield *v;
  }
}

// The slow path: the filter rejects items that arrive while its next()
// waits, and keeps waiting (its resume coroutine awaits the input again)
// until one passes.
KYOTO_CT_TEST(StreamsFused, FilterKeepsWaitingPastRejectedItems) {
  auto [tx, rx] = channel_stream<int>();
  auto s = std::move(rx) | streams::filter([](const int& v) { return v % 10 == 0; });
  auto feeder = kyoto::spawn(
      [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
        for (int v : {1, 2, 3, 20}) {
          co_await kyoto::yield_now();
          (void)out.send(int{v});
        }
      },
      std::move(tx));
  EXPECT_EQ(co_await s.next(), 20);
  co_await feeder;
  EXPECT_EQ(co_await s.next(), std::nullopt);
}

// A next() cancelled after its filter skipped items while it waited: the
// skipped items are gone (as in tokio), the next that passes is not.
KYOTO_CT_TEST(StreamsFused, CancelledNextAfterSkipsLosesNoPassingItem) {
  auto [tx, rx] = channel_stream<int>();
  auto s = std::move(rx) | streams::filter([](const int& v) { return v > 0; }) |
           streams::map([](int v) { return v * 2; });
  for (int i = 0; i < 3; ++i) {
    (void)tx.send(-i);  // rejected on the fast path
    EXPECT_TRUE(co_await is_pending(s));
  }
  (void)tx.send(5);
  (void)tx.send(6);
  EXPECT_EQ(co_await s.next(), 10);
  EXPECT_EQ(co_await s.next(), 12);
}

// Over a kyoto::stream whose body suspends: a cancelled next() leaves the
// body where it was, and the value it then receives is the next item.
KYOTO_CT_TEST(StreamsFused, CancelledNextOverASuspendedStreamBody) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto s = relay(std::move(rx)) | streams::filter([](const int& v) { return v != 0; }) |
           streams::map([](int v) { return v + 100; });
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(co_await is_pending(s));
  }
  (void)tx.send(0);
  (void)tx.send(7);
  auto r = co_await kyoto::time::timeout(5s, s.next());
  EXPECT_TRUE(r.has_value() && *r == 107);
  drop(tx);
  EXPECT_EQ(co_await s.next(), std::nullopt);
}

// A stage that throws: that next() rethrows, and the stream has ended
// (as a kyoto::stream whose body threw), on the fast and the slow path.
KYOTO_CT_TEST(StreamsFused, AThrowingStageEndsTheStream) {
  auto boom = [](int v) {
    if (v == 2) throw std::runtime_error("boom");
    return v;
  };
  auto fast = streams::iter(std::vector<int>{1, 2, 3}) | streams::map(boom);
  EXPECT_EQ(co_await fast.next(), 1);
  bool thrown = false;
  try {
    co_await fast.next();
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(co_await fast.next(), std::nullopt);

  auto [tx, rx] = channel_stream<int>();
  auto slow = std::move(rx) | streams::map(boom);
  auto sender = kyoto::spawn(
      [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
        co_await kyoto::yield_now();
        (void)out.send(2);
        (void)out.send(3);
      },
      std::move(tx));
  thrown = false;
  try {
    co_await slow.next();  // suspends: the 2 arrives through the resume coroutine
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(co_await slow.next(), std::nullopt) << "ended: the 3 is not polled";
  co_await sender;
}

// Fused: after the input's end the input is not polled again.
KYOTO_TEST(StreamsFused, NoPollAfterTheEnd) {
  auto s = alternate{} | streams::map([](int v) { return v; });
  EXPECT_EQ(co_await s.next(), 0);
  EXPECT_EQ(co_await s.next(), std::nullopt);
  EXPECT_EQ(co_await s.next(), std::nullopt) << "alternate would give 2";
}

// filter | map | filter_map join one object over the input (one awaiter
// per item, not one per adapter): the stages still apply in order, a
// stream already read keeps its place, and one that ended stays ended.
KYOTO_CT_TEST(StreamsFused, JoinedStagesApplyInOrder) {
  auto [tx, rx] = channel_stream<int>();
  auto a = std::move(rx) | streams::filter([](const int& v) { return v > 0; });
  (void)tx.send(-1);
  (void)tx.send(2);
  EXPECT_EQ(co_await a.next(), 2);
  auto b = std::move(a) | streams::map([](int v) { return v * 10; }) |
           streams::filter_map([](int v) { return v == 30 ? std::nullopt : std::optional(v + 1); });
  (void)tx.send(3);   // 30: dropped by filter_map
  (void)tx.send(-5);  // dropped by filter
  (void)tx.send(4);
  EXPECT_EQ(co_await b.next(), 41);
  auto sender = kyoto::spawn(
      [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
        co_await kyoto::yield_now();
        (void)out.send(-2);
        (void)out.send(1);
      },
      std::move(tx));
  EXPECT_EQ(co_await b.next(), 11);  // the slow path through all three stages
  co_await sender;
  EXPECT_EQ(co_await b.next(), std::nullopt);

  auto c = streams::iter(std::vector<int>{1}) | streams::map([](int v) { return v; });
  EXPECT_EQ(co_await c.next(), 1);
  EXPECT_EQ(co_await c.next(), std::nullopt);
  auto d = std::move(c) | streams::map([](int v) { return v + 1; });
  EXPECT_EQ(co_await d.next(), std::nullopt) << "joined after the end: still ended";
}

// The stream may move between next() calls, also once its resume
// coroutine exists.
KYOTO_CT_TEST(StreamsFused, MovesBetweenNextCalls) {
  auto [tx, rx] = channel_stream<int>();
  auto a = std::move(rx) | streams::map([](int v) { return v * 3; });
  const bool pending = co_await is_pending(a);  // makes the resume coroutine
  EXPECT_TRUE(pending);
  auto b = std::move(a);
  auto sender = kyoto::spawn(
      [](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
        co_await kyoto::yield_now();
        (void)out.send(4);
      },
      std::move(tx));
  EXPECT_EQ(co_await b.next(), 12);
  co_await sender;
  EXPECT_EQ(co_await b.next(), std::nullopt);
}

}  // namespace
