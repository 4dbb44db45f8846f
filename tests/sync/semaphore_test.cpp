// kyoto::sync::semaphore, ported from tokio 1.24 tests/sync_semaphore.rs and
// tests/sync_semaphore_owned.rs (every test applies; tokio's #[should_panic]
// tests expect an exception here), plus the contracts tokio checks in
// src/sync/tests/semaphore_batch.rs: FIFO order, cancellation passing
// permits on, close, the cooperative budget, and a stress test across
// threads.
#include "ct_test.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using kyoto::sync::semaphore;
using kyoto::sync::semaphore_permit;
using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;
using kyoto::test::spawn_waiting;

static_assert(!std::is_copy_constructible_v<semaphore>);
static_assert(!std::is_move_constructible_v<semaphore>);
static_assert(!std::is_copy_constructible_v<semaphore_permit>);
static_assert(std::is_nothrow_move_constructible_v<semaphore_permit>);

/// Acquires a permit of `s` (borrowed, or owned) and releases it: whether it
/// got one.
kyoto::task<bool> acquire_one(std::shared_ptr<semaphore> s) {
  auto p = co_await s->acquire();
  co_return p.has_value();
}
kyoto::task<bool> acquire_one_owned(std::shared_ptr<semaphore> s) {
  auto p = co_await semaphore::acquire_owned(s);
  co_return p.has_value();
}

using acquire_fn = kyoto::task<bool> (*)(std::shared_ptr<semaphore>);

/// Spawns `acquire` while `held` holds the only permit of `sem`: it gets a
/// permit once `held` is dropped.
template <class Permit>
kyoto::task<> acquire_waits_until_dropped(std::shared_ptr<semaphore> sem, Permit held,
                                          acquire_fn acquire) {
  auto j = kyoto::spawn(acquire(sem));
  {
    auto drop = std::move(held);
  }
  EXPECT_TRUE(co_await j);
}

/// Spawns `acquire` on `sem` (with no permits): add_permits(1) lets it in.
kyoto::task<> add_permits_wakes(std::shared_ptr<semaphore> sem, acquire_fn acquire) {
  auto j = kyoto::spawn(acquire(sem));
  sem->add_permits(1);
  EXPECT_TRUE(co_await j);
}

/// Spawns `n` tasks that each `acquire` a permit of `sem` and give it back,
/// and awaits them all: every one got its permit.
kyoto::task<> run_acquirers(std::shared_ptr<semaphore> sem, int n, acquire_fn acquire) {
  std::vector<kyoto::join_handle<bool>> handles;
  for (int i = 0; i < n; ++i)
    handles.push_back(kyoto::spawn(acquire(sem)));
  for (auto& h : handles)
    EXPECT_TRUE(co_await h);
}

// ---- tokio tests/sync_semaphore.rs ----

// tokio: no_permits
TEST(Semaphore, CanBeCreatedWithNoPermits) {
  semaphore sem(0);
  EXPECT_EQ(sem.available_permits(), 0u);
  EXPECT_TRUE(sem.try_acquire().error().is_no_permits());
}

// tokio: try_acquire
TEST(Semaphore, TryAcquireTakesAFreePermitAndFailsWhenNoneIsLeft) {
  semaphore sem(1);
  {
    auto p1 = sem.try_acquire();
    EXPECT_TRUE(p1.has_value());
    auto p2 = sem.try_acquire();
    EXPECT_FALSE(p2.has_value());
  }
  EXPECT_TRUE(sem.try_acquire().has_value());
}

// tokio: acquire
KYOTO_TEST(Semaphore, AcquireWaitsUntilAPermitIsDropped) {
  auto sem = std::make_shared<semaphore>(1);
  auto p1 = sem->try_acquire().value();
  co_await acquire_waits_until_dropped(sem, std::move(p1), &acquire_one);
}

// tokio: add_permits
KYOTO_TEST(Semaphore, AddPermitsWakesAWaiter) {
  auto sem = std::make_shared<semaphore>(0);
  co_await add_permits_wakes(sem, &acquire_one);
}

// tokio: forget
TEST(Semaphore, AForgottenPermitIsNotReturned) {
  semaphore sem(1);
  {
    auto p = sem.try_acquire().value();
    EXPECT_EQ(sem.available_permits(), 0u);
    p.forget();
    EXPECT_EQ(sem.available_permits(), 0u);
  }
  EXPECT_EQ(sem.available_permits(), 0u);
  EXPECT_FALSE(sem.try_acquire().has_value());
}

// tokio: merge
TEST(Semaphore, MergedPermitsAreReturnedTogether) {
  semaphore sem(3);
  {
    auto p1 = sem.try_acquire().value();
    EXPECT_EQ(sem.available_permits(), 2u);
    auto p2 = sem.try_acquire_many(2).value();
    EXPECT_EQ(sem.available_permits(), 0u);
    p1.merge(std::move(p2));
    EXPECT_EQ(p1.num_permits(), 3u);
    EXPECT_EQ(sem.available_permits(), 0u);
  }
  EXPECT_EQ(sem.available_permits(), 3u);
}

// tokio: merge_unrelated_permits (should_panic)
TEST(Semaphore, MergingPermitsOfDifferentSemaphoresThrows) {
  semaphore sem1(3);
  semaphore sem2(3);
  auto p1 = sem1.try_acquire().value();
  auto p2 = sem2.try_acquire().value();
  EXPECT_THROW(p1.merge(std::move(p2)), std::logic_error);
  EXPECT_EQ(p1.num_permits(), 1u);  // nothing moved
  EXPECT_EQ(p2.num_permits(), 1u);  // NOLINT(bugprone-use-after-move): the merge threw
}

// tokio: stress_test
KYOTO_TEST(Semaphore, ThousandTasksShareFivePermitsAndGiveThemAllBack) {
  auto sem = std::make_shared<semaphore>(5);
  co_await run_acquirers(sem, 1000, &acquire_one);
  std::vector<semaphore_permit> held;
  for (int i = 0; i < 5; ++i)
    held.push_back(sem->try_acquire().value());
  EXPECT_FALSE(sem->try_acquire().has_value());
}

// tokio: add_max_amount_permits
TEST(Semaphore, AddPermitsUpToMaxPermits) {
  semaphore s(0);
  s.add_permits(semaphore::max_permits);
  EXPECT_EQ(s.available_permits(), semaphore::max_permits);
}

// tokio: add_more_than_max_amount_permits1 (should_panic)
TEST(Semaphore, AddPermitsPastMaxPermitsThrows) {
  semaphore s(1);
  EXPECT_THROW(s.add_permits(semaphore::max_permits), std::overflow_error);
  EXPECT_EQ(s.available_permits(), 1u);
}

// tokio: add_more_than_max_amount_permits2 (should_panic)
TEST(Semaphore, AddPermitsPastMaxPermitsInStepsThrows) {
  semaphore s(semaphore::max_permits - 1);
  s.add_permits(1);
  EXPECT_THROW(s.add_permits(1), std::overflow_error);
}

// tokio: panic_when_exceeds_maxpermits (should_panic)
TEST(Semaphore, CreatingWithMoreThanMaxPermitsThrows) {
  EXPECT_THROW(semaphore s(semaphore::max_permits + 1), std::invalid_argument);
}

// tokio: no_panic_at_maxpermits
TEST(Semaphore, CreatingWithMaxPermitsIsAllowed) {
  semaphore a(semaphore::max_permits);
  semaphore s(semaphore::max_permits - 1);
  s.add_permits(1);
  EXPECT_EQ(s.available_permits(), semaphore::max_permits);
}

// ---- tokio tests/sync_semaphore_owned.rs ----

// tokio: try_acquire (owned)
TEST(SemaphoreOwned, TryAcquireOwnedTakesAFreePermit) {
  auto sem = std::make_shared<semaphore>(1);
  {
    auto p1 = semaphore::try_acquire_owned(sem);
    EXPECT_TRUE(p1.has_value());
    EXPECT_FALSE(semaphore::try_acquire_owned(sem).has_value());
  }
  EXPECT_TRUE(semaphore::try_acquire_owned(sem).has_value());
}

// tokio: try_acquire_many (owned)
TEST(SemaphoreOwned, TryAcquireManyOwnedTakesThemAllOrNone) {
  auto sem = std::make_shared<semaphore>(42);
  {
    auto p1 = semaphore::try_acquire_many_owned(sem, 42);
    EXPECT_TRUE(p1.has_value());
    EXPECT_FALSE(semaphore::try_acquire_owned(sem).has_value());
  }
  auto p3 = semaphore::try_acquire_many_owned(sem, 32);
  EXPECT_TRUE(p3.has_value());
  auto p4 = semaphore::try_acquire_many_owned(sem, 10);
  EXPECT_TRUE(p4.has_value());
  EXPECT_FALSE(semaphore::try_acquire_owned(sem).has_value());
}

// tokio: acquire (owned)
KYOTO_TEST(SemaphoreOwned, AcquireOwnedWaitsUntilAPermitIsDropped) {
  auto sem = std::make_shared<semaphore>(1);
  auto p1 = semaphore::try_acquire_owned(sem).value();
  co_await acquire_waits_until_dropped(sem, std::move(p1), &acquire_one_owned);
}

// tokio: acquire_many (owned)
KYOTO_TEST(SemaphoreOwned, AcquireManyOwnedWaitsForEnoughPermits) {
  auto sem = std::make_shared<semaphore>(42);
  auto permit32 = semaphore::try_acquire_many_owned(sem, 32).value();
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  auto j = kyoto::spawn(
      [](std::shared_ptr<semaphore> s, kyoto::sync::oneshot::sender<int> done) -> kyoto::task<> {
        auto permit10 = (co_await semaphore::acquire_many_owned(s, 10)).value();
        (void)done.send(1);
        auto again32 = (co_await semaphore::acquire_many_owned(s, 32)).value();
        EXPECT_EQ(again32.num_permits(), 32u);
      },
      sem, std::move(tx));
  EXPECT_TRUE((co_await rx).has_value());
  {
    auto drop = std::move(permit32);
  }
  co_await j;
}

// tokio: add_permits (owned)
KYOTO_TEST(SemaphoreOwned, AddPermitsWakesAnOwnedWaiter) {
  auto sem = std::make_shared<semaphore>(0);
  co_await add_permits_wakes(sem, &acquire_one_owned);
}

// tokio: forget (owned)
TEST(SemaphoreOwned, AForgottenOwnedPermitIsNotReturned) {
  auto sem = std::make_shared<semaphore>(1);
  {
    auto p = semaphore::try_acquire_owned(sem).value();
    EXPECT_EQ(sem->available_permits(), 0u);
    p.forget();
    EXPECT_EQ(sem->available_permits(), 0u);
  }
  EXPECT_EQ(sem->available_permits(), 0u);
  EXPECT_FALSE(semaphore::try_acquire_owned(sem).has_value());
}

// tokio: merge (owned)
TEST(SemaphoreOwned, MergedOwnedPermitsAreReturnedTogether) {
  auto sem = std::make_shared<semaphore>(3);
  {
    auto p1 = semaphore::try_acquire_owned(sem).value();
    EXPECT_EQ(sem->available_permits(), 2u);
    auto p2 = semaphore::try_acquire_many_owned(sem, 2).value();
    EXPECT_EQ(sem->available_permits(), 0u);
    p1.merge(std::move(p2));
    EXPECT_EQ(sem->available_permits(), 0u);
  }
  EXPECT_EQ(sem->available_permits(), 3u);
}

// tokio: merge_unrelated_permits (owned, should_panic)
TEST(SemaphoreOwned, MergingOwnedPermitsOfDifferentSemaphoresThrows) {
  auto sem1 = std::make_shared<semaphore>(3);
  auto sem2 = std::make_shared<semaphore>(3);
  auto p1 = semaphore::try_acquire_owned(sem1).value();
  auto p2 = semaphore::try_acquire_owned(sem2).value();
  EXPECT_THROW(p1.merge(std::move(p2)), std::logic_error);
}

// tokio: stress_test (owned)
KYOTO_TEST(SemaphoreOwned, ThousandTasksShareFiveOwnedPermits) {
  auto sem = std::make_shared<semaphore>(5);
  co_await run_acquirers(sem, 1000, &acquire_one_owned);
  EXPECT_EQ(sem->available_permits(), 5u);
}

TEST(SemaphoreOwned, ANullSemaphoreIsRejectedWithAClearError) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [&] { (void)semaphore::try_acquire_owned(nullptr); }, "try_acquire_many_owned");
}

// An owned permit keeps its semaphore alive after every other owner is gone.
TEST(SemaphoreOwned, AnOwnedPermitKeepsTheSemaphoreAlive) {
  auto sem = std::make_shared<semaphore>(1);
  std::weak_ptr<semaphore> weak = sem;
  auto p = semaphore::try_acquire_owned(std::move(sem)).value();
  EXPECT_FALSE(weak.expired());
  {
    auto drop = std::move(p);
  }
  EXPECT_TRUE(weak.expired());
}

// ---- fairness, cancellation, close (tokio src/sync/tests/semaphore_batch.rs) ----

/// Acquires `n` permits and holds them until `release` says so; records
/// the order in which holders got their permits.
kyoto::task<> acquire_and_log(semaphore& sem, std::uint32_t n, int id, std::vector<int>& order) {
  auto p = co_await sem.acquire_many(n);
  EXPECT_TRUE(p.has_value());
  order.push_back(id);
}

// A large request at the front is not overtaken by small ones behind it
// (tokio: the batch semaphore assigns permits in queue order).
KYOTO_CT_TEST(Semaphore, ABigWaiterIsNotOvertakenBySmallOnes) {
  semaphore sem(1);
  auto held = sem.try_acquire().value();
  std::vector<int> order;
  auto big = co_await spawn_waiting(acquire_and_log(sem, 3, 1, order));
  auto small = co_await spawn_waiting(acquire_and_log(sem, 1, 2, order));
  EXPECT_TRUE(order.empty());
  sem.add_permits(2);  // 2 free + the held one later = 3 for the big one
  co_await let_others_run();
  EXPECT_TRUE(order.empty()) << "the small waiter jumped the queue";
  EXPECT_EQ(sem.available_permits(), 0u);  // assigned to the front waiter
  {
    auto drop = std::move(held);
  }
  EXPECT_TRUE(co_await finishes_soon(big));
  EXPECT_TRUE(co_await finishes_soon(small));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(sem.available_permits(), 3u);
}

// tokio: cancel_acquire_releases_permits — a waiter cancelled after part
// of its request was assigned gives it back, to the next waiter.
KYOTO_CT_TEST(Semaphore, ACancelledWaiterPassesItsAssignedPermitsOn) {
  semaphore sem(2);
  auto held = sem.try_acquire_many(2).value();
  std::vector<int> order;
  auto big = co_await spawn_waiting(acquire_and_log(sem, 4, 1, order));
  auto next = co_await spawn_waiting(acquire_and_log(sem, 2, 2, order));
  {
    auto drop = std::move(held);
  }  // 2 assigned to `big`, which needs 2 more
  co_await let_others_run();
  EXPECT_FALSE(big.is_finished());
  EXPECT_FALSE(next.is_finished());
  big.abort();
  EXPECT_TRUE(co_await finishes_soon(next)) << "the permits `big` had did not pass on";
  EXPECT_EQ(order, (std::vector<int>{2}));
  EXPECT_EQ(sem.available_permits(), 2u);
}

// A waiter granted its permits but cancelled before it ran returns them.
KYOTO_CT_TEST(Semaphore, AWaiterCancelledAfterItsGrantReturnsThePermits) {
  semaphore sem(1);
  auto held = sem.try_acquire().value();
  std::vector<int> order;
  auto waiter = co_await spawn_waiting(acquire_and_log(sem, 1, 1, order));
  {
    auto drop = std::move(held);
  }  // granted and woken, not yet run
  waiter.abort();
  co_await let_others_run();
  EXPECT_TRUE(waiter.is_finished());
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(sem.available_permits(), 1u);
}

// tokio: close_semaphore_notifies_permit1/2 — close wakes every waiter with
// an error, later acquires fail, and held permits still come back.
KYOTO_CT_TEST(Semaphore, CloseFailsWaitersAndLaterAcquires) {
  semaphore sem(1);
  auto held = sem.try_acquire().value();
  auto waiter = kyoto::spawn([](semaphore& s) -> kyoto::task<bool> {
    auto p = co_await s.acquire_many(2);
    co_return p.has_value();
  }(sem));
  co_await let_others_run();
  sem.close();
  EXPECT_TRUE(sem.is_closed());
  EXPECT_FALSE(co_await waiter);
  EXPECT_FALSE((co_await sem.acquire()).has_value());
  EXPECT_TRUE(sem.try_acquire().error().is_closed());
  {
    auto drop = std::move(held);
  }
  EXPECT_EQ(sem.available_permits(), 1u);
}

// acquire_many(0) succeeds at once, even with no permits.
KYOTO_TEST(Semaphore, AcquiringZeroPermitsSucceedsAtOnce) {
  semaphore sem(0);
  auto p = co_await sem.acquire_many(0);
  EXPECT_TRUE(p.has_value());
  EXPECT_EQ(p ? p->num_permits() : 99u, 0u);
}

// The cooperative budget: a task acquiring and releasing in a loop (never
// suspending) still lets another task run.
KYOTO_CT_TEST(Semaphore, AnAlwaysReadyAcquireLoopYieldsToOtherTasks) {
  semaphore sem(1);
  std::atomic<bool> other_ran{false};
  auto other = kyoto::spawn(kyoto::test::raise_flag(other_ran));
  for (int i = 0; i < 10'000 && !other_ran; ++i) {
    auto p = co_await sem.acquire();
    EXPECT_TRUE(p.has_value());
  }
  EXPECT_TRUE(other_ran.load());
  co_await other;
}

// ---- stress (ThreadSanitizer) ----

// Tasks on two workers and plain threads (through the owned API on a
// runtime they spawn onto) contend for 3 permits; at no moment do more than
// 3 hold one, and every permit comes back.
TEST(SemaphoreStress, HoldersNeverExceedThePermitsAcrossWorkersAndThreads) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto sem = std::make_shared<semaphore>(3);
  std::atomic<int> holders{0};
  std::atomic<int> max_holders{0};
  std::atomic<int> done{0};
  constexpr int tasks = 64;
  constexpr int rounds = 200;
  auto body = [](std::shared_ptr<semaphore> s, std::atomic<int>& holding, std::atomic<int>& max,
                 std::atomic<int>& finished, std::uint32_t n) -> kyoto::task<> {
    for (int r = 0; r < rounds; ++r) {
      auto p = (co_await semaphore::acquire_many_owned(s, n)).value();
      const int now = holding.fetch_add(static_cast<int>(n)) + static_cast<int>(n);
      int seen = max.load();
      while (now > seen && !max.compare_exchange_weak(seen, now)) {
      }
      if (r % 8 == 0) co_await kyoto::yield_now();
      holding.fetch_sub(static_cast<int>(n));
    }
    finished.fetch_add(1);
  };
  std::vector<kyoto::join_handle<void>> handles;
  // Foreign threads spawn half the tasks through the handle.
  std::vector<std::thread> threads;
  std::vector<kyoto::join_handle<void>> foreign_handles[2];
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < tasks / 4; ++i) {
        foreign_handles[t].push_back(
            rt.spawn(body(sem, holders, max_holders, done, static_cast<std::uint32_t>(1 + i % 3))));
      }
    });
  }
  rt.block_on([&]() -> kyoto::task<> {
    for (int i = 0; i < tasks / 2; ++i) {
      handles.push_back(kyoto::spawn(
          body(sem, holders, max_holders, done, static_cast<std::uint32_t>(1 + i % 2))));
    }
    for (auto& h : handles)
      co_await h;
  }());
  for (auto& t : threads)
    t.join();
  rt.block_on([&]() -> kyoto::task<> {
    for (auto& hs : foreign_handles) {
      for (auto& h : hs)
        co_await h;
    }
  }());
  EXPECT_EQ(done.load(), tasks);
  EXPECT_LE(max_holders.load(), 3);
  EXPECT_EQ(holders.load(), 0);
  EXPECT_EQ(sem->available_permits(), 3u);
}

}  // namespace
