// kyoto::local_set and kyoto::spawn_local. Ports tokio's
// tests/task_local_set.rs where it applies (kyoto runs a set inside a task
// of a current_thread runtime, so the multi_thread flavours of tokio's
// tests become current_thread ones; block_in_place, enter guards and
// thread-local storage of a LocalSet have no kyoto counterpart):
//   local_current_thread_scheduler       -> SpawnLocalInsideRunUntilRunsTheTask
//   local_threadpool, all_spawns_are_local -> EveryLocalTaskRunsOnTheSetsThread
//   localset_future_timers, local_threadpool_timer -> LocalTasksCanUseTimers
//   localset_future_drives_all_local_futs -> RunUntilDrivesEveryLocalTask
//   nested_spawn_is_local                -> SpawnLocalFromALocalTaskIsLocal
//   join_local_future_elsewhere          -> ALocalTaskWokenFromAPlainThreadRuns
//   drop_cancels_tasks                   -> DroppingTheSetCancelsItsTasks
//   drop_cancels_remote_tasks            -> DroppingTheSetCancelsTasksWokenFromElsewhere
//   local_tasks_wake_join_all            -> ALocalTaskJoiningOtherLocalTasks
//   local_tasks_are_polled_after_tick    -> RunUntilLetsTheRuntimesOtherTasksRun
//   spawn_wakes_localset                 -> SpawningIntoAWaitingSetWakesIt
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace oneshot = kyoto::sync::oneshot;

namespace {

KYOTO_CT_TEST(LocalSet, SpawnLocalInsideRunUntilRunsTheTask) {
  kyoto::local_set local;
  const int v = co_await local.run_until([]() -> kyoto::task<int> {
    co_return co_await kyoto::spawn_local([]() -> kyoto::task<int> { co_return 7; });
  }());
  EXPECT_EQ(v, 7);
}

KYOTO_CT_TEST(LocalSet, EveryLocalTaskRunsOnTheSetsThread) {
  kyoto::local_set local;
  const std::thread::id here = std::this_thread::get_id();
  std::atomic<int> on_thread{0};
  co_await local.run_until([&]() -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> handles;
    for (int i = 0; i < 128; ++i) {
      handles.push_back(kyoto::spawn_local([&]() -> kyoto::task<> {
        co_await kyoto::yield_now();
        if (std::this_thread::get_id() == here) on_thread.fetch_add(1);
      }));
    }
    for (auto& h : handles)
      co_await h;
  }());
  EXPECT_EQ(on_thread.load(), 128);
}

KYOTO_CT_TEST(LocalSet, LocalTasksCanUseTimers) {
  kyoto::local_set local;
  auto a = local.spawn_local([]() -> kyoto::task<int> {
    co_await kyoto::time::sleep(10ms);
    co_return 1;
  });
  auto b = local.spawn_local([]() -> kyoto::task<int> {
    co_await kyoto::time::sleep(20ms);
    co_return 2;
  });
  const int sum = co_await local.run_until([&]() -> kyoto::task<int> {
    const int x = co_await a;
    co_return x + co_await b;
  }());
  EXPECT_EQ(sum, 3);
}

KYOTO_CT_TEST(LocalSet, RunUntilDrivesEveryLocalTask) {
  kyoto::local_set local;
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  auto [tx3, rx3] = oneshot::channel<int>();
  // A chain the operation only sees the end of: rx1 -> task 1 -> rx2 ->
  // task 2 -> rx3.
  local.spawn_local(
      [](oneshot::receiver<int> in, oneshot::sender<int> out) -> kyoto::task<> {
        (void)out.send((co_await in).value() + 1);
      },
      std::move(rx1), std::move(tx2));
  local.spawn_local(
      [](oneshot::receiver<int> in, oneshot::sender<int> out) -> kyoto::task<> {
        (void)out.send((co_await in).value() + 1);
      },
      std::move(rx2), std::move(tx3));
  local.spawn_local(
      [](oneshot::sender<int> out) -> kyoto::task<> {
        (void)out.send(1);
        co_return;
      },
      std::move(tx1));
  const int v = co_await local.run_until([](oneshot::receiver<int> rx) -> kyoto::task<int> {
    co_return (co_await rx).value();
  }(std::move(rx3)));
  EXPECT_EQ(v, 3);
}

KYOTO_CT_TEST(LocalSet, SpawnLocalFromALocalTaskIsLocal) {
  kyoto::local_set local;
  const std::thread::id here = std::this_thread::get_id();
  const bool nested_here = co_await local.run_until([&]() -> kyoto::task<bool> {
    co_return co_await kyoto::spawn_local([&]() -> kyoto::task<bool> {
      co_return co_await kyoto::spawn_local(
          [&]() -> kyoto::task<bool> { co_return std::this_thread::get_id() == here; });
    });
  }());
  EXPECT_TRUE(nested_here);
}

KYOTO_CT_TEST(LocalSet, ALocalTaskWokenFromAPlainThreadRuns) {
  kyoto::local_set local;
  auto [tx, rx] = oneshot::channel<int>();
  auto h = local.spawn_local(
      [](oneshot::receiver<int> r) -> kyoto::task<int> { co_return (co_await r).value() * 2; },
      std::move(rx));
  std::thread sender([t = std::move(tx)]() mutable { (void)t.send(21); });
  const int v = co_await local.run_until(h);
  sender.join();
  EXPECT_EQ(v, 42);
}

KYOTO_CT_TEST(LocalSet, DroppingTheSetCancelsItsTasks) {
  std::atomic<int> dropped{0};
  kyoto::join_handle<void> h;
  {
    kyoto::local_set local;
    h = local.spawn_local([&]() -> kyoto::task<> {
      kyoto::test::drop_counter guard(dropped);
      co_await kyoto::time::sleep(1h);
    });
    co_await local.run_until(kyoto::yield_now());  // it starts and sleeps
    EXPECT_EQ(dropped.load(), 0);
  }
  EXPECT_EQ(dropped.load(), 1);
  try {
    co_await h;
    ADD_FAILURE() << "the task finished";
  } catch (const kyoto::join_error& e) {
    EXPECT_TRUE(e.is_cancelled());
  }
}

KYOTO_CT_TEST(LocalSet, DroppingTheSetCancelsTasksWokenFromElsewhere) {
  std::atomic<int> dropped{0};
  std::atomic<int> finished{0};
  {
    kyoto::local_set local;
    auto [tx, rx] = oneshot::channel<int>();
    local.spawn_local(
        [&](oneshot::receiver<int> r) -> kyoto::task<> {
          kyoto::test::drop_counter guard(dropped);
          (void)co_await r;
          finished.fetch_add(1);
        },
        std::move(rx));
    co_await local.run_until(kyoto::yield_now());  // waiting on rx
    // Woken from another thread while the set is not being run: queued.
    std::thread([t = std::move(tx)]() mutable { (void)t.send(1); }).join();
  }
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_EQ(finished.load(), 0);
}

KYOTO_CT_TEST(LocalSet, ALocalTaskJoiningOtherLocalTasks) {
  kyoto::local_set local;
  const std::vector<int> got = co_await local.run_until([]() -> kyoto::task<std::vector<int>> {
    auto outer = kyoto::spawn_local([]() -> kyoto::task<std::vector<int>> {
      std::vector<kyoto::join_handle<int>> hs;
      for (int i = 0; i < 4; ++i) {
        hs.push_back(kyoto::spawn_local(
            [](int x) -> kyoto::task<int> {
              co_await kyoto::time::sleep(1ms);
              co_return x;
            },
            i));
      }
      co_return co_await kyoto::join_all(hs);
    });
    co_return co_await outer;
  }());
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

KYOTO_CT_TEST(LocalSet, RunUntilLetsTheRuntimesOtherTasksRun) {
  kyoto::local_set local;
  std::atomic<bool> flag{false};
  // A plain runtime task (not local): it runs only if the set's driver
  // gives the thread back between steps.
  auto plain = kyoto::spawn([&]() -> kyoto::task<> {
    flag.store(true);
    co_return;
  });
  co_await local.run_until([&]() -> kyoto::task<> {
    co_await kyoto::spawn_local([&]() -> kyoto::task<> {
      while (!flag.load())
        co_await kyoto::yield_now();
    });
  }());
  co_await plain;
  EXPECT_TRUE(flag.load());
}

KYOTO_CT_TEST(LocalSet, SpawningIntoAWaitingSetWakesIt) {
  kyoto::local_set local;
  auto [tx, rx] = oneshot::channel<int>();
  // Spawns into the set from a plain task on the same thread while the
  // set's driver waits for work.
  auto spawner = kyoto::spawn(
      [&local](oneshot::sender<int> t) -> kyoto::task<> {
        co_await kyoto::yield_now();
        local.spawn_local(
            [](oneshot::sender<int> s) -> kyoto::task<> {
              (void)s.send(5);
              co_return;
            },
            std::move(t));
      },
      std::move(tx));
  const int v = co_await local.run_until([](oneshot::receiver<int> r) -> kyoto::task<int> {
    co_return (co_await r).value();
  }(std::move(rx)));
  co_await spawner;
  EXPECT_EQ(v, 5);
}

KYOTO_CT_TEST(LocalSet, TasksLeftUnfinishedContinueAtTheNextRun) {
  kyoto::local_set local;
  auto [tx, rx] = oneshot::channel<int>();
  auto h = local.spawn_local(
      [](oneshot::receiver<int> r) -> kyoto::task<int> { co_return (co_await r).value(); },
      std::move(rx));
  co_await local.run_until(kyoto::yield_now());
  EXPECT_FALSE(h.is_finished());
  (void)tx.send(9);
  EXPECT_EQ(co_await local.run_until(h), 9);
}

KYOTO_CT_TEST(LocalSet, CancellingRunUntilCancelsTheOperationNotTheTasks) {
  kyoto::local_set local;
  std::atomic<int> op_dropped{0};
  auto [tx, rx] = oneshot::channel<int>();
  auto h = local.spawn_local(
      [](oneshot::receiver<int> r) -> kyoto::task<int> { co_return (co_await r).value(); },
      std::move(rx));
  auto timed = co_await kyoto::time::timeout(5ms, local.run_until([&]() -> kyoto::task<> {
    kyoto::test::drop_counter guard(op_dropped);
    co_await kyoto::time::sleep(1h);
  }()));
  EXPECT_FALSE(timed.has_value());
  EXPECT_EQ(op_dropped.load(), 1) << "the operation is destroyed with the await";
  EXPECT_FALSE(h.is_finished());
  (void)tx.send(3);
  EXPECT_EQ(co_await local.run_until(h), 3);
}

KYOTO_CT_TEST(LocalSet, AbortFromAPlainThreadCancelsALocalTask) {
  kyoto::local_set local;
  std::atomic<int> dropped{0};
  auto h = local.spawn_local([&]() -> kyoto::task<> {
    kyoto::test::drop_counter guard(dropped);
    co_await kyoto::time::sleep(1h);
  });
  co_await local.run_until([&]() -> kyoto::task<> {
    co_await kyoto::yield_now();  // the task starts and sleeps
    kyoto::abort_handle a = h.abort_handle();
    std::thread([a] { a.abort(); }).join();
    EXPECT_THROW(co_await h, kyoto::join_error);
  }());
  EXPECT_EQ(dropped.load(), 1);
}

KYOTO_CT_TEST(LocalSet, SpawnLocalOutsideALocalSetThrowsNamingTheOperation) {
  kyoto::test::expect_throws<std::logic_error>(
      [] { (void)kyoto::spawn_local([]() -> kyoto::task<> { co_return; }); },
      "kyoto::spawn_local: called outside a local_set");
  co_return;
}

TEST(LocalSet, SpawnLocalOnAPlainThreadThrowsNamingTheOperation) {
  kyoto::test::expect_throws<std::logic_error>(
      [] { (void)kyoto::spawn_local([]() -> kyoto::task<> { co_return; }); }, "kyoto::spawn_local");
}

KYOTO_TEST(LocalSet, RunUntilOnAMultiThreadRuntimeThrows) {
  kyoto::local_set local;
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return local.run_until(kyoto::yield_now()); },
      "kyoto::local_set::run_until: must be awaited on a current_thread runtime");
}

TEST(LocalSet, UsingTheSetFromAnotherThreadThrows) {
  kyoto::local_set local;
  std::thread other([&] {
    kyoto::test::expect_throws<std::logic_error>(
        [&] { (void)local.spawn_local([]() -> kyoto::task<> { co_return; }); },
        "kyoto::local_set::spawn_local: called on a thread other than the one that created");
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    kyoto::test::expect_throws<std::logic_error>(
        [&] { local.block_on(rt, kyoto::yield_now()); },
        "kyoto::local_set::run_until: called on a thread other than the one that created");
  });
  other.join();
}

TEST(LocalSet, BlockOnRunsTheSetOnACurrentThreadRuntime) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  kyoto::local_set local;
  const int v = local.block_on(rt, []() -> kyoto::task<int> {
    auto h = kyoto::spawn_local([]() -> kyoto::task<int> {
      co_await kyoto::time::sleep(1ms);
      co_return 11;
    });
    co_return co_await h;
  }());
  EXPECT_EQ(v, 11);
}

TEST(LocalSet, CancellingTheDriverFromOutsideLeavesTheTasksToTheSet) {
  std::atomic<int> dropped{0};
  std::atomic<bool> started{false};
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  auto [never_tx, never_rx] = oneshot::channel<int>();
  auto [stop_tx, stop_rx] = oneshot::channel<int>();
  {
    kyoto::local_set local;
    local.spawn_local(
        [&](oneshot::receiver<int> r) -> kyoto::task<> {
          kyoto::test::drop_counter guard(dropped);
          started.store(true);
          (void)co_await r;  // its sender outlives the set: never completes
        },
        std::move(never_rx));
    // A runtime task drives the set until stopped; block_on returns once
    // the local task has started.
    auto driver = rt.spawn(local.run_until(std::move(stop_rx)));
    rt.block_on([&]() -> kyoto::task<> {
      while (!started.load())
        co_await kyoto::yield_now();
    }());
    EXPECT_EQ(dropped.load(), 0);
    driver.abort();
    rt.block_on([&]() -> kyoto::task<> {
      EXPECT_THROW((void)co_await driver, kyoto::join_error);
    }());
    EXPECT_EQ(dropped.load(), 0) << "cancelling run_until leaves the tasks in the set";
  }
  EXPECT_EQ(dropped.load(), 1);
}

TEST(LocalSet, ASetOutlivingItsRuntimeCancelsItsTasksWhenDestroyed) {
  std::atomic<int> dropped{0};
  std::atomic<bool> started{false};
  std::optional<kyoto::local_set> local(std::in_place);
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    local->spawn_local([&]() -> kyoto::task<> {
      kyoto::test::drop_counter guard(dropped);
      started.store(true);
      co_await kyoto::time::sleep(1h);  // a timer in the runtime's wheel
    });
    local->block_on(rt, [&]() -> kyoto::task<> {
      while (!started.load())
        co_await kyoto::yield_now();
    }());
  }  // the runtime is gone; the sleeping task is still the set's
  EXPECT_EQ(dropped.load(), 0);
  local.reset();
  EXPECT_EQ(dropped.load(), 1) << "the set's destructor cancels the task (its timer unregistered)";
}

}  // namespace
