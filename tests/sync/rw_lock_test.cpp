// kyoto::sync::rw_lock, ported from tokio 1.24 tests/sync_rwlock.rs (every
// test applies; `multithreaded` waits on join handles instead of a
// Barrier), plus owned guards, downgrade, writer fairness, cancellation,
// blocking access and a stress test across workers and plain threads.
#include "ct_test.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/sync/rw_lock.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using kyoto::sync::rw_lock;
using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;

static_assert(!std::is_move_constructible_v<rw_lock<int>>);
static_assert(std::is_nothrow_move_constructible_v<kyoto::sync::rw_lock_read_guard<int>>);
static_assert(
    std::is_same_v<decltype(*std::declval<kyoto::sync::rw_lock_read_guard<int>&>()), const int&>);

/// A task that reads (or writes) the lock and reports when it got in.
kyoto::task<> reader(rw_lock<int>& l, std::atomic<bool>& in) {
  auto g = co_await l.read();
  in = true;
}
kyoto::task<> writer(rw_lock<int>& l, std::atomic<bool>& in) {
  auto g = co_await l.write();
  in = true;
}

/// Spawns `second` (reader or writer) while `first` (a guard of `l`) is
/// held: it does not get in until `first` is dropped, then it finishes.
template <class Guard>
kyoto::task<> expect_waits_until_dropped(rw_lock<int>& l, Guard first,
                                         kyoto::task<> (*second)(rw_lock<int>&,
                                                                 std::atomic<bool>&)) {
  std::atomic<bool> in{false};
  auto h = kyoto::spawn(second(l, in));
  co_await let_others_run();
  EXPECT_FALSE(in.load());
  {
    auto drop = std::move(first);
  }
  EXPECT_TRUE(co_await finishes_soon(h));
  EXPECT_TRUE(in.load());
}

/// Spawns a writer, then a reader, while `l` is read-held: both wait (the
/// reader does not overtake the waiting writer). Gives their handles.
kyoto::task<std::pair<kyoto::join_handle<void>, kyoto::join_handle<void>>> queue_writer_then_reader(
    rw_lock<int>& l, std::atomic<bool>& w_in, std::atomic<bool>& r_in) {
  auto w = kyoto::spawn(writer(l, w_in));
  co_await let_others_run();
  auto r = kyoto::spawn(reader(l, r_in));
  co_await let_others_run();
  EXPECT_FALSE(w_in.load());
  EXPECT_FALSE(r_in.load()) << "a new reader overtook the waiting writer";
  co_return std::pair{std::move(w), std::move(r)};
}

// tokio: into_inner
TEST(RwLock, IntoInnerGivesTheValue) {
  rw_lock<int> l(42);
  EXPECT_EQ(std::move(l).into_inner(), 42);
}

// tokio: read_shared
KYOTO_TEST(RwLock, ManyReadersAtOnce) {
  rw_lock<int> l(100);
  auto g1 = co_await l.read();
  auto g2 = co_await l.read();
  EXPECT_EQ(*g1 + *g2, 200);
}

// tokio: write_shared_pending
KYOTO_CT_TEST(RwLock, AWriterWaitsForAReader) {
  rw_lock<int> l(100);
  co_await expect_waits_until_dropped(l, co_await l.read(), &writer);
}

// tokio: read_exclusive_pending
KYOTO_CT_TEST(RwLock, AReaderWaitsForAWriter) {
  rw_lock<int> l(100);
  co_await expect_waits_until_dropped(l, co_await l.write(), &reader);
}

// tokio: exhaust_reading
KYOTO_CT_TEST(RwLock, ReadersBeyondMaxReadersWaitForOneToLeave) {
  rw_lock<int> l(100, 1024);
  std::vector<kyoto::sync::rw_lock_read_guard<int>> reads;
  for (;;) {
    auto g = l.try_read();
    if (!g) break;
    reads.push_back(std::move(*g));
  }
  EXPECT_EQ(reads.size(), 1024u);
  auto last = std::move(reads.back());
  reads.pop_back();
  co_await expect_waits_until_dropped(l, std::move(last), &reader);
}

// tokio: write_exclusive_pending
KYOTO_CT_TEST(RwLock, AWriterWaitsForAWriter) {
  rw_lock<int> l(100);
  co_await expect_waits_until_dropped(l, co_await l.write(), &writer);
}

// tokio: write_shared_drop
KYOTO_CT_TEST(RwLock, AWriterIsWokenWhenTheReaderLeaves) {
  rw_lock<int> l(100);
  co_await expect_waits_until_dropped(l, co_await l.read(), &writer);
}

// tokio: write_read_shared_pending — readers queued behind a waiting writer
// wait too (the writer is not starved).
KYOTO_CT_TEST(RwLock, ReadersBehindAWaitingWriterWait) {
  rw_lock<int> l(100);
  auto g1 = co_await l.read();
  auto g2 = co_await l.read();
  std::atomic<bool> w_in{false};
  std::atomic<bool> r_in{false};
  auto [w, r] = co_await queue_writer_then_reader(l, w_in, r_in);
  EXPECT_FALSE(l.try_read().has_value());
  {
    auto drop = std::move(g1);
  }
  {
    auto drop = std::move(g2);
  }
  EXPECT_TRUE(co_await finishes_soon(w));
  EXPECT_TRUE(co_await finishes_soon(r));
}

// tokio: write_read_shared_drop_pending — cancelling the waiting writer
// lets the reader behind it in.
KYOTO_CT_TEST(RwLock, CancellingTheWaitingWriterLetsReadersIn) {
  rw_lock<int> l(100);
  auto g1 = co_await l.read();
  std::atomic<bool> w_in{false};
  std::atomic<bool> r_in{false};
  auto [w, r] = co_await queue_writer_then_reader(l, w_in, r_in);
  w.abort();
  EXPECT_TRUE(co_await finishes_soon(r)) << "the cancelled writer kept the reader out";
  EXPECT_FALSE(w_in.load());
}

// tokio: read_uncontested
KYOTO_TEST(RwLock, AnUncontestedReadSucceeds) {
  rw_lock<int> l(100);
  EXPECT_EQ(*co_await l.read(), 100);
}

// tokio: write_uncontested
KYOTO_TEST(RwLock, AnUncontestedWriteSucceeds) {
  rw_lock<int> l(100);
  auto g = co_await l.write();
  *g += 50;
  EXPECT_EQ(*g, 150);
}

// tokio: write_order — the lock goes to awaiters in the order they are
// awaited (an awaiter joins the queue when awaited, not when made).
KYOTO_TEST(RwLock, WritesAreGrantedInTheOrderTheyAreAwaited) {
  rw_lock<std::vector<int>> l;
  auto fut2 = l.write();
  auto fut1 = l.write();
  (co_await fut1)->push_back(1);
  (co_await fut2)->push_back(2);
  auto g = co_await l.read();
  EXPECT_EQ(*g, (std::vector<int>{1, 2}));
}

// tokio: multithreaded — four tasks on eight workers each take the write
// lock 1000 times.
KYOTO_TEST_WITH(RwLock, ContestedWritesFromManyWorkersAllLand,
                kyoto::runtime::builder::multi_thread().worker_threads(8)) {
  auto l = std::make_shared<rw_lock<std::uint32_t>>(0);
  std::vector<kyoto::join_handle<void>> hs;
  for (std::uint32_t add : {2u, 3u, 5u, 7u}) {
    hs.push_back(kyoto::spawn(
        [](std::shared_ptr<rw_lock<std::uint32_t>> lk, std::uint32_t n) -> kyoto::task<> {
          for (int i = 0; i < 1000; ++i) {
            auto g = co_await lk->write();
            *g += n;
          }
        },
        l, add));
  }
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(*co_await l->read(), 17'000u);
}

// tokio: try_write
KYOTO_TEST(RwLock, TryWriteFailsWhileAReaderHoldsIt) {
  rw_lock<int> l(0);
  auto rg = co_await l.read();
  EXPECT_FALSE(l.try_write().has_value());
  {
    auto drop = std::move(rg);
  }
  EXPECT_TRUE(l.try_write().has_value());
}

// tokio: try_read_try_write
TEST(RwLock, TryReadAndTryWriteRespectEachOther) {
  rw_lock<std::size_t> l(15);
  {
    auto rg1 = l.try_read().value();
    EXPECT_EQ(*rg1, 15u);
    EXPECT_FALSE(l.try_write().has_value());
    auto rg2 = l.try_read().value();
    EXPECT_EQ(*rg2, 15u);
  }
  {
    auto wg = l.try_write().value();
    *wg = 1515;
    EXPECT_FALSE(l.try_read().has_value());
  }
  EXPECT_EQ(*l.try_read().value(), 1515u);
}

// ---- kyoto's contracts ----

TEST(RwLock, MaxReadersOutOfRangeIsRejected) {
  EXPECT_THROW(rw_lock<int>(0, 0), std::invalid_argument);
  EXPECT_THROW(rw_lock<int>(0, rw_lock<int>::max_readers_limit + 1), std::invalid_argument);
  rw_lock<int> ok(0, rw_lock<int>::max_readers_limit);
  EXPECT_EQ(ok.max_readers(), rw_lock<int>::max_readers_limit);
}

// downgrade keeps writers out and lets waiting readers in.
KYOTO_CT_TEST(RwLock, DowngradeLetsReadersInButNotWriters) {
  rw_lock<int> l(1);
  auto w = co_await l.write();
  *w = 2;
  std::atomic<bool> r_in{false};
  auto r = kyoto::spawn(reader(l, r_in));
  co_await let_others_run();
  EXPECT_FALSE(r_in.load());
  auto rg = std::move(w).downgrade();
  EXPECT_EQ(*rg, 2);
  EXPECT_TRUE(co_await finishes_soon(r));
  EXPECT_FALSE(l.try_write().has_value()) << "a writer got in while the downgraded guard lives";
  {
    auto drop = std::move(rg);
  }
  EXPECT_TRUE(l.try_write().has_value());
}

KYOTO_TEST(RwLockOwned, OwnedGuardsKeepTheLockAlive) {
  auto l = std::make_shared<rw_lock<int>>(5);
  std::weak_ptr<rw_lock<int>> weak = l;
  auto r = co_await rw_lock<int>::read_owned(l);
  auto r2 = rw_lock<int>::try_read_owned(l).value();
  EXPECT_FALSE(rw_lock<int>::try_write_owned(l).has_value());
  l.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(*r + *r2, 10);
  {
    auto drop = std::move(r);
  }
  {
    auto drop = std::move(r2);
  }
  EXPECT_TRUE(weak.expired());
}

KYOTO_TEST(RwLockOwned, OwnedWriteAndDowngrade) {
  auto l = std::make_shared<rw_lock<int>>(5);
  auto w = co_await rw_lock<int>::write_owned(l);
  *w = 6;
  EXPECT_EQ(w.lock(), l);
  auto r = std::move(w).downgrade();
  EXPECT_EQ(*r, 6);
  EXPECT_TRUE(rw_lock<int>::try_read_owned(l).has_value());
  EXPECT_FALSE(rw_lock<int>::try_write_owned(l).has_value());
}

TEST(RwLock, BlockingAccessOnARuntimeThreadThrows) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  rw_lock<int> l(0);
  rt.block_on([](rw_lock<int>& lk) -> kyoto::task<> {
    EXPECT_THROW((void)lk.blocking_read(), std::logic_error);
    EXPECT_THROW((void)lk.blocking_write(), std::logic_error);
    co_return;
  }(l));
}

// ---- stress (ThreadSanitizer) ----

// Writers keep two fields equal; readers (tasks on two workers and plain
// threads with blocking_read) must never see them differ.
TEST(RwLockStress, ReadersNeverSeeAHalfWrittenValueAcrossWorkersAndThreads) {
  struct pair {
    long a = 0;
    long b = 0;
  };
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto l = std::make_shared<rw_lock<pair>>();
  std::atomic<int> torn{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> plain;
  for (int t = 0; t < 2; ++t) {
    plain.emplace_back([&, l] {
      while (!writers_done.load()) {
        auto g = l->blocking_read();
        if (g->a != g->b) torn.fetch_add(1);
      }
      auto g = l->blocking_write();
      ++g->a;
      ++g->b;
    });
  }
  constexpr int writers = 4;
  constexpr int writes = 300;
  rt.block_on([](std::shared_ptr<rw_lock<pair>> lk, std::atomic<int>& bad) -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> hs;
    for (int w = 0; w < writers; ++w) {
      hs.push_back(kyoto::spawn(
          [](std::shared_ptr<rw_lock<pair>> x) -> kyoto::task<> {
            for (int i = 0; i < writes; ++i) {
              auto g = co_await x->write();
              ++g->a;
              if (i % 4 == 0) co_await kyoto::yield_now();  // half-written across a suspension
              ++g->b;
            }
          },
          lk));
      hs.push_back(kyoto::spawn(
          [](std::shared_ptr<rw_lock<pair>> x, std::atomic<int>* b) -> kyoto::task<> {
            for (int i = 0; i < writes; ++i) {
              auto g = co_await rw_lock<pair>::read_owned(x);
              if (g->a != g->b) b->fetch_add(1);
            }
          },
          lk, &bad));
    }
    for (auto& h : hs)
      co_await h;
  }(l, torn));
  writers_done = true;
  for (auto& t : plain)
    t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(l->get_mut().a, long{writers} * writes + 2);
  EXPECT_EQ(l->get_mut().b, long{writers} * writes + 2);
}

}  // namespace
