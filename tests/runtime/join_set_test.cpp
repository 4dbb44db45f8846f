// kyoto::join_set. Ports tokio's tests/task_join_set.rs:
//   test_with_sleep     -> JoinsEveryTaskAndDetachAllEmptiesTheSet (real 1 ms sleeps: kyoto has
//                          no paused clock; the sleeps are the tasks' work, not synchronisation)
//   test_abort_on_drop  -> DroppingTheSetAbortsEveryTask
//   alternating         -> AlternatingSpawnAndJoinNextKeepsTheCount
//   abort_tasks         -> AbortHandlesFromSpawnCancelOnlyTheirTask
//   runtime_gone        -> ATaskWhoseRuntimeIsGoneIsJoinedAsCancelled
//   abort_all           -> AbortAllCancelsWhatIsPendingAndKeepsWhatCompleted
//   join_set_coop       -> JoinNextSpendsTheBudget
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace {

static_assert(std::is_same_v<decltype(std::declval<kyoto::join_set<int>&>().try_join_next()),
                             std::optional<kyoto::result<int, kyoto::join_error>>>);

kyoto::task<int> sleep_then(int i) {
  co_await kyoto::time::sleep(std::chrono::milliseconds(i));
  co_return i;
}

kyoto::task<int> value_of(int i) {
  co_return i;
}

/// Gives what `r` receives (a task that waits until the test sends).
kyoto::task<int> received(kyoto::sync::oneshot::receiver<int> r) {
  co_return (co_await r).value();
}

kyoto::task<> pending_forever(std::atomic<int>& dropped) {
  kyoto::test::drop_counter guard(dropped);
  co_await kyoto::time::sleep(1h);
}

// tokio: test_with_sleep.
KYOTO_TEST(JoinSet, JoinsEveryTaskAndDetachAllEmptiesTheSet) {
  kyoto::join_set<int> set;
  for (int i = 0; i < 10; ++i) {
    set.spawn(value_of(i));
    EXPECT_EQ(set.size(), static_cast<std::size_t>(i + 1));
  }
  set.detach_all();
  EXPECT_EQ(set.size(), 0u);
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE((co_await set.join_next()).has_value());

  for (int round = 0; round < 2; ++round) {  // "Do it again."
    for (int i = 0; i < 10; ++i) {
      set.spawn(sleep_then, i);
      EXPECT_EQ(set.size(), static_cast<std::size_t>(i + 1));
    }
    std::vector<bool> seen(10, false);
    while (auto r = co_await set.join_next())
      seen[static_cast<std::size_t>(r->value())] = true;
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
    EXPECT_FALSE((co_await set.join_next()).has_value());
  }
}

// tokio: test_abort_on_drop.
KYOTO_TEST(JoinSet, DroppingTheSetAbortsEveryTask) {
  std::vector<kyoto::sync::oneshot::receiver<int>> receivers;
  {
    kyoto::join_set<> set;
    for (int i = 0; i < 16; ++i) {
      auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
      receivers.push_back(std::move(rx));
      set.spawn(
          [](kyoto::sync::oneshot::sender<int> keep) -> kyoto::task<> {
            co_await kyoto::time::sleep(1h);  // never completes on its own
            keep.send(1).value();
          },
          std::move(tx));
    }
  }
  for (auto& rx : receivers) {
    auto r = co_await rx;  // the task is aborted soon and drops its sender
    EXPECT_FALSE(r.has_value());
  }
}

// tokio: alternating.
KYOTO_TEST(JoinSet, AlternatingSpawnAndJoinNextKeepsTheCount) {
  auto nothing = []() -> kyoto::task<> {
    co_return;
  };
  kyoto::join_set<> set;
  EXPECT_EQ(set.size(), 0u);
  set.spawn(nothing);
  EXPECT_EQ(set.size(), 1u);
  set.spawn(nothing);
  EXPECT_EQ(set.size(), 2u);
  for (int i = 0; i < 16; ++i) {
    auto r = co_await set.join_next();
    KYOTO_ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_value());
    EXPECT_EQ(set.size(), 1u);
    set.spawn(nothing);
    EXPECT_EQ(set.size(), 2u);
  }
}

// tokio: abort_tasks.
KYOTO_TEST(JoinSet, AbortHandlesFromSpawnCancelOnlyTheirTask) {
  kyoto::join_set<int> set;
  for (int i = 0; i < 16; ++i) {
    kyoto::abort_handle abort = set.spawn(sleep_then, i);
    if (i % 2 != 0) abort.abort();  // abort odd-numbered tasks
  }
  int cancelled = 0;
  int completed = 0;
  while (auto r = co_await set.join_next()) {
    if (r->has_value()) {
      ++completed;
      EXPECT_EQ(**r % 2, 0);
    } else {
      EXPECT_TRUE(r->error().is_cancelled());
      EXPECT_FALSE(r->error().is_panic());
      ++cancelled;
    }
  }
  EXPECT_EQ(cancelled, 8);
  EXPECT_EQ(completed, 8);
}

// tokio: runtime_gone (spawn_on from a plain thread; the runtime is
// dropped; another runtime joins the task as cancelled).
TEST(JoinSet, ATaskWhoseRuntimeIsGoneIsJoinedAsCancelled) {
  kyoto::join_set<int> set;
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    set.spawn_on(rt.handle(), value_of(1));
  }
  kyoto::runtime other = kyoto::runtime::builder::current_thread().build();
  std::optional<kyoto::result<int, kyoto::join_error>> r = other.block_on(set.join_next());
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_TRUE(r->error().is_cancelled());
}

// tokio: abort_all (five tasks pending, five completed, then abort_all:
// the completed ones keep their values).
KYOTO_TEST(JoinSet, AbortAllCancelsWhatIsPendingAndKeepsWhatCompleted) {
  std::atomic<int> dropped{0};
  kyoto::join_set<> set;
  for (int i = 0; i < 5; ++i)
    set.spawn(pending_forever, std::ref(dropped));
  std::vector<kyoto::abort_handle> quick;
  for (int i = 0; i < 5; ++i)
    quick.push_back(set.spawn([]() -> kyoto::task<> { co_return; }));
  for (auto& q : quick) {
    while (!q.is_finished())
      co_await kyoto::yield_now();
  }
  set.abort_all();
  EXPECT_EQ(set.size(), 10u);
  int count = 0;
  int cancelled = 0;
  while (auto r = co_await set.join_next()) {
    if (!r->has_value()) {
      EXPECT_TRUE(r->error().is_cancelled());
      ++cancelled;
    }
    ++count;
  }
  EXPECT_EQ(count, 10);
  EXPECT_EQ(cancelled, 5);
  EXPECT_EQ(set.size(), 0u);
}

// tokio: join_set_coop (join_next over many completed tasks yields to the
// other tasks once the budget is spent, like any always-ready operation).
KYOTO_CT_TEST(JoinSet, JoinNextSpendsTheBudget) {
  constexpr int tasks = 1000;
  kyoto::join_set<> set;
  int done = 0;
  for (int i = 0; i < tasks; ++i) {
    set.spawn(
        [](int& d) -> kyoto::task<> {
          ++d;
          co_return;
        },
        std::ref(done));
  }
  // NOLINTNEXTLINE(bugprone-infinite-loop): the spawned tasks count `done`
  while (done < tasks)
    co_await kyoto::yield_now();
  // A neighbour that counts how often it gets to run.
  int ticks = 0;
  bool stop = false;
  auto ticker = kyoto::spawn(
      [](int& t, bool& s) -> kyoto::task<> {
        while (!s) {
          ++t;
          co_await kyoto::yield_now();
        }
      },
      std::ref(ticks), std::ref(stop));
  co_await kyoto::yield_now();  // the ticker is running
  const int before = ticks;
  int count = 0;
  while (auto r = co_await set.join_next()) {
    EXPECT_TRUE(r->has_value());
    ++count;
  }
  EXPECT_EQ(count, tasks);
  EXPECT_GE(ticks - before, tasks / 128 - 1);  // it yielded about every 128 joins
  stop = true;
  co_await ticker;
}

KYOTO_TEST(JoinSet, OutcomesComeInCompletionOrder) {
  kyoto::join_set<int> set;
  std::vector<kyoto::sync::oneshot::sender<int>> go;
  std::vector<kyoto::abort_handle> handles;
  for (int i = 0; i < 3; ++i) {
    auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
    go.push_back(std::move(tx));
    handles.push_back(set.spawn(received(std::move(rx))));
  }
  for (int i : {2, 0, 1}) {
    go[static_cast<std::size_t>(i)].send(i * 10).value();
    while (!handles[static_cast<std::size_t>(i)].is_finished())
      co_await kyoto::yield_now();
  }
  std::vector<int> order;
  while (auto r = co_await set.join_next())
    order.push_back(r->value());
  EXPECT_EQ(order, (std::vector<int>{20, 0, 10}));
}

KYOTO_TEST(JoinSet, AnExceptionComesBackAsAJoinErrorHoldingIt) {
  kyoto::join_set<int> set;
  set.spawn([]() -> kyoto::task<int> {
    throw std::runtime_error("boom");
    co_return 0;
  });
  auto r = co_await set.join_next();
  KYOTO_ASSERT_TRUE(r.has_value());
  KYOTO_ASSERT_FALSE(r->has_value());
  const kyoto::join_error& e = r->error();
  EXPECT_TRUE(e.is_panic());
  EXPECT_FALSE(e.is_cancelled());
  EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos);
  EXPECT_THROW(e.rethrow(), std::runtime_error);
  EXPECT_THROW((void)r->value(), kyoto::bad_result_access);  // tokio's unwrap()
}

KYOTO_TEST(JoinSet, TryJoinNextGivesOnlyCompletedTasks) {
  kyoto::join_set<int> set;
  EXPECT_FALSE(set.try_join_next().has_value());  // empty
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  set.spawn(received(std::move(rx)));
  kyoto::abort_handle quick = set.spawn(value_of(5));
  while (!quick.is_finished())
    co_await kyoto::yield_now();
  auto first = set.try_join_next();
  KYOTO_ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value(), 5);
  EXPECT_FALSE(set.try_join_next().has_value());  // the other is still running
  EXPECT_EQ(set.size(), 1u);
  tx.send(6).value();
  EXPECT_EQ((co_await set.join_next())->value(), 6);
  EXPECT_TRUE(set.empty());
}

// Cancelling a waiting join_next() takes nothing: the next one gets it.
KYOTO_TEST(JoinSet, ACancelledJoinNextLosesNothing) {
  kyoto::join_set<int> set;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  set.spawn(received(std::move(rx)));
  auto fail = []() -> kyoto::task<> {
    co_await kyoto::yield_now();
    throw std::runtime_error("stop");
  };
  EXPECT_THROW(co_await kyoto::join(set.join_next(), fail()), std::runtime_error);
  EXPECT_EQ(set.size(), 1u);
  tx.send(3).value();
  EXPECT_EQ((co_await set.join_next())->value(), 3);
}

// The wake rule: a join_next() woken by a completion, then cancelled before
// it resumed (a sibling branch fails in the same run), is never resumed and
// leaves the outcome for the next call.
KYOTO_CT_TEST(JoinSet, AJoinNextWokenThenCancelledLosesNothing) {
  kyoto::join_set<int> set;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::abort_handle member = set.spawn(received(std::move(rx)));
  co_await kyoto::test::let_others_run();  // the member waits on its receiver
  bool resumed = false;
  auto waiter = [](kyoto::join_set<int>& s, bool& res) -> kyoto::task<> {
    (void)co_await s.join_next();
    res = true;
  };
  auto trigger = [](kyoto::sync::oneshot::sender<int>& t, kyoto::abort_handle& m) -> kyoto::task<> {
    t.send(9).value();
    // Yield until the member completed: its completion wakes the waiter
    // branch while this task is queued; this branch runs first and fails.
    while (!m.is_finished())
      co_await kyoto::yield_now();
    throw std::runtime_error("then fails");
  };
  EXPECT_THROW(co_await kyoto::join(waiter(set, resumed), trigger(tx, member)), std::runtime_error);
  EXPECT_FALSE(resumed);
  auto r = set.try_join_next();
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 9);
}

KYOTO_TEST(JoinSet, UsingTheSetWhileAJoinNextWaitsThrowsNamingTheOperation) {
  kyoto::join_set<int> set;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  set.spawn(received(std::move(rx)));
  auto meddle = [](kyoto::join_set<int>& s) -> kyoto::task<> {
    co_await kyoto::yield_now();
    (void)s.try_join_next();
  };
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return kyoto::join(set.join_next(), meddle(set)); }, "kyoto::join_set::try_join_next");
  auto second = [](kyoto::join_set<int>& s) -> kyoto::task<> {
    co_await kyoto::yield_now();
    (void)co_await s.join_next();
  };
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return kyoto::join(set.join_next(), second(set)); }, "kyoto::join_set::join_next");
  tx.send(1).value();
  EXPECT_EQ((co_await set.join_next())->value(), 1);
}

KYOTO_TEST(JoinSet, DetachAllLetsTheTasksRunOn) {
  auto [go_tx, go_rx] = kyoto::sync::oneshot::channel<int>();
  auto [done_tx, done_rx] = kyoto::sync::oneshot::channel<int>();
  {
    kyoto::join_set<> set;
    set.spawn([](kyoto::sync::oneshot::receiver<int> go, kyoto::sync::oneshot::sender<int> done)
                  -> kyoto::task<> { done.send((co_await go).value() + 1).value(); },
              std::move(go_rx), std::move(done_tx));
    set.detach_all();
    EXPECT_TRUE(set.empty());
  }  // dropping the (now empty) set aborts nothing
  go_tx.send(1).value();
  EXPECT_EQ((co_await done_rx).value(), 2);
}

KYOTO_TEST(JoinSet, ShutdownAbortsAndWaitsForEveryTask) {
  std::atomic<int> dropped{0};
  kyoto::join_set<> set;
  std::vector<kyoto::abort_handle> handles;
  for (int i = 0; i < 8; ++i)
    handles.push_back(set.spawn(pending_forever, std::ref(dropped)));
  set.spawn([]() -> kyoto::task<> {
    throw std::runtime_error("logged by shutdown");
    co_return;
  });
  co_await set.shutdown();
  EXPECT_TRUE(set.empty());
  for (auto& h : handles)
    EXPECT_TRUE(h.is_finished());
}

KYOTO_TEST(JoinSet, AMovedSetKeepsItsTasks) {
  kyoto::join_set<int> a;
  a.spawn(value_of(1));
  a.spawn(value_of(2));
  kyoto::join_set<int> b = std::move(a);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_FALSE((co_await a.join_next()).has_value());
  int sum = 0;
  while (auto r = co_await b.join_next())
    sum += r->value();
  EXPECT_EQ(sum, 3);
  a.spawn(value_of(4));  // a moved-from set is usable again
  EXPECT_EQ((co_await a.join_next())->value(), 4);
}

KYOTO_TEST(JoinSet, SpawnOnAHandleFromInsideARuntime) {
  kyoto::join_set<int> set;
  set.spawn_on(kyoto::handle::current(), value_of(7));
  set.spawn_on(kyoto::handle::current(), [](int v) -> kyoto::task<int> { co_return v; }, 8);
  int sum = 0;
  while (auto r = co_await set.join_next())
    sum += r->value();
  EXPECT_EQ(sum, 15);
}

TEST(JoinSet, SpawnOutsideARuntimeThrowsAndAddsNothing) {
  kyoto::join_set<int> set;
  EXPECT_THROW(set.spawn(value_of(1)), std::logic_error);
  EXPECT_TRUE(set.empty());
}

// Stress: thousands of tasks on 2 workers; abort_all() races their
// completions, foreign threads abort some through their abort_handles.
// Every task is joined exactly once, as a value or as cancelled.
KYOTO_TEST_WITH(JoinSet, StressAbortAllRacesCompletions,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr int tasks = 4000;
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> dropped{0};
    kyoto::join_set<int> set;
    std::vector<kyoto::abort_handle> handles;
    handles.reserve(tasks);
    for (int i = 0; i < tasks; ++i) {
      // The counter is a parameter: it is destroyed with the frame even if
      // the task is aborted before it first runs.
      handles.push_back(set.spawn(
          [](int n, kyoto::test::drop_counter) -> kyoto::task<int> {
            for (int k = 0; k < n % 5; ++k)
              co_await kyoto::yield_now();
            co_return n;
          },
          i, kyoto::test::drop_counter(dropped)));
    }
    std::thread foreign([handles] {
      for (std::size_t i = 0; i < handles.size(); i += 3)
        handles[i].abort();
    });
    std::set<int> seen;
    int cancelled = 0;
    int joined = 0;
    while (auto r = co_await set.join_next()) {
      ++joined;
      if (joined == tasks / 4 + round * 100) set.abort_all();
      if (r->has_value()) {
        EXPECT_TRUE(seen.insert(**r).second);
      } else {
        EXPECT_TRUE(r->error().is_cancelled());
        ++cancelled;
      }
    }
    foreign.join();
    EXPECT_EQ(joined, tasks);
    EXPECT_EQ(static_cast<int>(seen.size()) + cancelled, tasks);
    EXPECT_EQ(dropped.load(), tasks);
  }
}

// Stress: sets dropped while their tasks complete on the other worker.
KYOTO_TEST_WITH(JoinSet, StressDroppingSetsRacesCompletions,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  std::atomic<int> dropped{0};
  constexpr int rounds = 200;
  constexpr int per_set = 20;
  for (int round = 0; round < rounds; ++round) {
    kyoto::join_set<int> set;
    for (int i = 0; i < per_set; ++i) {
      set.spawn(
          [](int n, kyoto::test::drop_counter) -> kyoto::task<int> {
            if (n % 2 == 0) co_await kyoto::yield_now();
            co_return n;
          },
          i, kyoto::test::drop_counter(dropped));
    }
    if (round % 2 == 0) (void)co_await set.join_next();
  }
  // Every task ends (aborted or completed) and is destroyed, while the
  // runtime runs (not by its shutdown). The deadline is a watchdog, not
  // synchronisation: the loop ends as soon as the count is reached (a fixed
  // number of yields was too short when the other worker's thread was
  // descheduled on a loaded machine).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (dropped.load() < rounds * per_set && std::chrono::steady_clock::now() < deadline)
    co_await kyoto::yield_now();
  EXPECT_EQ(dropped.load(), rounds * per_set);
}

}  // namespace
