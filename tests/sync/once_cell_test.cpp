// kyoto::sync::once_cell, ported from tokio 1.24 tests/sync_once_cell.rs,
// plus cancellation of a running initialiser and a race across workers and
// plain threads.
//
// tokio's parking_lot tests order their tasks with a paused clock
// (time::pause/advance); kyoto has no paused clock, so the ports order them
// on a current_thread runtime with yields and channels instead. A panicking
// initialiser (get_or_init_panic) is an initialiser that throws.
// Left out: none.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/sync/once_cell.hpp>
#include <kyoto/sync/oneshot.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using kyoto::sync::once_cell;
using kyoto::test::drop_counter;
using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;

static_assert(!std::is_copy_constructible_v<once_cell<int>>);
static_assert(!std::is_move_constructible_v<once_cell<int>>);

// tokio: drop_cell
TEST(OnceCell, ASetValueIsDestroyedWithTheCell) {
  std::atomic<int> drops{0};
  {
    once_cell<drop_counter> cell;
    EXPECT_TRUE(cell.set(drop_counter(drops)).has_value());
  }
  EXPECT_EQ(drops.load(), 1);
}

// tokio: drop_cell_new_with
TEST(OnceCell, AValueGivenAtConstructionIsDestroyedWithTheCell) {
  std::atomic<int> drops{0};
  {
    once_cell<drop_counter> cell{drop_counter(drops)};
    EXPECT_TRUE(cell.initialized());
  }
  EXPECT_EQ(drops.load(), 1);
}

// tokio: drop_into_inner
TEST(OnceCell, IntoInnerHandsTheValueOverWithoutDestroyingIt) {
  std::atomic<int> drops{0};
  auto cell = std::make_unique<once_cell<drop_counter>>();
  EXPECT_TRUE(cell->set(drop_counter(drops)).has_value());
  std::optional<drop_counter> out = std::move(*cell).into_inner();
  EXPECT_EQ(drops.load(), 0);
  cell.reset();
  EXPECT_EQ(drops.load(), 0);
  EXPECT_TRUE(out.has_value());
  out.reset();
  EXPECT_EQ(drops.load(), 1);
}

// tokio: drop_into_inner_new_with
TEST(OnceCell, IntoInnerOfAConstructedCellHandsTheValueOver) {
  std::atomic<int> drops{0};
  once_cell<drop_counter> cell{drop_counter(drops)};
  std::optional<drop_counter> out = std::move(cell).into_inner();
  EXPECT_EQ(drops.load(), 0);
  out.reset();
  EXPECT_EQ(drops.load(), 1);
}

// tokio: from
TEST(OnceCell, ACellMadeFromAValueHoldsIt) {
  once_cell<int> cell(2);
  ASSERT_NE(cell.get(), nullptr);
  EXPECT_EQ(*cell.get(), 2);
}

/// An initialiser that suspends (yields) before giving `v`, counting runs.
kyoto::task<int> slow_init(int v, std::atomic<int>& runs) {
  runs.fetch_add(1);
  co_await let_others_run(3);
  co_return v;
}

// tokio: get_or_init — concurrent callers share the first initialiser's
// value; the second initialiser never runs.
KYOTO_CT_TEST(OnceCell, ConcurrentGetOrInitRunsOneInitialiser) {
  once_cell<int> cell;
  std::atomic<int> runs{0};
  auto h1 = kyoto::spawn([](once_cell<int>& c, std::atomic<int>& r) -> kyoto::task<int> {
    co_return co_await c.get_or_init([&r] { return slow_init(5, r); });
  }(cell, runs));
  auto h2 = kyoto::spawn([](once_cell<int>& c, std::atomic<int>& r) -> kyoto::task<int> {
    co_return co_await c.get_or_init([&r] { return slow_init(10, r); });
  }(cell, runs));
  EXPECT_EQ(co_await h1, 5);
  EXPECT_EQ(co_await h2, 5);
  EXPECT_EQ(runs.load(), 1);
}

kyoto::task<int> throwing_init() {
  co_await kyoto::yield_now();
  throw std::runtime_error("init failed");
}

// tokio: get_or_init_panic — an initialiser that fails leaves the cell
// empty for the next one, and its caller gets the failure.
KYOTO_CT_TEST(OnceCell, AThrowingInitialiserLetsTheNextOneRun) {
  once_cell<int> cell;
  std::atomic<int> runs{0};
  auto failing = kyoto::spawn([](once_cell<int>& c) -> kyoto::task<int> {
    co_return co_await c.get_or_init(throwing_init);
  }(cell));
  co_await let_others_run(1);  // the failing initialiser holds the permit
  auto ok = kyoto::spawn([](once_cell<int>& c, std::atomic<int>& r) -> kyoto::task<int> {
    co_return co_await c.get_or_init([&r] { return slow_init(5, r); });
  }(cell, runs));
  EXPECT_THROW(co_await failing, std::runtime_error);
  EXPECT_EQ(co_await ok, 5);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(*cell.get(), 5);
}

// tokio: set_and_get
KYOTO_TEST(OnceCell, AValueSetInATaskIsSeenByGet) {
  once_cell<int> cell;
  auto h = kyoto::spawn([](once_cell<int>& c) -> kyoto::task<bool> {
    co_return c.set(5).has_value();
  }(cell));
  EXPECT_TRUE(co_await h);
  EXPECT_EQ(cell.get() ? *cell.get() : -1, 5);
}

// tokio: get_uninit
TEST(OnceCell, GetOfAnEmptyCellIsNull) {
  once_cell<int> cell;
  EXPECT_EQ(cell.get(), nullptr);
  EXPECT_FALSE(cell.initialized());
}

// tokio: set_twice
TEST(OnceCell, ASecondSetFailsAndGivesTheValueBack) {
  once_cell<std::string> cell;
  EXPECT_TRUE(cell.set("five").has_value());
  auto second = cell.set("six");
  ASSERT_FALSE(second.has_value());
  EXPECT_TRUE(second.error().is_already_init_err());
  EXPECT_EQ(second.error().value, "six");
  EXPECT_EQ(*cell.get(), "five");
}

// tokio: set_while_initializing
KYOTO_CT_TEST(OnceCell, SetWhileAnInitialiserRunsFailsWithInitializing) {
  once_cell<int> cell;
  std::atomic<int> runs{0};
  auto h1 = kyoto::spawn([](once_cell<int>& c, std::atomic<int>& r) -> kyoto::task<int> {
    co_return co_await c.get_or_init([&r] { return slow_init(5, r); });
  }(cell, runs));
  co_await let_others_run(1);  // h1's initialiser is running (suspended)
  auto second = cell.set(10);
  EXPECT_FALSE(second.has_value());
  EXPECT_TRUE(!second && second.error().is_initializing_err());
  EXPECT_EQ(!second ? second.error().value : -1, 10);
  EXPECT_EQ(co_await h1, 5);
}

kyoto::task<kyoto::result<int, std::string>> init_err() {
  co_await kyoto::yield_now();
  co_return kyoto::unexpected(std::string("no"));
}
kyoto::task<kyoto::result<int, std::string>> init_ok() {
  co_return 10;
}

// tokio: get_or_try_init
KYOTO_CT_TEST(OnceCell, AFailedTryInitLeavesTheCellForTheNext) {
  once_cell<int> cell;
  auto h1 = kyoto::spawn([](once_cell<int>& c) -> kyoto::task<bool> {
    auto r = co_await c.get_or_try_init(init_err);
    EXPECT_EQ(r.error(), "no");
    co_return r.has_value();
  }(cell));
  co_await let_others_run(1);
  auto h2 = kyoto::spawn([](once_cell<int>& c) -> kyoto::task<int> {
    auto r = co_await c.get_or_try_init(init_ok);
    co_return r.value().get();
  }(cell));
  EXPECT_FALSE(co_await h1);
  EXPECT_EQ(co_await h2, 10);
}

// ---- kyoto's contracts ----

// A task cancelled while its initialiser runs lets the next waiter
// initialise.
KYOTO_CT_TEST(OnceCell, CancellingARunningInitialiserLetsTheNextRun) {
  once_cell<int> cell;
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto stuck = kyoto::spawn(
      [](once_cell<int>& c, kyoto::sync::oneshot::receiver<int> never) -> kyoto::task<int> {
        // A named initialiser: GCC 12 copies a capturing lambda temporary in
        // a co_await expression bitwise (docs/architecture.md, compiler
        // traps), which would drop the receiver twice.
        auto init = [r = std::move(never)]() mutable -> kyoto::task<int> {
          co_return (co_await r).value_or(-1);
        };
        co_return co_await c.get_or_init(std::move(init));
      }(cell, std::move(rx)));
  co_await let_others_run();
  std::atomic<int> runs{0};
  auto next = kyoto::spawn([](once_cell<int>& c, std::atomic<int>& r) -> kyoto::task<int> {
    co_return co_await c.get_or_init([&r] { return slow_init(7, r); });
  }(cell, runs));
  co_await let_others_run();
  EXPECT_EQ(runs.load(), 0);  // waits behind the running initialiser
  stuck.abort();
  EXPECT_TRUE(co_await finishes_soon(next));
  EXPECT_EQ(co_await next, 7);
}

TEST(OnceCell, TakeEmptiesTheCellForReuse) {
  once_cell<int> cell(1);
  EXPECT_EQ(cell.take(), std::optional<int>(1));
  EXPECT_FALSE(cell.initialized());
  EXPECT_TRUE(cell.set(2).has_value());
  EXPECT_EQ(*cell.get(), 2);
  EXPECT_EQ(cell.take(), std::optional<int>(2));
  EXPECT_EQ(cell.take(), std::nullopt);
}

KYOTO_TEST(OnceCell, GetOrInitOnASetCellDoesNotRunTheInitialiser) {
  once_cell<int> cell(3);
  std::atomic<int> runs{0};
  EXPECT_EQ(co_await cell.get_or_init([&runs] { return slow_init(9, runs); }), 3);
  EXPECT_EQ(runs.load(), 0);
}

// ---- stress (ThreadSanitizer) ----

// Tasks on two workers race get_or_init while plain threads race set():
// exactly one value wins and everybody sees that one, fully constructed.
TEST(OnceCellStress, OneValueWinsAcrossWorkersAndThreads) {
  for (int round = 0; round < 20; ++round) {
    kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
    auto cell = std::make_shared<once_cell<std::string>>();
    std::atomic<int> inits{0};
    std::atomic<int> sets{0};
    std::vector<std::thread> threads;
    std::vector<std::string> thread_seen(2);
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        if (cell->set("thread " + std::to_string(t)).has_value()) sets.fetch_add(1);
        while (cell->get() == nullptr)
          std::this_thread::yield();
        thread_seen[static_cast<std::size_t>(t)] = *cell->get();
      });
    }
    std::vector<std::string> task_seen =
        rt.block_on([](std::shared_ptr<once_cell<std::string>> c,
                       std::atomic<int>* n) -> kyoto::task<std::vector<std::string>> {
          std::vector<kyoto::join_handle<std::string>> hs;
          for (int i = 0; i < 16; ++i) {
            hs.push_back(kyoto::spawn(
                [](std::shared_ptr<once_cell<std::string>> cc, std::atomic<int>* count,
                   int k) -> kyoto::task<std::string> {
                  const std::string& v =
                      co_await cc->get_or_init([count, k]() -> kyoto::task<std::string> {
                        count->fetch_add(1);
                        co_await kyoto::yield_now();
                        co_return "task " + std::to_string(k);
                      });
                  co_return v;
                },
                c, n, i));
          }
          std::vector<std::string> seen;
          for (auto& h : hs)
            seen.push_back(co_await h);
          co_return seen;
        }(cell, &inits));
    for (auto& t : threads)
      t.join();
    const std::string winner = *cell->get();
    for (const auto& s : task_seen)
      EXPECT_EQ(s, winner);
    for (const auto& s : thread_seen)
      EXPECT_EQ(s, winner);
    // Exactly one writer ran: set() and initialisers take the same permit,
    // and once the value is there nobody else gets it.
    EXPECT_EQ(inits.load() + sets.load(), 1);
    EXPECT_TRUE((winner.rfind("thread", 0) == 0 && sets.load() == 1) ||
                (winner.rfind("task", 0) == 0 && sets.load() == 0))
        << winner << " sets=" << sets.load();
  }
}

}  // namespace
