// runtime::builder's task hooks: on_task_spawn, on_task_terminate,
// on_before_task_poll, on_after_task_poll (tokio/tests/task_hooks.rs and
// rt_poll_callbacks.rs), and what they see of a task (task_meta).
#include "flavours.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/runtime/task_tracker.hpp>
#include <kyoto/sync.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

/// What the hooks saw, per task id; filled from any worker.
struct recorder {
  std::mutex lock;
  std::map<std::uint64_t, int> spawned;
  std::map<std::uint64_t, int> terminated;
  std::map<std::uint64_t, int> before;
  std::map<std::uint64_t, int> after;
  std::map<std::uint64_t, std::string> names;
  std::map<std::uint64_t, unsigned> lines;
  std::atomic<int> polling{0};  ///< polls in progress: before minus after

  kyoto::runtime::builder install(kyoto::runtime::builder b) {
    return std::move(b)
        .on_task_spawn([this](const kyoto::task_meta& m) {
          const std::lock_guard g(lock);
          ++spawned[m.id().value()];
          names[m.id().value()] = std::string(m.name());
          lines[m.id().value()] = m.spawned_at().line();
        })
        .on_task_terminate([this](const kyoto::task_meta& m) {
          const std::lock_guard g(lock);
          ++terminated[m.id().value()];
        })
        .on_before_task_poll([this](const kyoto::task_meta& m) {
          polling.fetch_add(1, std::memory_order_relaxed);
          // The poll hooks run inside the task: task_id::current() is it.
          EXPECT_EQ(kyoto::task_id::current(), m.id());
          const std::lock_guard g(lock);
          ++before[m.id().value()];
        })
        .on_after_task_poll([this](const kyoto::task_meta& m) {
          polling.fetch_sub(1, std::memory_order_relaxed);
          const std::lock_guard g(lock);
          ++after[m.id().value()];
        });
  }
};

/// The builder of kyoto::test::make_runtime's runtimes.
kyoto::runtime::builder builder_for(kyoto::test::flavour f) {
  switch (f) {
    case kyoto::test::flavour::current_thread:
      return kyoto::runtime::builder::current_thread();
    case kyoto::test::flavour::one_worker:
      return kyoto::runtime::builder::multi_thread().worker_threads(1);
    case kyoto::test::flavour::four_workers:
      break;
  }
  return kyoto::runtime::builder::multi_thread().worker_threads(4);
}

/// Runs the coroutine lambda `f` on `rt` (`f` outlives the task it makes).
template <class F>
void run(kyoto::runtime&& rt, F f) {
  rt.block_on(f());
}
template <class F>
void run(kyoto::runtime& rt, F f) {
  rt.block_on(f());
}

kyoto::task<> yield_three_times() {
  for (int i = 0; i < 3; ++i)
    co_await kyoto::yield_now();
}

class TaskHooks : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(TaskHooks, EveryTaskIsSpawnedPolledAndTerminatedOnce) {
  recorder rec;
  kyoto::runtime rt = rec.install(builder_for(GetParam())).build();
  kyoto::task_id child(1);
  run(rt, [&]() -> kyoto::task<> {
    auto h = kyoto::spawn(yield_three_times());
    child = h.id();
    co_await h;
  });
  const std::lock_guard g(rec.lock);
  const std::uint64_t id = child.value();
  EXPECT_EQ(rec.spawned[id], 1);
  EXPECT_EQ(rec.terminated[id], 1);
  // Three yields: four polls, each with its before and after.
  EXPECT_EQ(rec.before[id], 4);
  EXPECT_EQ(rec.after[id], 4);
  EXPECT_EQ(rec.polling.load(), 0);
  // block_on's root task is a task too.
  EXPECT_EQ(rec.spawned.size(), 2u);
  EXPECT_EQ(rec.terminated.size(), 2u);
}

TEST_P(TaskHooks, SpawnSeesTheNameAndTheLineOfTheSpawnCall) {
  recorder rec;
  kyoto::runtime rt = rec.install(builder_for(GetParam())).build();
  unsigned spawn_line = 0;
  kyoto::task_id named(1);
  kyoto::task_id plain(1);
  run(rt, [&]() -> kyoto::task<> {
    // clang-format off
    spawn_line = __LINE__ + 1;
    auto a = kyoto::task_builder{}.name("worker-7").spawn(yield_three_times());
    auto b = kyoto::spawn(yield_three_times());
    // clang-format on
    named = a.id();
    plain = b.id();
    co_await a;
    co_await b;
  });
  const std::lock_guard g(rec.lock);
  EXPECT_EQ(rec.names[named.value()], "worker-7");
  EXPECT_EQ(rec.lines[named.value()], spawn_line);
  EXPECT_EQ(rec.names[plain.value()], "");
  EXPECT_EQ(rec.lines[plain.value()], spawn_line + 1);
}

kyoto::task<int> sum3(int a, int b, int c) {
  co_await kyoto::yield_now();
  co_return a + b + c;
}

TEST_P(TaskHooks, SpawnWithThreeArgumentsSeesTheLineOfTheSpawnCall) {
  recorder rec;
  kyoto::runtime rt = rec.install(builder_for(GetParam())).build();
  unsigned spawn_line = 0;
  kyoto::task_id free_fn(1);
  kyoto::task_id built(1);
  kyoto::task_id in_set(1);
  kyoto::task_id tracked(1);
  int total = 0;
  run(rt, [&]() -> kyoto::task<> {
    kyoto::join_set<int> set;
    kyoto::task_tracker tracker;
    // clang-format off
    spawn_line = __LINE__ + 1;
    auto a = kyoto::spawn(sum3, 1, 2, 3);
    auto b = kyoto::task_builder{}.name("sum").spawn(sum3, 4, 5, 6);
    in_set = set.spawn(sum3, 7, 8, 9).id();
    auto c = tracker.spawn(sum3, 10, 11, 12);
    // clang-format on
    free_fn = a.id();
    built = b.id();
    tracked = c.id();
    total += co_await a;
    total += co_await b;
    total += co_await c;
    while (auto r = co_await set.join_next())
      total += **r;
  });
  EXPECT_EQ(total, 78);
  const std::lock_guard g(rec.lock);
  EXPECT_EQ(rec.lines[free_fn.value()], spawn_line);
  EXPECT_EQ(rec.lines[built.value()], spawn_line + 1);
  EXPECT_EQ(rec.names[built.value()], "sum");
  EXPECT_EQ(rec.lines[in_set.value()], spawn_line + 2);
  EXPECT_EQ(rec.lines[tracked.value()], spawn_line + 3);
}

TEST_P(TaskHooks, TerminateIsCalledForAbortedAndShutDownTasks) {
  recorder rec;
  kyoto::task_id aborted(1);
  kyoto::task_id left(1);
  {
    kyoto::runtime rt = rec.install(builder_for(GetParam())).build();
    auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
    run(rt, [&]() -> kyoto::task<> {
      auto wait = [](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<> {
        (void)co_await r;
      };
      auto [tx2, rx2] = kyoto::sync::oneshot::channel<int>();
      auto a = kyoto::spawn(wait, std::move(rx2));
      aborted = a.id();
      a.abort();
      (void)co_await kyoto::select(a, kyoto::yield_now());
      while (!a.is_finished())
        co_await kyoto::yield_now();
      left = kyoto::spawn(wait, std::move(rx)).id();  // parked when the runtime goes
    });
    {
      const std::lock_guard g(rec.lock);
      EXPECT_EQ(rec.terminated[aborted.value()], 1);
    }
  }  // the runtime's shutdown cancels `left`
  const std::lock_guard g(rec.lock);
  EXPECT_EQ(rec.terminated[left.value()], 1);
  EXPECT_EQ(rec.spawned.size(), rec.terminated.size());
}

TEST(TaskHooksMultiThread, CountsAddUpUnderLoad) {
  // Many tasks, spawned from several workers, each waking the next: every
  // hook runs on whichever worker does the work (run under TSan too).
  recorder rec;
  kyoto::runtime rt =
      rec.install(kyoto::runtime::builder::multi_thread().worker_threads(4)).build();
  constexpr int tasks = 200;
  run(rt, [&]() -> kyoto::task<> {
    kyoto::join_set<> set;
    for (int i = 0; i < tasks; ++i) {
      set.spawn([]() -> kyoto::task<> {
        auto inner = kyoto::spawn(yield_three_times());
        co_await inner;
      });
    }
    while (auto r = co_await set.join_next())
      r->value();
  });
  const std::lock_guard g(rec.lock);
  EXPECT_EQ(rec.spawned.size(), 2u * tasks + 1);  // and block_on's root
  for (const auto& [id, n] : rec.spawned) {
    EXPECT_EQ(n, 1);
    EXPECT_EQ(rec.terminated[id], 1) << "task " << id;
    EXPECT_EQ(rec.before[id], rec.after[id]) << "task " << id;
    EXPECT_GE(rec.before[id], 1) << "task " << id;
  }
  EXPECT_EQ(rec.polling.load(), 0);
}

TEST(TaskHooksBuilder, ACopiedBuilderKeepsItsOwnHooks) {
  std::atomic<int> first{0};
  std::atomic<int> second{0};
  auto a = kyoto::runtime::builder::current_thread().on_task_spawn(
      [&](const kyoto::task_meta&) { first.fetch_add(1); });
  auto b = a;
  b.on_task_spawn([&](const kyoto::task_meta&) { second.fetch_add(1); });
  run(a.build(), []() -> kyoto::task<> { co_return; });
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 0);
  run(b.build(), []() -> kyoto::task<> { co_return; });
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 1);
}

KYOTO_INSTANTIATE_FLAVOURS(TaskHooks);

}  // namespace
