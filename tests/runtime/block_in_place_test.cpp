// kyoto::block_in_place (tokio/tests/task_blocking.rs and rt_threaded.rs's
// block_in_place cases): blocking code runs on the calling worker, whose
// queued tasks and timers are taken over meanwhile; refused on a
// current_thread runtime.
#include "errors.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

kyoto::runtime multi_thread() {
  return kyoto::runtime::builder::multi_thread().worker_threads(2).build();
}

TEST(BlockInPlace, ReturnsWhatTheFunctionReturns) {
  kyoto::runtime rt = multi_thread();
  const std::string out = rt.block_on([]() -> kyoto::task<std::string> {
    auto h = kyoto::spawn([]() -> kyoto::task<std::string> {
      co_return kyoto::block_in_place([] {
        std::this_thread::sleep_for(5ms);
        return std::string("hello");
      });
    });
    co_return co_await h;
  }());
  EXPECT_EQ(out, "hello");
}

TEST(BlockInPlace, NestedBlockInPlaceJustRuns) {
  // tokio's block_in_block.
  kyoto::runtime rt = multi_thread();
  for (int i = 0; i < 20; ++i) {
    const int out = rt.block_on([]() -> kyoto::task<int> {
      auto h = kyoto::spawn([]() -> kyoto::task<int> {
        co_return kyoto::block_in_place([] {
          kyoto::block_in_place([] { std::this_thread::sleep_for(1ms); });
          return 42;
        });
      });
      co_return co_await h;
    }());
    EXPECT_EQ(out, 42);
  }
}

TEST(BlockInPlace, AllowedInMultiThreadBlockOn) {
  // tokio's yes_block_in_threaded_block_on.
  kyoto::runtime rt = multi_thread();
  int calls = 0;
  rt.block_on([&]() -> kyoto::task<> {
    kyoto::block_in_place([&] { ++calls; });
    co_return;
  }());
  EXPECT_EQ(calls, 1);
}

TEST(BlockInPlace, RefusedOnACurrentThreadRuntime) {
  // tokio's no_block_in_current_thread_scheduler and
  // no_block_in_current_thread_block_on (tokio panics).
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  bool called = false;
  rt.block_on([&]() -> kyoto::task<> {
    kyoto::test::expect_throws<std::logic_error>(
        [&] { kyoto::block_in_place([&] { called = true; }); },
        "kyoto::block_in_place: called on a current_thread runtime");
    auto h = kyoto::spawn([&]() -> kyoto::task<> {
      kyoto::test::expect_throws<std::logic_error>(
          [&] { kyoto::block_in_place([&] { called = true; }); }, "kyoto::block_in_place");
      co_return;
    });
    co_await h;
  }());
  EXPECT_FALSE(called);
}

TEST(BlockInPlace, RunsOnABlockingPoolThread) {
  // tokio's basic_blocking / block_in_place inside spawn_blocking.
  kyoto::runtime rt = multi_thread();
  const std::string out = rt.block_on([]() -> kyoto::task<std::string> {
    auto h = kyoto::spawn_blocking([] {
      kyoto::block_in_place([] { std::this_thread::sleep_for(1ms); });
      return std::string("hello");
    });
    co_return co_await h;
  }());
  EXPECT_EQ(out, "hello");
}

TEST(BlockInPlace, RunsOnAPlainThread) {
  EXPECT_EQ(kyoto::block_in_place([] { return 7; }), 7);
}

TEST(BlockInPlace, CanBlockOnACurrentThreadRuntimeFromWithin) {
  // tokio's can_enter_current_thread_rt_from_within_block_in_place.
  kyoto::runtime outer = multi_thread();
  const int out = outer.block_on([]() -> kyoto::task<int> {
    co_return kyoto::block_in_place([] {
      kyoto::runtime inner = kyoto::runtime::builder::current_thread().build();
      return inner.block_on([]() -> kyoto::task<int> {
        co_await kyoto::time::sleep(1ms);
        co_return 5;
      }());
    });
  }());
  EXPECT_EQ(out, 5);
}

TEST(BlockInPlace, QueuedTasksRunElsewhereMeanwhile) {
  // The task spawned just before blocking sits in this worker's LIFO slot,
  // which nobody steals: it runs only because block_in_place hands it over.
  kyoto::runtime rt = multi_thread();
  const bool ran = rt.block_on([]() -> kyoto::task<bool> {
    auto h = kyoto::spawn([]() -> kyoto::task<bool> {
      std::promise<void> done;
      std::future<void> other_ran = done.get_future();
      auto other = kyoto::spawn([&done]() -> kyoto::task<> {
        done.set_value();
        co_return;
      });
      const bool ok = kyoto::block_in_place(
          [&] { return other_ran.wait_for(10s) == std::future_status::ready; });
      co_await other;
      co_return ok;
    });
    co_return co_await h;
  }());
  EXPECT_TRUE(ran);
}

TEST(BlockInPlace, TimersOfTheBlockedWorkerStillFire) {
  // A sleep registered on this worker just before it blocks completes
  // while it is blocked (the watchdog fires its timers).
  kyoto::runtime rt = multi_thread();
  const bool woke = rt.block_on([]() -> kyoto::task<bool> {
    auto h = kyoto::spawn([]() -> kyoto::task<bool> {
      std::promise<void> done;
      std::future<void> slept = done.get_future();
      auto sleeper = kyoto::spawn([&done]() -> kyoto::task<> {
        co_await kyoto::time::sleep(20ms);
        done.set_value();
      });
      co_await kyoto::yield_now();  // the sleeper runs (LIFO) and sets its timer here
      const bool ok =
          kyoto::block_in_place([&] { return slept.wait_for(10s) == std::future_status::ready; });
      co_await sleeper;
      co_return ok;
    });
    co_return co_await h;
  }());
  EXPECT_TRUE(woke);
}

TEST(BlockInPlace, ExceptionPropagatesAndTheWorkerIsBack) {
  kyoto::runtime rt = multi_thread();
  const int out = rt.block_on([]() -> kyoto::task<int> {
    auto h = kyoto::spawn([]() -> kyoto::task<int> {
      kyoto::test::expect_throws<std::runtime_error>(
          [] { kyoto::block_in_place([] { throw std::runtime_error("from f"); }); }, "from f");
      // Back inside the runtime: spawning works again.
      auto inner = kyoto::spawn([]() -> kyoto::task<int> { co_return 3; });
      co_return co_await inner;
    });
    co_return co_await h;
  }());
  EXPECT_EQ(out, 3);
}

TEST(BlockInPlace, InsideTheFunctionTheThreadIsOutsideTheRuntime) {
  kyoto::runtime rt = multi_thread();
  rt.block_on([]() -> kyoto::task<> {
    kyoto::block_in_place([] {
      kyoto::test::expect_throws<std::logic_error>(
          [] { return kyoto::spawn([]() -> kyoto::task<> { co_return; }); }, "kyoto::spawn");
    });
    co_return;
  }());
}

TEST(BlockInPlace, ManyTasksBlockingAtOnceAllFinish) {
  // More blocking tasks than workers: each hands its queue over, so the
  // rest still run (rt_threaded.rs's blocking cases, scaled down).
  kyoto::runtime rt = multi_thread();
  std::atomic<int> finished{0};
  rt.block_on([&]() -> kyoto::task<> {
    kyoto::join_set<void> set;
    for (int i = 0; i < 8; ++i) {
      set.spawn([&]() -> kyoto::task<> {
        kyoto::block_in_place([] { std::this_thread::sleep_for(2ms); });
        finished.fetch_add(1, std::memory_order_relaxed);
        co_return;
      });
    }
    while (co_await set.join_next()) {
    }
  }());
  EXPECT_EQ(finished.load(), 8);
}

}  // namespace
