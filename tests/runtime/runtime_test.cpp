// The runtime and its handle: block_on, spawning from any thread, waking a
// parked runtime from plain threads, shutdown. Includes the applicable
// cases of tokio's tests/rt_common.rs, each on every flavour (RtCommon).
#include "drop_counter.hpp"
#include "errors.hpp"
#include "flavours.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using kyoto::test::make_runtime;

/// tokio's rt_common.rs cases: each runs on every flavour.
class RtCommon : public ::testing::TestWithParam<kyoto::test::flavour> {};

kyoto::task<int> value_after_yield(int v) {
  co_await kyoto::yield_now();
  co_return v;
}

TEST_P(RtCommon, BlockOnReturnsTheValue) {
  kyoto::runtime rt = make_runtime(GetParam());
  EXPECT_EQ(rt.block_on(value_after_yield(3)), 3);
}

TEST_P(RtCommon, BlockOnRethrowsTheException) {
  kyoto::runtime rt = make_runtime(GetParam());
  auto fails = []() -> kyoto::task<> {
    co_await kyoto::yield_now();
    throw std::runtime_error("failed on purpose");
  };
  EXPECT_THROW(rt.block_on(fails()), std::runtime_error);
}

TEST(Runtime, BlockOnAcceptsAJoinHandle) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  auto h = rt.spawn(value_after_yield(11));
  EXPECT_EQ(rt.block_on(h), 11);
}

// tokio rt_common: spawn_one_bg / spawn_two / spawn_many_from_block_on
TEST_P(RtCommon, TasksSpawnedBeforeBlockOnRunDuringIt) {
  kyoto::runtime rt = make_runtime(GetParam());
  std::vector<kyoto::join_handle<int>> handles;
  for (int i = 0; i < 100; ++i)
    handles.push_back(rt.spawn(value_after_yield(i)));
  const int sum = rt.block_on([](std::vector<kyoto::join_handle<int>>& hs) -> kyoto::task<int> {
    int s = 0;
    for (auto& h : hs)
      s += co_await h;
    co_return s;
  }(handles));
  EXPECT_EQ(sum, 99 * 100 / 2);
}

// tokio rt_common: spawn_await_chain
TEST_P(RtCommon, AChainOfSpawnsAwaitingEachOtherCompletes) {
  kyoto::runtime rt = make_runtime(GetParam());
  auto chain = [](auto& self, int n) -> kyoto::task<int> {
    if (n == 0) co_return 0;
    auto h = kyoto::spawn(self(self, n - 1));
    co_return 1 + co_await h;
  };
  EXPECT_EQ(rt.block_on(chain(chain, 100)), 100);
}

// tokio rt_common: nested_rt
TEST_P(RtCommon, BlockOnInsideATaskThrowsLogicError) {
  kyoto::runtime rt = make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    kyoto::runtime inner;
    kyoto::test::expect_throws<std::logic_error>([&] { inner.block_on(value_after_yield(1)); },
                                                 "kyoto::runtime::block_on");
    co_return;
  }());
}

// tokio rt_common: create_rt_in_block_on
TEST_P(RtCommon, ARuntimeCanBeCreatedAndDroppedInsideATask) {
  kyoto::runtime rt = make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    kyoto::runtime inner;
    auto h = inner.spawn(value_after_yield(1));
    co_return;  // inner is dropped here, cancelling h's task
  }());
}

TEST(Runtime, ACurrentThreadRuntimeStaysOnTheThreadThatFirstDroveIt) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  EXPECT_EQ(rt.block_on(value_after_yield(1)), 1);
  std::thread other([&] {
    kyoto::test::expect_throws<std::logic_error>([&] { rt.block_on(value_after_yield(2)); },
                                                 "the thread that first ran it");
  });
  other.join();
  EXPECT_EQ(rt.block_on(value_after_yield(3)), 3);
}

TEST(Runtime, TwoThreadsInBlockOnAtOnceIsALogicError) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  std::atomic<bool> started{false};
  std::thread driver([&rt, &started, in = std::move(rx)]() mutable {
    (void)rt.block_on(
        [](std::atomic<bool>& s, kyoto::sync::oneshot::receiver<int>& r) -> kyoto::task<int> {
          s = true;
          auto v = co_await r;
          co_return v.value();
        }(started, in));
  });
  while (!started.load())
    std::this_thread::yield();
  kyoto::test::expect_throws<std::logic_error>([&] { rt.block_on(value_after_yield(1)); },
                                               "another thread is in block_on");
  tx.send(1).value();
  driver.join();
}

TEST(Runtime, AMovedFromRuntimeThrowsLogicError) {
  kyoto::runtime a;
  kyoto::runtime b = std::move(a);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): under test
      [&] { a.block_on(value_after_yield(1)); }, "moved from");
  EXPECT_THROW((void)a.handle(), std::logic_error);
  EXPECT_EQ(b.block_on(value_after_yield(2)), 2);
}

TEST(Runtime, HandleCurrentOutsideARuntimeThrowsLogicError) {
  kyoto::test::expect_throws<std::logic_error>([&] { (void)kyoto::handle::current(); },
                                               "kyoto::handle::current");
}

TEST(Runtime, HandleCurrentInsideATaskIsItsRuntime) {
  kyoto::runtime rt;
  kyoto::handle outer = rt.handle();
  rt.block_on([](kyoto::handle expected) -> kyoto::task<> {
    kyoto::handle h = kyoto::handle::current();
    EXPECT_TRUE(h == expected);
    EXPECT_EQ(co_await h.spawn(value_after_yield(5)), 5);
  }(outer));
}

// A plain thread spawning through a handle must wake the runtime thread,
// which is parked in its io_uring ring (nothing else to do).
TEST(Runtime, ASpawnFromAPlainThreadWakesAParkedRuntime) {
  kyoto::runtime rt;
  kyoto::handle h = rt.handle();
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  std::thread spawner([h, out = std::move(tx)]() mutable {
    h.spawn(
        [](kyoto::sync::oneshot::sender<int> sink) -> kyoto::task<> {
          sink.send(17).value();
          co_return;
        },
        std::move(out));
  });
  auto v = rt.block_on(std::move(rx));
  spawner.join();
  EXPECT_EQ(v.value(), 17);
}

TEST(Runtime, APlainThreadSendingOnAChannelWakesAParkedRuntime) {
  kyoto::runtime rt;
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  std::thread producer([out = std::move(tx)]() mutable {
    for (int i = 0; i < 1000; ++i) {
      out.send(i).value();
      if (i % 100 == 0) std::this_thread::yield();
    }
  });
  const long sum = rt.block_on([](kyoto::sync::mpsc::receiver<int>& in) -> kyoto::task<long> {
    long s = 0;
    while (auto v = co_await in.recv())
      s += *v;
    co_return s;
  }(rx));
  producer.join();
  EXPECT_EQ(sum, 999L * 1000 / 2);
}

// tokio rt_common: outstanding_tasks_dropped
TEST_P(RtCommon, DroppingTheRuntimeCancelsItsTasksAndRunsTheirDestructors) {
  std::atomic<int> dropped{0};
  kyoto::join_handle<void> pending;
  {
    kyoto::runtime rt = make_runtime(GetParam());
    pending = rt.spawn(
        [](kyoto::test::drop_counter guard) -> kyoto::task<> {
          co_await kyoto::time::sleep(1h);
          (void)guard;
        },
        kyoto::test::drop_counter(dropped));
    rt.block_on(kyoto::yield_now());  // the task starts and sleeps
    EXPECT_EQ(dropped.load(), 0);
  }
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_TRUE(pending.is_finished());
}

TEST(Runtime, TasksNeverRunAreCancelledAtShutdown) {
  std::atomic<int> dropped{0};
  bool ran = false;
  {
    // current_thread: a worker of a multi_thread runtime could run it first.
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    rt.spawn(
        [&ran](kyoto::test::drop_counter) -> kyoto::task<> {
          ran = true;
          co_return;
        },
        kyoto::test::drop_counter(dropped));
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(dropped.load(), 1);
}

TEST_P(RtCommon, SpawnAfterShutdownGivesACancelledTask) {
  std::optional<kyoto::handle> h;
  {
    kyoto::runtime rt = make_runtime(GetParam());
    h = rt.handle();
  }
  bool ran = false;
  auto j = h->spawn([&ran]() -> kyoto::task<> {
    ran = true;
    co_return;
  });
  EXPECT_TRUE(j.is_finished());
  EXPECT_FALSE(ran);
  kyoto::runtime other = make_runtime(GetParam());
  EXPECT_THROW(other.block_on(j), kyoto::join_error);
}

// tokio rt_common: wake_while_rt_is_dropping. Destructors that run during
// shutdown wake and spawn; nothing may run, leak or crash.
TEST_P(RtCommon, WakesAndSpawnsDuringShutdownAreHandled) {
  std::atomic<int> dropped{0};
  {
    kyoto::runtime rt = make_runtime(GetParam());
    auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
    // Waits on the channel; cancelled at shutdown.
    rt.spawn(
        [](kyoto::sync::mpsc::receiver<int> in, kyoto::test::drop_counter) -> kyoto::task<> {
          while (co_await in.recv()) {
          }
        },
        std::move(rx), kyoto::test::drop_counter(dropped));
    // Its destructor (at shutdown) drops a sender, waking the receiver.
    rt.spawn(
        [](kyoto::sync::mpsc::sender<int> out, kyoto::test::drop_counter) -> kyoto::task<> {
          co_await kyoto::time::sleep(1h);
          (void)out;
        },
        std::move(tx), kyoto::test::drop_counter(dropped));
    rt.block_on(kyoto::yield_now());
  }
  EXPECT_EQ(dropped.load(), 2);
}

TEST_P(RtCommon, TasksLeftByOneBlockOnContinueInTheNext) {
  kyoto::runtime rt = make_runtime(GetParam());
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h = rt.spawn(
      [](kyoto::sync::oneshot::receiver<int> in) -> kyoto::task<int> {
        auto v = co_await in;
        co_return v.value() + 1;
      },
      std::move(rx));
  rt.block_on(kyoto::yield_now());
  EXPECT_FALSE(h.is_finished());
  tx.send(41).value();
  EXPECT_EQ(rt.block_on(h), 42);
}

TEST_P(RtCommon, AMovedRuntimeKeepsItsTasks) {
  kyoto::runtime a = make_runtime(GetParam());
  auto h = a.spawn(value_after_yield(8));
  kyoto::runtime b = std::move(a);
  EXPECT_EQ(b.block_on(h), 8);
}

// yield_now re-queues the task behind the tasks already ready (an order
// only a single thread makes deterministic).
KYOTO_TEST_WITH(Runtime, YieldNowRunsTheOtherReadyTasksFirst,
                kyoto::runtime::builder::current_thread()) {
  std::vector<int> order;
  auto h1 = kyoto::spawn([&order]() -> kyoto::task<> {
    order.push_back(1);
    co_await kyoto::yield_now();
    order.push_back(3);
  });
  auto h2 = kyoto::spawn([&order]() -> kyoto::task<> {
    order.push_back(2);
    co_await kyoto::yield_now();
    order.push_back(4);
  });
  co_await h1;
  co_await h2;
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

// tokio rt_common: complete_block_on_under_load
TEST_P(RtCommon, BlockOnCompletesWhileOtherTasksKeepTheRuntimeBusy) {
  kyoto::runtime rt = make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    std::atomic<bool> stop{false};
    auto busy = kyoto::spawn([&stop]() -> kyoto::task<> {
      while (!stop.load())
        co_await kyoto::yield_now();
    });
    co_await kyoto::time::sleep(5ms);
    stop = true;
    co_await busy;
  }());
}

TEST(Runtime, APlainTestThreadIsNotARuntimeThread) {
  // KYOTO_TEST itself is exercised by every KYOTO_TEST; this checks the
  // plain-thread side stays a non-runtime thread.
  EXPECT_THROW((void)kyoto::handle::current(), std::logic_error);
}

KYOTO_INSTANTIATE_FLAVOURS(RtCommon);

}  // namespace
