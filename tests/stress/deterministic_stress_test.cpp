// The sync primitives' stress cases (mpsc, broadcast, watch, semaphore,
// join_set, select) under the deterministic runtime, over many seeds: each
// seed is one interleaving of the tasks, chosen at random and replayable
// (KYOTO_TEST_SEEDS, docs/testing.md). Where the multi_thread stress tests
// (tests/sync/*_test.cpp, tests/stress/) hope the OS produces the rare
// order, these enumerate orders: a failure prints the seed that replays it.
//
// CI runs each case under 200 seeds (the file takes about a second); by hand:
//
//   KYOTO_SEEDS=10000 build-dbg/tests/stress_deterministic_stress_test
//
// The cases are small on purpose (a few hundred operations): the search is
// over orders, not volume. Where a case aborts tasks, the seed also picks
// the point (kyoto::test::current_seed()). Plain threads are left out (their timing is not
// the seed's); every task, cancellation and timer is.
#include "broadcast_positions.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace mpsc = kyoto::sync::mpsc;
namespace broadcast = kyoto::sync::broadcast;
namespace watch = kyoto::sync::watch;
using kyoto::sync::semaphore;
using kyoto::test::abort_and_respawn;
using kyoto::test::poll_positions;
using kyoto::test::position_checker;
using kyoto::test::receive_positions;
using kyoto::test::send_positions;

constexpr std::uint64_t ci_seeds = 200;

/// Counts the live instances in `*live` (a moved-from one is still one).
struct live_token {
  explicit live_token(int* l) noexcept : live(l) { ++*live; }
  live_token(const live_token& o) noexcept : live(o.live) { ++*live; }
  live_token(live_token&& o) noexcept : live(o.live) { ++*live; }
  live_token& operator=(const live_token&) = delete;
  ~live_token() { --*live; }
  int* live;
};

/// Yields `n` times: a point where the scheduler may run anything else.
kyoto::task<> yields(unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    co_await kyoto::yield_now();
}

// ---- mpsc ----

struct item {
  int producer;
  int seq;
};

// Producers on a 2-slot channel, some sending with a timeout (and resending
// what the timeout hands back), one reserving then aborted while it waits;
// the receiver gets every value once, each producer's in order, and the
// slots all come back.
KYOTO_TEST_SEEDS(DeterministicStress, MpscEveryValueArrivesOnceInEachProducersOrder, ci_seeds) {
  constexpr int producers = 4;
  constexpr int per_producer = 25;
  auto [tx, rx] = mpsc::channel<item>(2);
  std::vector<kyoto::join_handle<void>> sending;
  for (int p = 0; p < producers; ++p) {
    sending.push_back(kyoto::spawn(
        [](mpsc::sender<item> out, int me) -> kyoto::task<> {
          for (int i = 0; i < per_producer; ++i) {
            if (me % 2 == 0) {
              (co_await out.send(item{me, i})).value();
            } else {
              item v{me, i};
              for (;;) {
                auto r = co_await out.send_timeout(v, 1ms);
                if (r) break;
                v = std::move(r.error()).into_inner();
              }
            }
            if (i % 5 == me) co_await kyoto::yield_now();
          }
        },
        tx, p));
  }
  // A reserver that is aborted while it may hold or wait for a slot.
  auto reserver = kyoto::spawn(
      [](mpsc::sender<item> out) -> kyoto::task<> {
        auto permit = (co_await out.reserve()).value();
        co_await kyoto::time::sleep(1h);  // holds the slot until aborted
        permit.send(item{-1, 0});
      },
      tx);
  auto aborter = kyoto::spawn(
      [](kyoto::join_handle<void>& victim) -> kyoto::task<> {
        co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 11));
        victim.abort();
      },
      std::ref(reserver));
  std::map<int, int> next;
  int received = 0;
  {
    auto ours = std::move(tx);
  }
  co_await aborter;
  while (auto v = co_await rx.recv()) {
    EXPECT_NE(v->producer, -1) << "the aborted reserver's value arrived";
    EXPECT_EQ(v->seq, next[v->producer]) << "producer " << v->producer;
    next[v->producer] = v->seq + 1;
    ++received;
  }
  EXPECT_EQ(received, producers * per_producer);
  for (auto& h : sending)
    co_await h;
  try {
    co_await reserver;
  } catch (const kyoto::join_error&) {
  }
}

// The receiver goes away while senders wait for slots: every waiting send
// fails and hands its value back; nothing is leaked.
KYOTO_TEST_SEEDS(DeterministicStress, MpscDroppingTheReceiverFailsWaitingSendsAndLeaksNothing,
                 ci_seeds) {
  auto live = std::make_shared<int>(0);
  {
    auto [tx, rx] = mpsc::channel<live_token>(1);
    std::vector<kyoto::join_handle<int>> senders;
    for (int s = 0; s < 4; ++s) {
      senders.push_back(kyoto::spawn(
          [](mpsc::sender<live_token> out, std::shared_ptr<int> counter) -> kyoto::task<int> {
            int failed = 0;
            for (int i = 0; i < 5; ++i) {
              auto r = co_await out.send(live_token(counter.get()));
              if (!r) ++failed;
            }
            co_return failed;
          },
          tx, live));
    }
    auto receiving = kyoto::spawn(
        [](mpsc::receiver<live_token> in) -> kyoto::task<int> {
          int got = 0;
          for (int i = 0; i < 7; ++i) {
            if (!co_await in.recv()) break;
            ++got;
          }
          co_return got;  // `in` is dropped here, senders still waiting
        },
        std::move(rx));
    const int got = co_await receiving;
    int failed = 0;
    for (auto& h : senders)
      failed += co_await h;
    EXPECT_EQ(got, 7);
    EXPECT_EQ(got + failed, 20 - 0) << "a send neither arrived nor failed";
  }
  EXPECT_EQ(*live, 0);
}

// Reservers of 1-3 slots at once on a 4-slot channel, aborted at a
// seed-chosen point while they wait or hold: the slots of every permit,
// used, dropped or never granted, come back.
KYOTO_TEST_SEEDS(DeterministicStress, MpscReserveManyAbortedAnywhereLosesNoSlot, ci_seeds) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::vector<kyoto::join_handle<int>> reservers;
  for (int r = 0; r < 6; ++r) {
    reservers.push_back(kyoto::spawn(
        [](mpsc::sender<int> out, int me) -> kyoto::task<int> {
          int sent = 0;
          for (int round = 0; round < 4; ++round) {
            auto permits =
                (co_await out.reserve_many(static_cast<std::size_t>(1 + me % 3))).value();
            co_await kyoto::yield_now();
            while (auto p = permits.next()) {
              if ((round + me) % 3 != 0) {
                p->send(me);
                ++sent;
              }  // else dropped unused: the slot comes back
            }
          }
          co_return sent;
        },
        tx, r));
  }
  // Receives until the sentinel -1, which the body sends last.
  auto receiving = kyoto::spawn(
      [](mpsc::receiver<int> in) -> kyoto::task<int> {
        int got = 0;
        while (auto v = co_await in.recv()) {
          if (*v == -1) co_return got;
          ++got;
        }
        co_return -1;
      },
      std::move(rx));
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 17));
  reservers[1].abort();
  reservers[4].abort();
  int sent = 0;
  for (auto& h : reservers) {
    try {
      sent += co_await h;
    } catch (const kyoto::join_error&) {
    }
  }
  (co_await tx.send(-1)).value();
  const int got = co_await receiving;
  EXPECT_GE(got, sent);  // an aborted reserver's sends arrive but are not counted
  // Everything sent was received: every slot is free again.
  EXPECT_EQ(tx.capacity(), tx.max_capacity()) << "a slot was lost";
}

// ---- broadcast ----

// Receivers that await, one that polls with try_recv, and one whose
// receiving task is aborted and respawned again and again: each sees every
// position in order or an exact lag, then the close.
KYOTO_TEST_SEEDS(DeterministicStress, BroadcastEveryReceiverSeesEveryPositionOrAnExactLag,
                 ci_seeds) {
  constexpr std::uint64_t n = 120;
  auto [tx, rx] = broadcast::channel<std::uint64_t>(4);
  std::vector<broadcast::receiver<std::uint64_t>> rxs;
  rxs.push_back(std::move(rx));
  for (int i = 0; i < 3; ++i)
    rxs.push_back(tx.subscribe());
  std::vector<position_checker> checkers(rxs.size());
  std::vector<kyoto::join_handle<void>> receiving;
  for (std::size_t i = 0; i < 2; ++i)
    receiving.push_back(kyoto::spawn(receive_positions(&rxs[i], &checkers[i])));
  // Polling receiver.
  receiving.push_back(kyoto::spawn(poll_positions(&rxs[2], &checkers[2])));
  // Aborted and respawned receiver.
  auto aborted = kyoto::spawn(abort_and_respawn(&rxs[3], &checkers[3], 5));
  co_await kyoto::spawn(send_positions(std::move(tx), n, 3));
  for (auto& h : receiving)
    co_await h;
  co_await aborted;
  checkers[0].check(n, "receiver 0");
  checkers[1].check(n, "receiver 1");
  checkers[2].check(n, "try_recv receiver");
  checkers[3].check(n, "aborted and respawned receiver");
}

// ---- watch ----

// A sender sends increasing versions while receivers read: each sees
// non-decreasing values and the last one before the end. Meanwhile other
// receivers of a second channel are aborted in changed(): that sender's
// closed() completes once the last of them is gone.
KYOTO_TEST_SEEDS(DeterministicStress, WatchReceiversSeeNonDecreasingValuesAndTheLast, ci_seeds) {
  constexpr long last = 60;
  auto [tx, rx] = watch::channel<long>(0);
  std::vector<kyoto::join_handle<long>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(kyoto::spawn(
        [](watch::receiver<long> in) -> kyoto::task<long> {
          long seen = *in.borrow_and_update();
          while ((co_await in.changed()).has_value()) {
            const long v = *in.borrow_and_update();
            EXPECT_GE(v, seen) << "a watch value went back";
            seen = v;
          }
          EXPECT_EQ(*in.borrow(), seen) << "the end came before the last version was seen";
          co_return seen;
        },
        rx));
  }
  {
    auto ours = std::move(rx);
  }
  auto [doomed_tx, doomed_rx] = watch::channel<long>(0);
  std::vector<kyoto::join_handle<void>> doomed;
  for (int i = 0; i < 4; ++i) {
    doomed.push_back(kyoto::spawn(
        [](watch::receiver<long> in) -> kyoto::task<> {
          for (;;) {
            (void)in.borrow_and_update();
            if (!(co_await in.changed()).has_value()) co_return;
          }
        },
        doomed_rx));
  }
  {
    auto ours = std::move(doomed_rx);
  }
  auto closer = kyoto::spawn(
      [](watch::sender<long> out) -> kyoto::task<> {
        for (long i = 1; i <= 5; ++i) {
          out.send_replace(i);
          co_await kyoto::yield_now();
        }
        co_await out.closed();  // every receiver gone
        EXPECT_EQ(out.receiver_count(), 0u);
      },
      std::move(doomed_tx));
  auto sender = kyoto::spawn(
      [](watch::sender<long> out) -> kyoto::task<> {
        for (long i = 1; i <= last; ++i) {
          out.send_replace(i);
          if (i % 4 == 0) co_await kyoto::yield_now();
        }
      },
      std::move(tx));
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 7));
  for (auto& d : doomed)
    d.abort();
  for (auto& r : readers)
    EXPECT_EQ(co_await r, last);
  for (auto& d : doomed) {
    try {
      co_await d;
    } catch (const kyoto::join_error&) {
    }
  }
  co_await sender;
  co_await closer;
}

// ---- semaphore ----

// Tasks take 1-3 of 3 permits, some owned, some with try_acquire, some
// aborted while waiting: at no point do holders exceed the permits, and
// every permit comes back.
KYOTO_TEST_SEEDS(DeterministicStress, SemaphoreHoldersNeverExceedThePermitsAndAllComeBack,
                 ci_seeds) {
  auto sem = std::make_shared<semaphore>(3);
  auto holding = std::make_shared<int>(0);
  auto most = std::make_shared<int>(0);
  std::vector<kyoto::join_handle<void>> tasks;
  for (int t = 0; t < 8; ++t) {
    // kyoto::spawn takes at most three arguments: the shared state is bound.
    tasks.push_back(kyoto::spawn(
        std::bind_front(
            [](std::shared_ptr<semaphore> s, std::shared_ptr<int> h, std::shared_ptr<int> m,
               int me) -> kyoto::task<> {
              const auto n = static_cast<std::uint32_t>(1 + me % 3);
              for (int r = 0; r < 6; ++r) {
                std::optional<kyoto::sync::owned_semaphore_permit> owned;
                std::optional<kyoto::sync::semaphore_permit> borrowed;
                if (me % 4 == 3) {
                  auto p = s->try_acquire_many(n);
                  if (!p) {
                    co_await kyoto::yield_now();
                    continue;
                  }
                  borrowed.emplace(std::move(*p));
                } else if (me % 2 == 0) {
                  owned.emplace((co_await semaphore::acquire_many_owned(s, n)).value());
                } else {
                  borrowed.emplace((co_await s->acquire_many(n)).value());
                }
                *h += static_cast<int>(n);
                if (*h > *m) *m = *h;
                co_await yields(static_cast<unsigned>(r % 3));
                *h -= static_cast<int>(n);
              }
            },
            sem, holding, most),
        t));
  }
  // Waiters that are aborted, perhaps after permits were assigned to them.
  std::vector<kyoto::join_handle<void>> aborted;
  for (int i = 0; i < 3; ++i) {
    aborted.push_back(kyoto::spawn(
        [](std::shared_ptr<semaphore> s) -> kyoto::task<> {
          auto p = (co_await s->acquire_many(2)).value();
          co_await kyoto::time::sleep(1h);
        },
        sem));
  }
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 13));
  for (auto& a : aborted)
    a.abort();
  for (auto& t : tasks)
    co_await t;
  for (auto& a : aborted) {
    try {
      co_await a;
    } catch (const kyoto::join_error&) {
    }
  }
  EXPECT_LE(*most, 3);
  EXPECT_EQ(*holding, 0);
  EXPECT_EQ(sem->available_permits(), 3u);
}

// The semaphore closes at a seed-chosen point while tasks wait for and
// hold permits: every waiter ends (with permits or the error), and every
// held permit comes back.
KYOTO_TEST_SEEDS(DeterministicStress, SemaphoreCloseEndsEveryWaiterAndPermitsComeBack, ci_seeds) {
  auto sem = std::make_shared<semaphore>(2);
  std::vector<kyoto::join_handle<int>> tasks;
  for (int t = 0; t < 6; ++t) {
    tasks.push_back(kyoto::spawn(
        [](std::shared_ptr<semaphore> s, int me) -> kyoto::task<int> {
          int acquired = 0;
          for (;;) {
            auto p = co_await s->acquire_many(static_cast<std::uint32_t>(1 + me % 2));
            if (!p) co_return acquired;
            ++acquired;
            co_await yields(static_cast<unsigned>(me % 3));
          }
        },
        sem, t));
  }
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 23));
  sem->close();
  for (auto& t : tasks)
    (void)co_await t;
  EXPECT_EQ(sem->available_permits(), 2u);
}

// ---- join_set ----

// abort_all() races the tasks' completions: join_next gives each task
// exactly once, as a value (it finished) or a cancellation, and a task that
// finished was not cancelled.
KYOTO_TEST_SEEDS(DeterministicStress, JoinSetAbortAllRacingCompletionsGivesEachTaskOnce, ci_seeds) {
  constexpr int n = 24;
  auto finished = std::make_shared<int>(0);
  kyoto::join_set<int> set;
  for (int i = 0; i < n; ++i) {
    set.spawn(
        [](int me, std::shared_ptr<int> f) -> kyoto::task<int> {
          co_await yields(static_cast<unsigned>(me % 4));
          if (me % 5 == 0) co_await kyoto::time::sleep(std::chrono::milliseconds(me));
          ++*f;
          co_return me;
        },
        i, finished);
  }
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 9));
  // Some results are taken before the abort.
  int values = 0, cancelled = 0;
  std::vector<bool> seen(n, false);
  while (auto r = set.try_join_next()) {
    KYOTO_ASSERT_TRUE(r->has_value());
    EXPECT_FALSE(seen[static_cast<std::size_t>(**r)]);
    seen[static_cast<std::size_t>(**r)] = true;
    ++values;
  }
  set.abort_all();
  while (auto r = co_await set.join_next()) {
    if (r->has_value()) {
      EXPECT_FALSE(seen[static_cast<std::size_t>(**r)]);
      seen[static_cast<std::size_t>(**r)] = true;
      ++values;
    } else {
      EXPECT_TRUE(r->error().is_cancelled());
      ++cancelled;
    }
  }
  EXPECT_EQ(values + cancelled, n);
  EXPECT_EQ(values, *finished);
}

// Sets dropped while their tasks run and wake each other: every task is
// cancelled or finished, every capture destroyed.
KYOTO_TEST_SEEDS(DeterministicStress, JoinSetDroppedWhileItsTasksWakeEachOtherLeaksNothing,
                 ci_seeds) {
  auto live = std::make_shared<int>(0);
  for (int round = 0; round < 4; ++round) {
    kyoto::join_set<void> set;
    for (int pair = 0; pair < 3; ++pair) {
      auto [tx, rx] = mpsc::channel<int>(1);
      set.spawn(
          [](mpsc::sender<int> out, live_token keep) -> kyoto::task<> {
            for (int k = 0; k < 3; ++k)
              (void)co_await out.send(k);
            (void)keep;
          },
          std::move(tx), live_token(live.get()));
      set.spawn(
          [](mpsc::receiver<int> in, live_token keep) -> kyoto::task<> {
            while (co_await in.recv()) {
            }
            (void)keep;
          },
          std::move(rx), live_token(live.get()));
    }
    co_await yields(static_cast<unsigned>(round * 3));
  }
  // The sets aborted their tasks; the cancellations run when the tasks are
  // next picked.
  for (int i = 0; i < 10'000 && *live != 0; ++i)
    co_await kyoto::yield_now();
  EXPECT_EQ(*live, 0);
}

// ---- select ----

// A consumer selects over a channel and a short timer in a loop while a
// producer sends with random pauses: the recv branch losing the race never
// loses a message (select's cancel safety for mpsc::recv).
KYOTO_TEST_SEEDS(DeterministicStress, SelectOverAChannelAndATimerLosesNoMessage, ci_seeds) {
  constexpr int n = 60;
  auto [tx, rx] = mpsc::channel<int>(4);
  auto producer = kyoto::spawn(
      [](mpsc::sender<int> out) -> kyoto::task<> {
        for (int i = 0; i < n; ++i) {
          (co_await out.send(i)).value();
          if (i % 7 == 0) co_await kyoto::time::sleep(std::chrono::milliseconds(i % 3));
          if (i % 3 == 0) co_await kyoto::yield_now();
        }
      },
      std::move(tx));
  int expected = 0, timeouts = 0;
  for (;;) {
    auto v = co_await kyoto::select(rx.recv(), kyoto::time::sleep(1ms));
    if (v.index() == 1) {
      ++timeouts;
      continue;
    }
    auto got = std::get<0>(std::move(v));
    if (!got) break;
    EXPECT_EQ(*got, expected);
    expected = *got + 1;
  }
  EXPECT_EQ(expected, n);
  co_await producer;
  (void)timeouts;
}

// Two branches of a select both ready at once, over and over: exactly one
// wins, the other's value stays in its channel.
KYOTO_TEST_SEEDS(DeterministicStress, SelectTakesOneReadyValueAndLeavesTheOther, ci_seeds) {
  auto [tx1, rx1] = mpsc::unbounded_channel<int>();
  auto [tx2, rx2] = mpsc::unbounded_channel<int>();
  auto feeder = kyoto::spawn(
      [](mpsc::unbounded_sender<int> a, mpsc::unbounded_sender<int> b) -> kyoto::task<> {
        for (int i = 0; i < 40; ++i) {
          a.send(i).value();
          b.send(1000 + i).value();
          if (i % 2 == 0) co_await kyoto::yield_now();
        }
      },
      std::move(tx1), std::move(tx2));
  int next_a = 0, next_b = 1000;
  bool a_done = false, b_done = false;
  auto on = [](std::optional<int> got, int& next, bool& done) {
    if (!got) {
      done = true;
      return;
    }
    EXPECT_EQ(*got, next);
    next = *got + 1;
  };
  while (!a_done || !b_done) {
    if (a_done) {
      on(co_await rx2.recv(), next_b, b_done);
    } else if (b_done) {
      on(co_await rx1.recv(), next_a, a_done);
    } else {
      auto v = co_await kyoto::select(rx1.recv(), rx2.recv());
      if (v.index() == 0) {
        on(std::get<0>(std::move(v)), next_a, a_done);
      } else {
        on(std::get<1>(std::move(v)), next_b, b_done);
      }
    }
  }
  co_await feeder;
  EXPECT_EQ(next_a, 40);
  EXPECT_EQ(next_b, 1040);
}

// ---- notify, oneshot, mutex, rw_lock, barrier ----

/// Counts `*n` up for its scope: down again even when the task is
/// cancelled inside it.
class inside_scope {
 public:
  explicit inside_scope(int* n) noexcept : n_(n) { ++*n_; }
  ~inside_scope() { --*n_; }
  inside_scope(const inside_scope&) = delete;
  inside_scope& operator=(const inside_scope&) = delete;
  int now() const noexcept { return *n_; }

 private:
  int* n_;
};

// tokio's loom_notify cases as seeds: notify_one() racing the cancellation
// of one of two waiters. The permit is never lost: the surviving waiter
// completes (woken, or by the permit left behind).
KYOTO_TEST_SEEDS(DeterministicStress, NotifyOneRacingAWaitersCancellationLosesNothing, ci_seeds) {
  auto n = std::make_shared<kyoto::sync::notify>();
  auto doomed = kyoto::spawn(
      [](std::shared_ptr<kyoto::sync::notify> nn) -> kyoto::task<> { co_await nn->notified(); }, n);
  auto survivor = kyoto::spawn(
      [](std::shared_ptr<kyoto::sync::notify> nn) -> kyoto::task<> { co_await nn->notified(); }, n);
  auto notifier = kyoto::spawn(
      [](std::shared_ptr<kyoto::sync::notify> nn, unsigned wait) -> kyoto::task<> {
        co_await yields(wait);
        nn->notify_one();
      },
      n, static_cast<unsigned>(kyoto::test::current_seed() % 5));
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() / 5 % 5));
  doomed.abort();
  bool doomed_completed = true;
  try {
    co_await doomed;
  } catch (const kyoto::join_error&) {
    doomed_completed = false;
  }
  co_await notifier;
  if (doomed_completed) {
    // The doomed waiter took the permit: the survivor needs another.
    n->notify_one();
  }
  co_await survivor;  // a lost permit deadlocks here, reported with the seed
}

// A oneshot's send racing the receiver's drop and the sender's closed():
// the send fails exactly when the receiver was gone, and closed() ends.
KYOTO_TEST_SEEDS(DeterministicStress, OneshotSendRacingTheReceiversDropIsExact, ci_seeds) {
  for (int round = 0; round < 8; ++round) {
    auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
    auto receiver = kyoto::spawn(
        [](kyoto::sync::oneshot::receiver<int> r, int k) -> kyoto::task<std::optional<int>> {
          co_await yields(static_cast<unsigned>(k % 3));
          if (k % 2 == 0) co_return std::nullopt;  // dropped unread
          co_return (co_await r).value();
        },
        std::move(rx), round);
    auto sender = kyoto::spawn(
        [](kyoto::sync::oneshot::sender<int> t, int k) -> kyoto::task<bool> {
          if (k % 4 == 0) {  // the receiver drops unread in even rounds
            co_await t.closed();
            co_return false;
          }
          co_await yields(static_cast<unsigned>((k + 1) % 3));
          co_return t.send(k).has_value();
        },
        std::move(tx), round);
    const bool sent = co_await sender;
    const std::optional<int> got = co_await receiver;
    if (round % 2 == 0) {
      EXPECT_FALSE(got.has_value());
    } else {
      KYOTO_ASSERT_TRUE(sent) << "round " << round;
      EXPECT_EQ(got, round);
    }
  }
}

// Lock waiters aborted at seed-chosen points: mutual exclusion holds, the
// writer excludes readers, and the locks end free.
KYOTO_TEST_SEEDS(DeterministicStress, MutexAndRwLockExcludeAndEndFreeDespiteAborts, ci_seeds) {
  auto m = std::make_shared<kyoto::sync::mutex<int>>(0);
  auto rw = std::make_shared<kyoto::sync::rw_lock<int>>(0);
  auto inside = std::make_shared<int>(0);
  auto readers = std::make_shared<int>(0);
  std::vector<kyoto::join_handle<void>> tasks;
  for (int t = 0; t < 8; ++t) {
    // kyoto::spawn takes at most three arguments: the shared state is bound.
    tasks.push_back(
        kyoto::spawn(std::bind_front(
                         [](std::shared_ptr<kyoto::sync::mutex<int>> mm,
                            std::shared_ptr<kyoto::sync::rw_lock<int>> ll, std::shared_ptr<int> in,
                            std::shared_ptr<int> rd, int me) -> kyoto::task<> {
                           for (int r = 0; r < 5; ++r) {
                             {
                               auto g = co_await mm->lock();
                               inside_scope holding(in.get());
                               EXPECT_EQ(holding.now(), 1) << "two tasks inside the mutex";
                               co_await yields(static_cast<unsigned>(r % 2));
                               ++*g;
                             }
                             if (me % 3 == 0) {
                               auto w = co_await ll->write();
                               EXPECT_EQ(*rd, 0) << "a reader inside while writing";
                               co_await kyoto::yield_now();
                               ++*w;
                             } else {
                               auto rg = co_await ll->read();
                               inside_scope reading(rd.get());
                               co_await yields(static_cast<unsigned>(me % 2));
                             }
                           }
                         },
                         m, rw, inside, readers),
                     t));
  }
  co_await yields(static_cast<unsigned>(kyoto::test::current_seed() % 19));
  tasks[2].abort();
  tasks[6].abort();
  for (auto& t : tasks) {
    try {
      co_await t;
    } catch (const kyoto::join_error&) {
    }
  }
  EXPECT_TRUE(m->try_lock().has_value()) << "the mutex was left locked";
  EXPECT_TRUE(rw->try_write().has_value()) << "the rw_lock was left held";
}

// Three tasks meet at a barrier of 3, six times each, in seed-chosen
// orders: each generation has exactly one leader.
KYOTO_TEST_SEEDS(DeterministicStress, BarrierGenerationsHaveExactlyOneLeader, ci_seeds) {
  auto b = std::make_shared<kyoto::sync::barrier>(3);
  auto leaders = std::make_shared<int>(0);
  std::vector<kyoto::join_handle<void>> tasks;
  for (int t = 0; t < 3; ++t) {
    tasks.push_back(kyoto::spawn(
        [](std::shared_ptr<kyoto::sync::barrier> bb, std::shared_ptr<int> l) -> kyoto::task<> {
          for (int r = 0; r < 6; ++r) {
            if ((co_await bb->wait()).is_leader()) ++*l;
            co_await kyoto::yield_now();
          }
        },
        b, leaders));
  }
  for (auto& t : tasks)
    co_await t;
  EXPECT_EQ(*leaders, 6);
}

}  // namespace
