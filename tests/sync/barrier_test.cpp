// kyoto::sync::barrier, ported from tokio 1.24 tests/sync_barrier.rs (and
// the example in src/sync/barrier.rs), then kyoto's own contracts:
// cancellation (an arrival is never undone, as in tokio), the cooperative
// budget, and stress on a 2-worker runtime with plain threads.
//
// tokio_test's mock polling (assert_pending!/assert_ready!) is ported with
// real tasks: a wait still unfinished after the others have run a few times
// over (let_others_run) is waiting; a released one finishes within a bounded
// number of yields (finishes_soon), so a lost wake fails instead of hanging.
//
// Left out of tokio's file:
// barrier_future_is_send: Rust's Send trait has no C++ counterpart (waits do cross threads below).
#include "ct_test.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// The conformance tests check "not finished yet" by letting the other tasks
// run for a few yields: they run on a current_thread runtime
// (support/ct_test.hpp). The stress tests at the end run on 2 workers.
//
// (A co_await never stands alone in an if/while condition here: GCC 12
// miscompiles that. A declaration in the condition is fine.)

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;
using kyoto::test::spawn_waiting;
using kyoto::test::was_cancelled;

using kyoto::sync::barrier;
using kyoto::sync::barrier_wait_result;

static_assert(!std::is_copy_constructible_v<barrier>);
static_assert(!std::is_move_constructible_v<barrier>);

// ---- helpers ----

/// One wait on a barrier the test keeps; gives is_leader().
kyoto::task<bool> wait_on(barrier* b) {
  const barrier_wait_result r = co_await b->wait();
  co_return r.is_leader();
}

/// Spawns a wait and checks it is still waiting after the others ran
/// (tokio's assert_pending!(w.poll())).
kyoto::task<kyoto::join_handle<bool>> pending_wait(barrier* b) {
  co_return co_await spawn_waiting(wait_on(b));
}

/// A wait that completes at once, giving is_leader() (tokio's
/// assert_ready!(w.poll())): spawned, it is done after the others ran.
kyoto::task<bool> ready_wait_is_leader(barrier* b) {
  auto h = kyoto::spawn(wait_on(b));
  const bool finished = co_await finishes_soon(h);
  EXPECT_TRUE(finished) << "a wait did not complete";
  if (!finished) {
    h.abort();
    co_return false;
  }
  co_return co_await h;
}

/// The wait that fills the generation leads, and the parked waits `ws`
/// are released as followers. False when one of them did not finish: the
/// caller asserts on it.
template <class... Handles>
kyoto::task<bool> last_arrival_leads_and_releases(barrier* b, Handles*... handles) {
  const std::array<kyoto::join_handle<bool>*, sizeof...(Handles)> ws{handles...};
  const barrier_wait_result last = co_await b->wait();
  EXPECT_TRUE(last.is_leader());
  for (kyoto::join_handle<bool>* w : ws) {
    const bool finished = co_await finishes_soon(*w);
    if (!finished) co_return false;
  }
  for (kyoto::join_handle<bool>* w : ws) {
    const bool leader = co_await *w;
    EXPECT_FALSE(leader);
  }
  co_return true;
}

// ==== ported from tokio's sync_barrier.rs ====

// zero_does_not_block
KYOTO_CT_TEST(Barrier, BarrierOfZeroReleasesEveryWaitAtOnceAsLeader) {
  barrier b(0);
  EXPECT_EQ(b.size(), 1u);
  {
    const barrier_wait_result r = co_await b.wait();
    EXPECT_TRUE(r.is_leader());
  }
  {
    const barrier_wait_result r = co_await b.wait();
    EXPECT_TRUE(r.is_leader());
  }
}

// single
KYOTO_CT_TEST(Barrier, BarrierOfOneReleasesEveryWaitAtOnceAsLeader) {
  barrier b(1);
  for (int i = 0; i < 3; ++i) {
    const barrier_wait_result r = co_await b.wait();
    EXPECT_TRUE(r.is_leader()) << i;
  }
}

// tango
KYOTO_CT_TEST(Barrier, SecondOfTwoWaitsReleasesTheFirstAndExactlyOneLeads) {
  barrier b(2);

  auto w1 = co_await pending_wait(&b);

  const bool leader2 = co_await ready_wait_is_leader(&b);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(w1));
  const bool leader1 = co_await w1;

  EXPECT_TRUE(leader1 || leader2);
  EXPECT_FALSE(leader1 && leader2);
}

// lots
KYOTO_CT_TEST(Barrier, HundredWaitsPassTenGenerationsWithOneLeaderEach) {
  barrier b(100);

  for (int generation = 0; generation < 10; ++generation) {
    std::vector<kyoto::join_handle<bool>> waiting;
    for (int i = 0; i < 99; ++i)
      waiting.push_back(kyoto::spawn(wait_on(&b)));
    co_await let_others_run();
    for (auto& w : waiting)
      EXPECT_FALSE(w.is_finished());

    // Pass the barrier.
    const barrier_wait_result last = co_await b.wait();
    int leaders = last.is_leader() ? 1 : 0;
    for (auto& w : waiting) {
      KYOTO_ASSERT_TRUE(co_await finishes_soon(w));
      const bool leader = co_await w;
      if (leader) ++leaders;
    }
    EXPECT_EQ(leaders, 1) << "generation " << generation;
  }
}

// The example of tokio's src/sync/barrier.rs: ten tasks, every "before"
// printed before any "after", exactly one leader.
KYOTO_CT_TEST(Barrier, TenTasksAllArriveBeforeAnyLeavesAndOneLeads) {
  auto b = std::make_shared<barrier>(10);
  auto log = std::make_shared<std::vector<char>>();
  std::vector<kyoto::join_handle<barrier_wait_result>> handles;
  for (int i = 0; i < 10; ++i) {
    handles.push_back(kyoto::spawn(
        [](std::shared_ptr<barrier> c,
           std::shared_ptr<std::vector<char>> out) -> kyoto::task<barrier_wait_result> {
          out->push_back('b');
          const barrier_wait_result r = co_await c->wait();
          out->push_back('a');
          co_return r;
        },
        b, log));
  }
  int leaders = 0;
  for (auto& h : handles) {
    const barrier_wait_result r = co_await h;
    if (r.is_leader()) ++leaders;
  }
  EXPECT_EQ(leaders, 1);
  KYOTO_ASSERT_EQ(log->size(), 20u);
  for (std::size_t i = 0; i < 20; ++i)
    EXPECT_EQ((*log)[i], i < 10 ? 'b' : 'a') << i;
}

// ==== kyoto's own contracts ====

// The leader is the n-th arrival, the one that completes at once.
KYOTO_CT_TEST(Barrier, TheLastArrivalIsTheLeader) {
  barrier b(3);
  auto w1 = co_await pending_wait(&b);
  auto w2 = co_await pending_wait(&b);
  KYOTO_ASSERT_TRUE(co_await last_arrival_leads_and_releases(&b, &w1, &w2));
}

// A wait of the next generation waits, even while the released waits of
// the previous one have not run yet.
KYOTO_CT_TEST(Barrier, AWaitAfterAReleaseBelongsToTheNextGeneration) {
  barrier b(2);
  auto w1 = co_await pending_wait(&b);
  const barrier_wait_result leader = co_await b.wait();  // releases w1 (not yet run)
  EXPECT_TRUE(leader.is_leader());
  auto w3 = kyoto::spawn(wait_on(&b));  // the next generation
  co_await let_others_run();
  EXPECT_TRUE(w1.is_finished());
  EXPECT_FALSE(w3.is_finished());
  EXPECT_FALSE(co_await w1);
  KYOTO_ASSERT_TRUE(co_await last_arrival_leads_and_releases(&b, &w3));
}

// ---- cancellation (tokio's: an arrival is never undone) ----

// A wait cancelled while parked still counts toward its generation: the
// next wait completes it, as the leader.
KYOTO_CT_TEST(Barrier, CancelledParkedWaitStillCountsTowardItsGeneration) {
  barrier b(2);
  auto w1 = co_await pending_wait(&b);
  w1.abort();
  EXPECT_TRUE(co_await was_cancelled(w1));

  const bool leader = co_await ready_wait_is_leader(&b);
  EXPECT_TRUE(leader);

  // The barrier goes on with fresh generations.
  auto w3 = co_await pending_wait(&b);
  KYOTO_ASSERT_TRUE(co_await last_arrival_leads_and_releases(&b, &w3));
}

// Cancelling one parked wait does not strand the others: the generation's
// last arrival releases every wait still parked.
KYOTO_CT_TEST(Barrier, CancelledParkedWaitDoesNotStrandTheOthers) {
  barrier b(4);
  auto w1 = co_await pending_wait(&b);
  auto w2 = co_await pending_wait(&b);
  auto w3 = co_await pending_wait(&b);
  w2.abort();
  EXPECT_TRUE(co_await was_cancelled(w2));

  KYOTO_ASSERT_TRUE(co_await last_arrival_leads_and_releases(&b, &w1, &w3));
}

// A wait released, then cancelled before it resumed, loses only its own
// result: the others complete and the barrier stays usable.
KYOTO_CT_TEST(Barrier, WaitCancelledAfterItsReleaseLosesOnlyItsResult) {
  barrier b(3);
  auto w1 = co_await pending_wait(&b);
  auto w2 = co_await pending_wait(&b);
  const barrier_wait_result leader = co_await b.wait();  // wakes w1 and w2
  EXPECT_TRUE(leader.is_leader());
  w1.abort();  // woken, not yet resumed

  bool w1_cancelled = co_await was_cancelled(w1);
  (void)w1_cancelled;  // cancelled, or completed first: either is fine
  KYOTO_ASSERT_TRUE(co_await finishes_soon(w2));
  EXPECT_FALSE(co_await w2);

  auto w4 = co_await pending_wait(&b);
  auto w5 = co_await pending_wait(&b);
  KYOTO_ASSERT_TRUE(co_await last_arrival_leads_and_releases(&b, &w4, &w5));
}

// A wait that was never awaited (a lazy task) never arrived.
KYOTO_CT_TEST(Barrier, AWaitNeverAwaitedDoesNotArrive) {
  barrier b(2);
  {
    auto unawaited = b.wait();
  }
  auto w = co_await pending_wait(&b);  // still the first arrival
  w.abort();
  EXPECT_TRUE(co_await was_cancelled(w));
}

// ---- the cooperative budget ----

// Waits of a barrier of one always complete at once; the task still gives
// its thread back.
KYOTO_CT_TEST(Barrier, AlwaysReadyWaitsYieldToOtherTasks) {
  barrier b(1);
  std::atomic<int> other_steps{0};
  auto other = kyoto::spawn(kyoto::test::count_steps(other_steps));
  for (int i = 0; i < 1000; ++i) {
    const barrier_wait_result r = co_await b.wait();
    KYOTO_ASSERT_TRUE(r.is_leader());
  }
  EXPECT_GT(other_steps.load(), 0);  // it ran meanwhile
  co_await other;
}

// A leader out of budget yields *before* arriving: cancelled there, it has
// not arrived, and the wait parked in its generation is not released.
KYOTO_CT_TEST(Barrier, LeaderCancelledInItsBudgetYieldHasNotArrived) {
  barrier one(1);
  barrier two(2);
  auto parked = co_await pending_wait(&two);

  std::atomic<int> done{0};
  auto spinning = kyoto::spawn(
      [](barrier* b1, barrier* b2, std::atomic<int>& n) -> kyoto::task<> {
        for (std::uint32_t i = 0; i < kyoto::detail::coop_budget; ++i) {
          (void)co_await b1->wait();  // spends the budget
          ++n;
        }
        (void)co_await b2->wait();  // would lead: out of budget, yields first
        ++n;
      },
      &one, &two, std::ref(done));
  co_await kyoto::yield_now();  // it spends its budget, then yields
  EXPECT_EQ(done.load(), static_cast<int>(kyoto::detail::coop_budget));
  EXPECT_FALSE(parked.is_finished());
  spinning.abort();
  EXPECT_TRUE(co_await was_cancelled(spinning));

  co_await let_others_run();
  EXPECT_FALSE(parked.is_finished());  // nobody released it
  const barrier_wait_result r = co_await two.wait();
  EXPECT_TRUE(r.is_leader());
  KYOTO_ASSERT_TRUE(co_await finishes_soon(parked));
  EXPECT_FALSE(co_await parked);
}

// ---- stress: 2 workers and plain threads ----

/// `rounds` waits; records which ones led.
kyoto::task<std::vector<char>> wait_rounds(barrier* b, int rounds) {
  std::vector<char> led;
  led.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const barrier_wait_result r = co_await b->wait();
    led.push_back(r.is_leader() ? 1 : 0);
  }
  co_return led;
}

// n tasks on two workers meet `rounds` times: each generation holds exactly
// one wait of each task (a task's next wait waits for the generation to
// finish), so generation i is every task's i-th wait, and it has exactly one
// leader.
KYOTO_TEST_WITH(BarrierStress, EveryGenerationOfTasksOnTwoWorkersHasExactlyOneLeader,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr int n = 6;
  constexpr int rounds = 2000;
  barrier b(n);
  std::vector<kyoto::join_handle<std::vector<char>>> tasks;
  for (int t = 0; t < n; ++t)
    tasks.push_back(kyoto::spawn(wait_rounds(&b, rounds)));
  std::vector<std::vector<char>> led;
  for (auto& h : tasks)
    led.push_back(co_await h);
  int wrong = 0;
  for (int i = 0; i < rounds; ++i) {
    int leaders = 0;
    for (const auto& l : led)
      leaders += l[static_cast<std::size_t>(i)];
    if (leaders != 1) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "generations without exactly one leader";
}

/// Waits while there are tickets left (one ticket per arrival); gives the
/// number of waits and of leaders. A pool of tickets, not a fixed count per
/// participant: with more participants than n, participants that finished
/// early could otherwise leave fewer than n to fill the last generations.
struct tally {
  long waits = 0;
  long leaders = 0;
};

kyoto::task<tally> wait_for_tickets(barrier* b, std::atomic<long>* tickets) {
  tally t;
  while (tickets->fetch_sub(1) > 0) {
    const barrier_wait_result r = co_await b->wait();
    ++t.waits;
    if (r.is_leader()) ++t.leaders;
  }
  co_return t;
}

// Many more participants than n: tasks, tasks spawned from plain threads
// through a handle, and plain threads waiting through handle::block_on.
// Every generation is complete and led once: the leaders number exactly
// waits / n.
KYOTO_TEST_WITH(BarrierStress, ManyTasksAndPlainThreadsTotalOneLeaderPerGeneration,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr long n = 8;
  constexpr long generations = 2000;
  constexpr int task_count = 32;    // waits from runtime tasks
  constexpr int thread_count = 4;   // ...from plain threads' block_on
  constexpr int spawner_count = 4;  // ...from tasks spawned by plain threads
  barrier b(n);
  std::atomic<long> tickets{n * generations};
  std::atomic<long> waits{0};
  std::atomic<long> leaders{0};
  const auto count = [&waits, &leaders](const tally& t) {
    waits += t.waits;
    leaders += t.leaders;
  };

  std::vector<kyoto::join_handle<tally>> tasks;
  for (int t = 0; t < task_count; ++t)
    tasks.push_back(kyoto::spawn(wait_for_tickets(&b, &tickets)));

  kyoto::handle h = kyoto::handle::current();
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back(
        [h, &b, &tickets, &count] { count(h.block_on(wait_for_tickets(&b, &tickets))); });
  }
  std::vector<kyoto::join_handle<tally>> spawned(spawner_count);
  for (int t = 0; t < spawner_count; ++t) {
    threads.emplace_back([h, &b, &tickets, slot = &spawned[static_cast<std::size_t>(t)]] {
      *slot = h.spawn(wait_for_tickets(&b, &tickets));
    });
  }

  for (auto& t : tasks)
    count(co_await t);
  // The plain threads may still be waiting on generations that need the
  // spawned tasks: join them off the workers.
  co_await kyoto::spawn_blocking([&threads] {
    for (auto& t : threads)
      t.join();
  });
  for (auto& s : spawned)
    count(co_await s);

  EXPECT_EQ(waits.load(), n * generations);
  EXPECT_EQ(leaders.load(), generations);
}

}  // namespace
