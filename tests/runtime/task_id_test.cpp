// kyoto::task_id, join_handle::id, abort_handle::id, join_set's
// join_next_with_id and kyoto::task_builder (tokio's task::Id tests:
// tokio/tests/task_id.rs).
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

kyoto::task<kyoto::task_id> own_id() {
  co_return kyoto::task_id::current();
}

KYOTO_TEST(TaskId, InsideATaskEqualsItsJoinHandleId) {
  kyoto::join_handle<kyoto::task_id> h = kyoto::spawn(own_id());
  const kyoto::task_id from_handle = h.id();
  EXPECT_EQ(co_await h, from_handle);
}

KYOTO_TEST(TaskId, EachSpawnedTaskGetsADistinctId) {
  std::vector<kyoto::join_handle<kyoto::task_id>> handles;
  for (int i = 0; i < 100; ++i)
    handles.push_back(
        kyoto::spawn([]() -> kyoto::task<kyoto::task_id> { co_return kyoto::task_id::current(); }));
  std::set<kyoto::task_id> ids;
  ids.insert(kyoto::task_id::current());  // the test body's own task
  for (auto& h : handles)
    ids.insert(co_await h);
  EXPECT_EQ(ids.size(), 101u);
}

KYOTO_TEST(TaskId, IdsStayUniqueAcrossWorkersAndFinishedTasks) {
  // Tasks spawned from many tasks (so from several workers, each with its
  // own block of ids), half of them finished before the others start.
  std::vector<kyoto::join_handle<std::vector<kyoto::task_id>>> spawners;
  for (int s = 0; s < 8; ++s)
    spawners.push_back(kyoto::spawn([]() -> kyoto::task<std::vector<kyoto::task_id>> {
      std::vector<kyoto::task_id> ids;
      for (int i = 0; i < 300; ++i) {
        auto h = kyoto::spawn(own_id());
        ids.push_back(co_await h);
      }
      co_return ids;
    }));
  std::unordered_set<kyoto::task_id> all;
  for (auto& s : spawners)
    for (kyoto::task_id id : co_await s)
      EXPECT_TRUE(all.insert(id).second) << "id " << id << " handed out twice";
  EXPECT_EQ(all.size(), 8u * 300u);
}

TEST(TaskId, CurrentOutsideATaskThrowsNamingTheOperation) {
  kyoto::test::expect_throws<std::logic_error>([] { return kyoto::task_id::current(); },
                                               "kyoto::task_id::current");
  EXPECT_FALSE(kyoto::task_id::try_current().has_value());
}

KYOTO_TEST(TaskId, TryCurrentInsideATaskGivesTheId) {
  auto h = kyoto::spawn([]() -> kyoto::task<std::optional<kyoto::task_id>> {
    co_return kyoto::task_id::try_current();
  });
  const kyoto::task_id id = h.id();
  EXPECT_EQ(co_await h, std::optional<kyoto::task_id>(id));
}

KYOTO_TEST(TaskId, BlockOnsRootTaskHasAnId) {
  EXPECT_TRUE(kyoto::task_id::try_current().has_value());
  co_return;
}

inline kyoto::task_local<int> scoped_value;

KYOTO_TEST(TaskId, ANestedRunReportsTheIdOfTheTaskRunningIt) {
  // A task_local scope runs its awaitable as a nested task: the id there
  // is still the enclosing spawned task's.
  const kyoto::task_id outer = kyoto::task_id::current();
  const kyoto::task_id inner = co_await scoped_value.scope(1, own_id());
  EXPECT_EQ(inner, outer);
}

KYOTO_TEST(TaskId, AbortHandleGivesTheSameIdAsTheJoinHandle) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto h =
      kyoto::spawn([](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<> { (void)co_await r; },
                   std::move(rx));
  kyoto::abort_handle a = h.abort_handle();
  EXPECT_EQ(a.id(), h.id());
  h.abort();
  (void)co_await kyoto::test::expect_throws_async<kyoto::join_error>([&]() -> auto& { return h; });
  EXPECT_EQ(a.id(), h.id());  // still valid after the task finished
}

TEST(TaskId, EmptyHandlesThrowNamingTheOperation) {
  kyoto::abort_handle a;
  kyoto::test::expect_throws<std::logic_error>([&] { return a.id(); }, "kyoto::abort_handle::id");
  kyoto::join_handle<void> h;
  kyoto::test::expect_throws<std::logic_error>([&] { return h.id(); }, "kyoto::join_handle::id");
}

TEST(TaskId, IsComparableHashableAndPrintable) {
  const kyoto::task_id a(7);
  const kyoto::task_id b(9);
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, kyoto::task_id(7));
  EXPECT_EQ(std::hash<kyoto::task_id>{}(a), std::hash<kyoto::task_id>{}(kyoto::task_id(7)));
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "7");
  EXPECT_EQ(kyoto::to_string(b), "9");
}

KYOTO_TEST(JoinSetWithId, JoinNextWithIdPairsEveryOutcomeWithItsTask) {
  kyoto::join_set<int> set;
  std::set<kyoto::task_id> spawned;
  spawned.insert(set.spawn([]() -> kyoto::task<int> { co_return 1; }).id());
  spawned.insert(set.spawn([]() -> kyoto::task<int> {
                      throw std::runtime_error("boom");
                      co_return 0;
                    })
                     .id());
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::abort_handle pending = set.spawn(
      [](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<int> { co_return *co_await r; },
      std::move(rx));
  spawned.insert(pending.id());
  pending.abort();
  std::set<kyoto::task_id> joined;
  int values = 0;
  int errors = 0;
  while (auto r = co_await set.join_next_with_id()) {
    joined.insert(r->first);
    if (r->second.has_value()) {
      ++values;
    } else {
      ++errors;
    }
  }
  EXPECT_EQ(joined, spawned);
  EXPECT_EQ(values, 1);
  EXPECT_EQ(errors, 2);
}

KYOTO_TEST(JoinSetWithId, TryJoinNextWithIdGivesTheIdOfACompletedTask) {
  kyoto::join_set<int> set;
  const kyoto::task_id id = set.spawn([]() -> kyoto::task<int> { co_return 5; }).id();
  std::optional<std::pair<kyoto::task_id, kyoto::join_set<int>::outcome>> r;
  while (!(r = set.try_join_next_with_id()))
    co_await kyoto::yield_now();
  EXPECT_EQ(r->first, id);
  EXPECT_EQ(r->second.value(), 5);
}

KYOTO_TEST(TaskBuilder, SpawnsANamedTaskThatRunsAsSpawnWould) {
  auto h = kyoto::task_builder{}.name("adder").spawn(
      [](int a) -> kyoto::task<int> { co_return a + 1; }, 41);
  EXPECT_EQ(co_await h, 42);
  kyoto::task_builder b;
  b.name("reused");
  EXPECT_EQ(b.name(), "reused");
  auto h1 = b.spawn(own_id());
  auto h2 = b.spawn(own_id());
  EXPECT_NE(co_await h1, co_await h2);
}

}  // namespace
