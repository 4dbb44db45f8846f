#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

kyoto::task<int> add(int a, int b) {
  co_return a + b;
}

KYOTO_TEST(Spawn, ATaskRunsAndItsHandleGivesTheValue) {
  kyoto::join_handle<int> h = kyoto::spawn(add(2, 3));
  EXPECT_EQ(co_await h, 5);
}

KYOTO_TEST(Spawn, ACallableWithArgumentsIsInvokedOnce) {
  int calls = 0;
  auto h = kyoto::spawn(
      [&calls](int a, int b) -> kyoto::task<int> {
        ++calls;
        co_return a* b;
      },
      6, 7);
  EXPECT_EQ(co_await h, 42);
  EXPECT_EQ(calls, 1);
}

// The classic dangling-capture trap: a coroutine lambda's captures live in
// the lambda object, not the frame. spawn(callable) keeps the lambda alive
// for the task's whole life, across suspensions.
KYOTO_TEST(Spawn, CapturesOfASpawnedLambdaOutliveItsSuspensions) {
  auto h = kyoto::spawn(
      [s = std::string(100, 'x'), v = std::vector<int>{1, 2, 3}]() -> kyoto::task<std::size_t> {
        co_await kyoto::yield_now();
        co_await kyoto::time::sleep(1ms);
        co_return s.size() + v.size();
      });
  EXPECT_EQ(co_await h, 103u);
}

KYOTO_TEST(Spawn, ReferenceParametersReferToTheStoredArguments) {
  auto h = kyoto::spawn(
      [](const std::string& s) -> kyoto::task<std::string> {
        co_await kyoto::yield_now();
        co_return s + "!";
      },
      std::string("stored"));
  EXPECT_EQ(co_await h, "stored!");
}

KYOTO_TEST(Spawn, TheCallableIsDestroyedWhenTheTaskCompletes) {
  std::atomic<int> dropped{0};
  auto h =
      kyoto::spawn([guard = kyoto::test::drop_counter(dropped)]() -> kyoto::task<> { co_return; });
  while (!h.is_finished())
    co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), 1);  // before the handle is awaited or dropped
  co_await h;
}

// A small callable and its arguments share the bytes of the result slot
// until the task ends (task_cell.hpp): the value, an exception and an abort
// must each still arrive intact, and the arguments be destroyed once.
KYOTO_TEST(Spawn, ASmallLauncherGivesWayToTheValueWhenTheTaskCompletes) {
  std::atomic<int> dropped{0};
  auto h = kyoto::spawn([guard = kyoto::test::drop_counter(dropped)]() -> kyoto::task<std::string> {
    co_await kyoto::yield_now();
    co_return std::string(64, 'v');
  });
  while (!h.is_finished())
    co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), 1);  // the callable went when the task ended
  EXPECT_EQ(co_await h, std::string(64, 'v'));
}

KYOTO_TEST(Spawn, ASmallLauncherGivesWayToTheExceptionWhenTheTaskThrows) {
  std::atomic<int> dropped{0};
  auto h = kyoto::spawn([guard = kyoto::test::drop_counter(dropped)]() -> kyoto::task<long> {
    co_await kyoto::yield_now();
    throw std::length_error("thrown on purpose");
  });
  while (!h.is_finished())
    co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_THROW(co_await h, std::length_error);
}

KYOTO_TEST(Spawn, AnAbortedTaskDestroysItsSmallLauncherAndReportsCancelled) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [guard = kyoto::test::drop_counter(dropped)](
          kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<std::string> {
        const auto got = co_await r;
        co_return std::to_string(*got);
      },
      std::move(rx));
  co_await kyoto::yield_now();
  h.abort();
  if (const auto e = co_await kyoto::test::expect_throws_async<kyoto::join_error>(
          [&]() -> auto& { return h; })) {
    EXPECT_TRUE(e->is_cancelled());
  }
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_FALSE(tx.send(1).has_value());  // the receiver went with the launcher
}

KYOTO_TEST(Spawn, TheTasksExceptionIsRethrownByTheHandle) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    throw std::out_of_range("out of range on purpose");
  });
  co_await kyoto::test::expect_throws_async<std::out_of_range>(
      [&]() -> auto& { return h; }, kyoto::test::whole_message("out of range on purpose"));
}

KYOTO_CT_TEST(Spawn, SpawnedTasksRunConcurrentlyWithTheSpawner) {
  bool started = false;
  auto h = kyoto::spawn([&started]() -> kyoto::task<> {
    started = true;
    co_return;
  });
  EXPECT_FALSE(started);  // queued, not run inline
  co_await kyoto::yield_now();
  EXPECT_TRUE(started);
  co_await h;
}

KYOTO_TEST(Spawn, ADroppedHandleDetachesTheTaskWhichStillRuns) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  {
    auto h = kyoto::spawn(
        [](kyoto::sync::oneshot::sender<int> out) -> kyoto::task<> {
          co_await kyoto::yield_now();
          out.send(9).value();
        },
        std::move(tx));
  }
  auto v = co_await rx;
  EXPECT_EQ(v.value(), 9);
}

KYOTO_TEST(Spawn, IsFinishedTurnsTrueWhenTheTaskEnds) {
  auto h = kyoto::spawn([]() -> kyoto::task<> {
    co_await kyoto::yield_now();
    co_await kyoto::yield_now();
  });
  EXPECT_FALSE(h.is_finished());
  while (!h.is_finished())
    co_await kyoto::yield_now();
  co_await h;
}

KYOTO_CT_TEST(Spawn, AbortCancelsASuspendedTaskAndRunsItsDestructors) {
  std::atomic<int> dropped{0};
  bool resumed = false;
  auto h = kyoto::spawn(
      [&resumed](kyoto::test::drop_counter guard) -> kyoto::task<> {
        co_await kyoto::time::sleep(1h);
        resumed = true;
        (void)guard;
      },
      kyoto::test::drop_counter(dropped));
  co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), 0);
  h.abort();
  EXPECT_TRUE(co_await kyoto::test::ended_cancelled(h));
  EXPECT_FALSE(resumed);
  EXPECT_EQ(dropped.load(), 1);  // the guard the frame held (moves hand it on)
}

KYOTO_CT_TEST(Spawn, AbortBeforeTheFirstRunCancelsWithoutRunning) {
  bool ran = false;
  auto h = kyoto::spawn([&ran]() -> kyoto::task<> {
    ran = true;
    co_return;
  });
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_FALSE(ran);
}

KYOTO_TEST(Spawn, AbortingAFinishedTaskKeepsItsResult) {
  auto h = kyoto::spawn(add(1, 1));
  while (!h.is_finished())
    co_await kyoto::yield_now();
  h.abort();
  EXPECT_EQ(co_await h, 2);
}

KYOTO_TEST(Spawn, ATaskAbortingItselfStopsAtItsNextSuspension) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<kyoto::join_handle<void>*>();
  int steps = 0;
  auto h = kyoto::spawn(
      [&steps](kyoto::sync::oneshot::receiver<kyoto::join_handle<void>*> self) -> kyoto::task<> {
        auto me = co_await self;
        (*me)->abort();
        ++steps;  // still running: abort takes effect at the next suspension
        co_await kyoto::yield_now();
        ++steps;
      },
      std::move(rx));
  tx.send(&h).value();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(steps, 1);
}

KYOTO_TEST(Spawn, AwaitingAHandleTwiceThrowsLogicError) {
  auto h = kyoto::spawn(add(1, 2));
  EXPECT_EQ(co_await h, 3);
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return h; },
                                                              "awaited twice");
}

KYOTO_TEST(Spawn, AnEmptyHandleThrowsLogicErrorNamingTheOperation) {
  auto h = kyoto::spawn(add(1, 2));
  auto moved = std::move(h);
  EXPECT_FALSE(h.valid());  // NOLINT(bugprone-use-after-move): under test
  kyoto::test::expect_throws<std::logic_error>([&] { h.abort(); }, "kyoto::join_handle::abort");
  EXPECT_THROW(co_await h, std::logic_error);
  EXPECT_EQ(co_await moved, 3);
}

KYOTO_TEST(Spawn, CancellingAJoinAwaitLeavesTheHandleUsable) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto target = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<int> in) -> kyoto::task<int> {
        auto v = co_await in;
        co_return v.value() * 2;
      },
      std::move(rx));
  // A task that awaits the handle, then is aborted while waiting.
  auto waiter = kyoto::spawn(
      [](kyoto::join_handle<int>* t) -> kyoto::task<int> { co_return co_await *t; }, &target);
  co_await kyoto::yield_now();
  waiter.abort();
  EXPECT_THROW(co_await waiter, kyoto::join_error);
  tx.send(21).value();
  EXPECT_EQ(co_await target, 42);
}

KYOTO_CT_TEST(Spawn, AJoinAwaitCancelledAfterTheTaskCompletedLosesNothing) {
  // The awaiting task is woken by the completion, then aborted before it
  // runs: the result stays in the handle.
  auto target = kyoto::spawn([]() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    co_return 5;
  });
  auto waiter = kyoto::spawn(
      [](kyoto::join_handle<int>* t) -> kyoto::task<int> { co_return co_await *t; }, &target);
  co_await kyoto::yield_now();  // waiter waits on target; target yields
  co_await kyoto::yield_now();  // target completes and wakes waiter
  waiter.abort();               // waiter is queued, not yet resumed
  EXPECT_THROW(co_await waiter, kyoto::join_error);
  EXPECT_EQ(co_await target, 5);
}

TEST(Spawn, SpawnOutsideARuntimeThreadThrowsLogicError) {
  kyoto::test::expect_throws<std::logic_error>([&] { auto h = kyoto::spawn(add(1, 1)); },
                                               "kyoto::spawn");
}

KYOTO_TEST(Spawn, SpawningAnEmptyTaskThrowsLogicError) {
  kyoto::task<int> t = add(1, 1);
  kyoto::task<int> u = std::move(t);
  EXPECT_THROW(kyoto::spawn(std::move(t)), std::logic_error);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(co_await kyoto::spawn(std::move(u)), 2);
}

KYOTO_TEST(Spawn, SpawningATaskThatWasAlreadyAwaitedThrowsLogicError) {
  kyoto::task<int> t = add(1, 1);
  EXPECT_EQ(co_await t, 2);
  kyoto::test::expect_throws<std::logic_error>([&] { kyoto::spawn(std::move(t)); },
                                               "already awaited");
}

// join(h, h): two coroutines awaiting one handle at once is a misuse, reported
// by the second await; the handle stays usable.
KYOTO_TEST(Spawn, AwaitingOneHandleFromTwoCoroutinesAtOnceThrowsLogicError) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    co_return 3;
  });
  co_await kyoto::test::expect_throws_async<std::logic_error>([&] { return kyoto::join(h, h); },
                                                              "awaited by two coroutines at once");
  EXPECT_EQ(co_await h, 3);
}

KYOTO_TEST(Spawn, AThousandTasksAllComplete) {
  std::vector<kyoto::join_handle<int>> handles;
  for (int i = 0; i < 1000; ++i) {
    handles.push_back(kyoto::spawn(
        [](int x) -> kyoto::task<int> {
          co_await kyoto::yield_now();
          co_return x;
        },
        i));
  }
  long sum = 0;
  for (auto& h : handles)
    sum += co_await h;
  EXPECT_EQ(sum, 999L * 1000 / 2);
}

}  // namespace
