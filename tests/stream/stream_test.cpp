// kyoto::stream<T>, the async generator: items, end, exceptions, destruction,
// and cancel safety of next() (losing a select, timing out) while the body
// waits on a channel. tokio-stream has no generator of its own (that is the
// async-stream crate); these are kyoto's contracts for it.
#include "ct_test.hpp"
#include "drop_counter.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace mpsc = kyoto::sync::mpsc;
using namespace std::chrono_literals;

static_assert(kyoto::async_stream<kyoto::stream<int>>);
static_assert(std::is_same_v<kyoto::stream_item_t<kyoto::stream<std::string>>, std::string>);
static_assert(!std::is_copy_constructible_v<kyoto::stream<int>>);
static_assert(std::is_nothrow_move_constructible_v<kyoto::stream<int>>);

kyoto::stream<int> count_to(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i;
}

kyoto::stream<int> from_channel(mpsc::receiver<int> rx) {
  for (;;) {
    std::optional<int> v = co_await rx.recv();
    if (!v) co_return;
    co_yield *v;
  }
}

kyoto::stream<int> throws_after(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i;
  throw std::runtime_error("producer failed");
}

KYOTO_TEST(Stream, YieldsItemsInOrderThenNullopt) {
  auto s = count_to(3);
  std::vector<int> got;
  for (;;) {
    std::optional<int> v = co_await s.next();
    if (!v) break;
    got.push_back(*v);
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
  std::optional<int> again = co_await s.next();
  EXPECT_FALSE(again.has_value());
  std::optional<int> again2 = co_await s.next();
  EXPECT_FALSE(again2.has_value());
}

KYOTO_TEST(Stream, IsLazy) {
  std::atomic<int> runs{0};
  auto make = [](std::atomic<int>* r) -> kyoto::stream<int> {
    r->fetch_add(1);
    co_yield 1;
  };
  auto s = make(&runs);
  EXPECT_EQ(runs.load(), 0);
  std::optional<int> v = co_await s.next();
  EXPECT_EQ(v, 1);
  EXPECT_EQ(runs.load(), 1);
  co_return;
}

KYOTO_TEST(Stream, ExceptionIsRethrownOnceThenNullopt) {
  auto s = throws_after(2);
  std::optional<int> a = co_await s.next();
  std::optional<int> b = co_await s.next();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  bool thrown = false;
  try {
    std::optional<int> c = co_await s.next();
    (void)c;
  } catch (const std::runtime_error& e) {
    thrown = std::string(e.what()) == "producer failed";
  }
  EXPECT_TRUE(thrown);
  std::optional<int> d = co_await s.next();
  EXPECT_FALSE(d.has_value());
}

KYOTO_TEST(Stream, NextOnMovedFromStreamThrows) {
  auto s = count_to(1);
  auto t = std::move(s);
  EXPECT_THROW((void)s.next(), std::logic_error);  // NOLINT(bugprone-use-after-move): tested
  std::optional<int> v = co_await t.next();
  EXPECT_EQ(v, 0);
}

KYOTO_TEST(Stream, BodyAwaitsAChannel) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  auto producer = kyoto::spawn(
      [](mpsc::sender<int> out) -> kyoto::task<> {
        for (int i = 0; i < 100; ++i) {
          auto r = co_await out.send(int{i});
          EXPECT_TRUE(r.has_value());
        }
      },
      std::move(tx));
  for (int i = 0; i < 100; ++i) {
    std::optional<int> v = co_await s.next();
    EXPECT_EQ(v, i);
  }
  co_await producer;
  std::optional<int> end = co_await s.next();
  EXPECT_FALSE(end.has_value());
}

kyoto::stream<kyoto::test::drop_counter> holds_local(std::atomic<int>* drops,
                                                     mpsc::receiver<int> rx) {
  kyoto::test::drop_counter local(*drops);
  co_yield kyoto::test::drop_counter(*drops);
  std::optional<int> never = co_await rx.recv();  // waits here when destroyed
  (void)never;
  co_yield kyoto::test::drop_counter(*drops);
}

KYOTO_TEST(Stream, DestroyingMidStreamRunsTheBodysDestructors) {
  std::atomic<int> drops{0};
  auto [tx, rx] = mpsc::channel<int>(1);
  {
    auto s = holds_local(&drops, std::move(rx));
    {
      std::optional<kyoto::test::drop_counter> first = co_await s.next();
      EXPECT_TRUE(first.has_value());
    }
    EXPECT_EQ(drops.load(), 1);  // the item
    // The body waits on the channel: next() times out, leaving it there.
    auto r = co_await kyoto::time::timeout(5ms, s.next());
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(drops.load(), 1);
  }
  EXPECT_EQ(drops.load(), 2);  // `local`
  // The receiver went with the body's frame.
  EXPECT_TRUE(tx.is_closed());
}

KYOTO_TEST(Stream, DestroyingAnUnstartedStreamRunsNothing) {
  std::atomic<int> drops{0};
  auto [tx, rx] = mpsc::channel<int>(1);
  {
    auto s = holds_local(&drops, std::move(rx));
  }
  EXPECT_EQ(drops.load(), 0);
  EXPECT_TRUE(tx.is_closed());
  co_return;
}

// The hard case: next() loses a select to a ready branch while the body
// waits on recv(); the value sent later is the next item, and the later
// wake resumes nothing of the consumer.
KYOTO_CT_TEST(Stream, NextLosingASelectLosesNothing) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  auto first = co_await kyoto::time::timeout(1ms, s.next());  // the body now waits in recv()
  EXPECT_FALSE(first.has_value());
  for (int round = 0; round < 10; ++round) {
    auto [otx, orx] = kyoto::sync::oneshot::channel<int>();
    (void)otx.send(int{round});
    // next() is asked first: it attaches and suspends; the oneshot wins.
    auto r = co_await kyoto::select_biased(s.next(), std::move(orx));
    EXPECT_EQ(r.index(), 1u);
    // The body is still in recv(); now wake it with no next() there.
    auto sent = co_await tx.send(int{round * 10});
    EXPECT_TRUE(sent.has_value());
    co_await kyoto::yield_now();  // let a wrong resumption show itself
    std::optional<int> v = co_await s.next();
    EXPECT_EQ(v, round * 10);
  }
}

KYOTO_CT_TEST(Stream, NextLosingASelectToALaterBranch) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  for (int round = 0; round < 10; ++round) {
    // The select suspends in next() first; the sleep wins.
    auto r = co_await kyoto::select(s.next(), kyoto::time::sleep(1ms));
    EXPECT_EQ(r.index(), 1u);
  }
  auto sent = co_await tx.send(int{7});
  EXPECT_TRUE(sent.has_value());
  std::optional<int> v = co_await s.next();
  EXPECT_EQ(v, 7);
}

KYOTO_TEST(Stream, NextUnderTimeoutElapsingRepeatedly) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  for (int round = 0; round < 20; ++round) {
    auto r = co_await kyoto::time::timeout(1ms, s.next());
    EXPECT_FALSE(r.has_value());
  }
  auto sent = co_await tx.send(int{42});
  EXPECT_TRUE(sent.has_value());
  auto r = co_await kyoto::time::timeout(1s, s.next());
  EXPECT_TRUE(r.has_value() && *r == 42);
}

// The body is woken (its pump queued on the task) and, in the same run, a
// branch woken earlier wins the select: the cancelled next() takes its
// pump's node back (purge) and the value is the next item.
KYOTO_CT_TEST(Stream, WokenThenCancelledNextLosesNothing) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  auto [otx, orx] = kyoto::sync::oneshot::channel<int>();
  auto waker = kyoto::spawn(
      [](mpsc::sender<int> out, kyoto::sync::oneshot::sender<int> done) -> kyoto::task<> {
        (void)done.send(1);                  // the other branch first
        auto r = co_await out.send(int{5});  // then the body: its pump is queued
        EXPECT_TRUE(r.has_value());
      },
      std::move(tx), std::move(otx));
  auto r = co_await kyoto::select_biased(s.next(), std::move(orx));
  EXPECT_EQ(r.index(), 1u);
  std::optional<int> v = co_await s.next();
  EXPECT_EQ(v, 5);
  co_await waker;
}

// As above, the body woken first: its next() wins with the value.
KYOTO_CT_TEST(Stream, WokenFirstNextWinsTheSelect) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  auto [otx, orx] = kyoto::sync::oneshot::channel<int>();
  auto waker = kyoto::spawn(
      [](mpsc::sender<int> out, kyoto::sync::oneshot::sender<int> done) -> kyoto::task<> {
        auto r = co_await out.send(int{5});
        EXPECT_TRUE(r.has_value());
        (void)done.send(1);
      },
      std::move(tx), std::move(otx));
  auto r = co_await kyoto::select_biased(s.next(), std::move(orx));
  EXPECT_EQ(r.index(), 0u);
  if (r.index() == 0) {
    EXPECT_EQ(std::get<0>(r), 5);
  }
  co_await waker;
}

KYOTO_TEST(Stream, AbortingTheConsumerWhileNextWaitsDestroysTheBody) {
  std::atomic<int> drops{0};
  auto [tx, rx] = mpsc::channel<int>(1);
  auto h = kyoto::spawn(
      [](kyoto::stream<kyoto::test::drop_counter> s) -> kyoto::task<> {
        std::optional<kyoto::test::drop_counter> first = co_await s.next();
        EXPECT_TRUE(first.has_value());
        std::optional<kyoto::test::drop_counter> never = co_await s.next();  // aborted here
        ADD_FAILURE() << "resumed after abort";
      },
      holds_local(&drops, std::move(rx)));
  co_await kyoto::time::sleep(10ms);  // it waits in its second next() by now
  EXPECT_EQ(drops.load(), 0);
  h.abort();
  bool cancelled = false;
  try {
    co_await h;
  } catch (const kyoto::join_error& e) {
    cancelled = e.is_cancelled();
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(drops.load(), 2);  // the consumer's item and the body's local
  EXPECT_TRUE(tx.is_closed());
}

KYOTO_TEST(Stream, MovesBetweenTasksBetweenItems) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = from_channel(std::move(rx));
  auto r = co_await kyoto::time::timeout(1ms, s.next());  // left waiting in this task
  EXPECT_FALSE(r.has_value());
  auto h = kyoto::spawn(
      [](kyoto::stream<int> in) -> kyoto::task<int> {
        std::optional<int> v = co_await in.next();
        co_return v.value_or(-1);
      },
      std::move(s));
  auto sent = co_await tx.send(int{3});
  EXPECT_TRUE(sent.has_value());
  const int got = co_await h;
  EXPECT_EQ(got, 3);
}

kyoto::stream<int> inner_then_outer(mpsc::receiver<int> rx) {
  auto inner = from_channel(std::move(rx));
  for (;;) {
    std::optional<int> v = co_await inner.next();
    if (!v) co_return;
    co_yield *v + 1000;
  }
}

KYOTO_CT_TEST(Stream, NestedStreamsAreCancelSafe) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto s = inner_then_outer(std::move(rx));
  for (int round = 0; round < 5; ++round) {
    auto r = co_await kyoto::time::timeout(1ms, s.next());
    EXPECT_FALSE(r.has_value());
    auto sent = co_await tx.send(int{round});
    EXPECT_TRUE(sent.has_value());
    std::optional<int> v = co_await s.next();
    EXPECT_EQ(v, round + 1000);
  }
}

kyoto::stream<int> sleepy(int n) {
  for (int i = 0; i < n; ++i) {
    co_await kyoto::time::sleep(1ms);
    co_yield i;
  }
}

KYOTO_TEST(Stream, BodyAwaitsSleeps) {
  auto s = sleepy(5);
  int expect = 0;
  for (;;) {
    std::optional<int> v = co_await s.next();
    if (!v) break;
    EXPECT_EQ(*v, expect++);
  }
  EXPECT_EQ(expect, 5);
}

KYOTO_TEST(Stream, BodyYieldingTheTaskKeepsGoing) {
  auto make = [](int n) -> kyoto::stream<int> {
    for (int i = 0; i < n; ++i) {
      co_await kyoto::yield_now();
      co_yield i;
    }
  };
  auto s = make(300);
  int sum = 0;
  for (;;) {
    std::optional<int> v = co_await s.next();
    if (!v) break;
    sum += *v;
  }
  EXPECT_EQ(sum, 299 * 300 / 2);
}

// Multi-thread: the body waits on values sent from tasks on other workers
// (and from a plain thread), while the consumer keeps timing out.
KYOTO_TEST(Stream, WakesFromOtherWorkersAndThreads) {
  auto [tx, rx] = mpsc::channel<int>(8);
  auto s = from_channel(std::move(rx));
  constexpr int per_sender = 500;
  std::vector<kyoto::join_handle<void>> senders;
  for (int k = 0; k < 3; ++k) {
    senders.push_back(kyoto::spawn(
        [](mpsc::sender<int> out) -> kyoto::task<> {
          for (int i = 0; i < per_sender; ++i) {
            auto r = co_await out.send(int{1});
            EXPECT_TRUE(r.has_value());
            if (i % 7 == 0) co_await kyoto::yield_now();
          }
        },
        tx));
  }
  std::thread plain([out = tx]() mutable {
    for (int i = 0; i < per_sender; ++i)
      EXPECT_TRUE(out.blocking_send(1).has_value());
  });
  {
    auto drop = std::move(tx);
  }
  long total = 0;
  int timeouts = 0;
  while (total < 4L * per_sender) {
    auto r = co_await kyoto::time::timeout(50us, s.next());
    if (!r.has_value()) {
      ++timeouts;
      continue;
    }
    EXPECT_TRUE(r->has_value());
    if (!r->has_value()) break;
    total += **r;
  }
  for (auto& h : senders)
    co_await h;
  plain.join();
  std::optional<int> end = co_await s.next();
  EXPECT_FALSE(end.has_value());
  EXPECT_EQ(total, 4 * per_sender);
  ::testing::Test::RecordProperty("timeouts", timeouts);
}

// A wake from a plain thread pushes the stream's pump onto the consumer's
// task and then marks the link woken; another worker may already run the
// pump in between. The pump's step() must wait that wake out instead of
// taking it for a second next() (it used to assert, and in release builds
// the late `woken` store could overwrite the state the step had set). Each
// item here is such a cross-thread wake on a capacity-1 channel.
KYOTO_TEST_WITH(Stream, APumpRunBeforeItsWakeEndsIsOneNext,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto s = from_channel(std::move(rx));
  constexpr int items = 20000;
  std::thread plain([out = std::move(tx)]() mutable {
    for (int i = 0; i < items; ++i)
      EXPECT_TRUE(out.blocking_send(int{i}).has_value());
  });
  int expected = 0;
  while (std::optional<int> v = co_await s.next()) {
    EXPECT_EQ(*v, expected);
    ++expected;
  }
  plain.join();
  EXPECT_EQ(expected, items);
}

}  // namespace
