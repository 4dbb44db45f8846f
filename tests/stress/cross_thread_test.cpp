// Stress: plain threads and a runtime thread handing work to each other.
// Every wake from outside must reach the parked runtime (no lost wake-up),
// every value must arrive once. Run under ThreadSanitizer and
// AddressSanitizer in CI.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

TEST(CrossThread, ValuesFromPlainThreadsAllReachAParkedRuntime) {
  constexpr int threads = 4;
  constexpr int per_thread = 20'000;
  kyoto::runtime rt;
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([t, out = tx]() mutable {
      for (int i = 0; i < per_thread; ++i) {
        out.send(t * per_thread + i).value();
        if (i % 512 == 0) std::this_thread::yield();  // let the runtime park
      }
    });
  }
  {
    auto drop = std::move(tx);
  }
  const long long sum =
      rt.block_on([](kyoto::sync::mpsc::receiver<int>& in) -> kyoto::task<long long> {
        long long s = 0;
        while (auto v = co_await in.recv())
          s += *v;
        co_return s;
      }(rx));
  for (auto& p : producers)
    p.join();
  const long long n = static_cast<long long>(threads) * per_thread;
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(CrossThread, SpawnsThroughAHandleFromManyThreadsAllRun) {
  constexpr int threads = 4;
  constexpr int per_thread = 5'000;
  kyoto::runtime rt;
  kyoto::handle h = rt.handle();
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  std::vector<std::thread> spawners;
  for (int t = 0; t < threads; ++t) {
    spawners.emplace_back([h, out = tx]() mutable {
      for (int i = 0; i < per_thread; ++i) {
        h.spawn(
            [](kyoto::sync::mpsc::unbounded_sender<int> sink) -> kyoto::task<> {
              co_await kyoto::yield_now();
              sink.send(1).value();
            },
            out);
      }
    });
  }
  {
    auto drop = std::move(tx);
  }
  const int count = rt.block_on([](kyoto::sync::mpsc::receiver<int>& in) -> kyoto::task<int> {
    int c = 0;
    while (auto v = co_await in.recv())
      c += *v;
    co_return c;
  }(rx));
  for (auto& s : spawners)
    s.join();
  EXPECT_EQ(count, threads * per_thread);
}

// A bounded channel between a plain thread (blocking_send / blocking_recv)
// and a runtime task, in both directions: every round trip parks one side.
TEST(CrossThread, BlockingPingPongWithARuntimeTask) {
  constexpr int rounds = 5000;
  kyoto::runtime rt;
  auto [ping_tx, ping_rx] = kyoto::sync::mpsc::channel<int>(1);
  auto [pong_tx, pong_rx] = kyoto::sync::mpsc::channel<int>(1);
  std::thread player([ping = std::move(ping_tx), pong = std::move(pong_rx)]() mutable {
    for (int i = 0; i < rounds; ++i) {
      ping.blocking_send(i).value();
      auto back = pong.blocking_recv();
      if (!back || *back != i + 1) {
        ADD_FAILURE() << "round " << i << " got " << (back ? *back : -1);
        return;
      }
    }
  });
  rt.block_on(
      [](kyoto::sync::mpsc::receiver<int> in, kyoto::sync::mpsc::sender<int> out) -> kyoto::task<> {
        while (auto v = co_await in.recv())
          (co_await out.send(*v + 1)).value();
      }(std::move(ping_rx), std::move(pong_tx)));
  player.join();
}

// Oneshots completed from a plain thread while the runtime parks: each one
// must wake exactly its task.
TEST(CrossThread, OneshotsSentFromAPlainThreadWakeTheirTasks) {
  constexpr int n = 5'000;
  kyoto::runtime rt;
  std::vector<kyoto::sync::oneshot::sender<int>> senders;
  std::vector<kyoto::join_handle<int>> handles;
  for (int i = 0; i < n; ++i) {
    auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
    senders.push_back(std::move(tx));
    handles.push_back(rt.spawn(
        [](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<int> {
          auto v = co_await r;
          co_return v.value();
        },
        std::move(rx)));
  }
  std::thread sender([&senders] {
    for (int i = n - 1; i >= 0; --i)
      senders[static_cast<std::size_t>(i)].send(i).value();
  });
  const long long sum =
      rt.block_on([](std::vector<kyoto::join_handle<int>>& hs) -> kyoto::task<long long> {
        long long s = 0;
        for (auto& h : hs)
          s += co_await h;
        co_return s;
      }(handles));
  sender.join();
  EXPECT_EQ(sum, static_cast<long long>(n) * (n - 1) / 2);
}

// abort() from a plain thread races the tasks finishing on the runtime:
// every task ends exactly once, as completed or as cancelled.
TEST(CrossThread, AbortFromAPlainThreadRacesCompletion) {
  constexpr int n = 5'000;
  kyoto::runtime rt;
  std::vector<kyoto::join_handle<int>> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(rt.spawn(
        [](int v) -> kyoto::task<int> {
          for (int k = 0; k < v % 4; ++k)
            co_await kyoto::yield_now();
          co_return v;
        },
        i));
  }
  std::atomic<bool> go{false};
  std::thread aborter([&] {
    while (!go.load())
      std::this_thread::yield();
    for (int i = 0; i < n; i += 2)
      handles[static_cast<std::size_t>(i)].abort();
  });
  auto [completed, cancelled] =
      rt.block_on([](std::vector<kyoto::join_handle<int>>& hs,
                     std::atomic<bool>& start) -> kyoto::task<std::pair<int, int>> {
        start = true;
        int done = 0, aborted = 0;
        for (std::size_t i = 0; i < hs.size(); ++i) {
          try {
            const int v = co_await hs[i];
            EXPECT_EQ(v, static_cast<int>(i));
            ++done;
          } catch (const kyoto::join_error&) {
            EXPECT_EQ(i % 2, 0u) << "only even tasks were aborted";
            ++aborted;
          }
        }
        co_return std::make_pair(done, aborted);
      }(handles, go));
  aborter.join();
  EXPECT_EQ(completed + cancelled, n);
  EXPECT_GE(completed, n / 2);
}

// A timer and a foreign wake arriving together: the park must return for
// either, and neither may be lost.
TEST(CrossThread, ForeignWakesInterleavedWithTimers) {
  kyoto::runtime rt;
  auto [tx, rx] = kyoto::sync::mpsc::unbounded_channel<int>();
  std::thread producer([out = std::move(tx)]() mutable {
    for (int i = 0; i < 200; ++i) {
      out.send(i).value();
      std::this_thread::sleep_for(100us);  // paces the producer; not synchronisation
    }
  });
  const int got = rt.block_on([](kyoto::sync::mpsc::receiver<int>& in) -> kyoto::task<int> {
    auto ticker = kyoto::spawn([]() -> kyoto::task<int> {
      int ticks = 0;
      for (int i = 0; i < 20; ++i) {
        co_await kyoto::time::sleep(1ms);
        ++ticks;
      }
      co_return ticks;
    });
    int c = 0;
    while (co_await in.recv())
      ++c;
    EXPECT_EQ(co_await ticker, 20);
    co_return c;
  }(rx));
  producer.join();
  EXPECT_EQ(got, 200);
}

// A task on runtime A wakes the root of runtime B from A's thread; B's
// root completes and B is destroyed at once. The waker must be done with
// B's scheduler before B can finish (AddressSanitizer/ThreadSanitizer
// builds catch a waker that touches it after).
TEST(CrossThread, WakingARuntimeThatIsAboutToBeDestroyedIsSafe) {
  kyoto::runtime a;
  kyoto::handle ha = a.handle();
  auto [stop_tx, stop_rx] = kyoto::sync::oneshot::channel<int>();
  std::thread driver([&a, rx = std::move(stop_rx)]() mutable { (void)a.block_on(std::move(rx)); });
  for (int i = 0; i < 2'000; ++i) {
    kyoto::runtime b;
    auto on_a = ha.spawn([]() -> kyoto::task<int> {
      co_await kyoto::yield_now();
      co_return 1;
    });
    EXPECT_EQ(b.block_on(on_a), 1);
  }
  stop_tx.send(0).value();
  driver.join();
}

// abort() from a plain thread while the task's runtime is being destroyed:
// the abort must not submit to a freed scheduler, and the task ends
// cancelled either way.
TEST(CrossThread, AbortRacingTheRuntimesDestructionIsSafe) {
  for (int i = 0; i < 1'000; ++i) {
    std::optional<kyoto::runtime> rt(std::in_place);
    auto h = rt->spawn([]() -> kyoto::task<> { co_await kyoto::time::sleep(1h); });
    rt->block_on(kyoto::yield_now());  // the task is parked in its sleep
    std::atomic<bool> go{false};
    std::thread aborter([&] {
      while (!go.load())
        std::this_thread::yield();
      h.abort();
    });
    go = true;
    rt.reset();
    aborter.join();
    EXPECT_TRUE(h.is_finished());
  }
}

// ---- mpsc permits, weak senders and closed() across threads ----

/// A 2-worker multi_thread runtime (the CI machines have 2 cores).
kyoto::runtime two_workers() {
  return kyoto::runtime::builder::multi_thread().worker_threads(2).enable_all().build();
}

using tagged = std::pair<int, int>;  // (sender id, sequence number)

/// Sends per_sender values tagged (id, i), each through a different path:
/// reserve + permit, reserve_many(2) with one permit used and one dropped,
/// send_timeout (which may time out), reserve_owned. Counts the successes.
kyoto::task<> send_by_every_path(kyoto::sync::mpsc::sender<tagged> out, int id, int per_sender,
                                 std::atomic<long>* sent) {
  for (int i = 0; i < per_sender; ++i) {
    switch (i % 4) {
      case 0: {
        auto permit = co_await out.reserve();
        if (!permit) co_return;
        permit->send(tagged(id, i));
        break;
      }
      case 1: {
        auto permits = co_await out.reserve_many(2);
        if (!permits) co_return;
        permits->next()->send(tagged(id, i));
        break;  // the second permit is given back unused
      }
      case 2: {
        auto r = co_await out.send_timeout(tagged(id, i), 1ms);
        if (!r) {
          if (r.error().is_closed()) co_return;
          continue;  // timed out: not sent
        }
        break;
      }
      default: {
        auto owned = co_await out.reserve_owned();
        if (!owned) co_return;
        auto back = owned->send(tagged(id, i));
        break;
      }
    }
    sent->fetch_add(1, std::memory_order_relaxed);
  }
}

// Tasks on both workers send through permits, reserve_many, send_timeout
// and owned permits while plain threads blocking_send, into a 3-slot
// channel drained by recv_many: every value that was reported sent arrives
// exactly once, in each sender's order.
TEST(CrossThread, PermitsTimedSendsAndBlockingSendsRacingRecvManyLoseAndDuplicateNothing) {
  namespace mpsc = kyoto::sync::mpsc;
  constexpr int tasks = 4;
  constexpr int threads = 2;
  constexpr int per_sender = 2'000;
  std::atomic<long> sent{0};
  kyoto::runtime rt = two_workers();
  auto [tx, rx] = mpsc::channel<tagged>(3);
  std::vector<std::thread> foreign;
  for (int t = 0; t < threads; ++t) {
    foreign.emplace_back([out = tx, id = tasks + t, &sent]() mutable {
      for (int i = 0; i < per_sender; ++i) {
        if (out.blocking_send(tagged(id, i)).has_value()) sent.fetch_add(1);
      }
    });
  }
  for (int p = 0; p < tasks; ++p)
    rt.spawn(send_by_every_path(tx, p, per_sender, &sent));
  {
    auto drop = std::move(tx);
  }
  const long received = rt.block_on([](mpsc::receiver<tagged>& in) -> kyoto::task<long> {
    std::vector<int> next(tasks + threads, 0);
    std::vector<tagged> batch;
    long count = 0;
    for (;;) {
      batch.clear();
      const std::size_t n = co_await in.recv_many(batch, 5);
      if (n == 0) break;
      EXPECT_EQ(n, batch.size());
      for (const auto& [id, seq] : batch) {
        EXPECT_GE(seq, next[static_cast<std::size_t>(id)]) << "sender " << id << " out of order";
        next[static_cast<std::size_t>(id)] = seq + 1;
        ++count;
      }
    }
    co_return count;
  }(rx));
  for (auto& f : foreign)
    f.join();
  EXPECT_EQ(received, sent.load());
  EXPECT_GE(sent.load(), threads * per_sender + tasks * per_sender * 3 / 4);
}

// Many send_timeout()s with 1 ms deadlines wait on a 1-slot channel that a
// plain thread drains: timers firing on a tick wake many senders at once,
// and the thread's grants land on senders woken by their timer but not yet
// resumed (both of a send_timeout's wakes fired). Each value is either
// received once or handed back as timed out, never both, never neither.
TEST(CrossThread, SendTimeoutsRacingGrantsFromAThreadSendEachValueOnceOrHandItBack) {
  namespace mpsc = kyoto::sync::mpsc;
  constexpr int tasks = 64;
  constexpr int per_task = 40;
  std::atomic<long> sent{0};
  std::atomic<long> timed_out{0};
  kyoto::runtime rt = two_workers();
  auto [tx, rx] = mpsc::channel<tagged>(1);
  std::vector<int> next(tasks, 0);
  long received = 0;
  std::thread consumer([in = std::move(rx), &next, &received]() mutable {
    while (auto v = in.blocking_recv()) {
      auto& expected = next[static_cast<std::size_t>(v->first)];
      EXPECT_GE(v->second, expected) << "received twice, or out of order";
      expected = v->second + 1;
      ++received;
    }
  });
  std::vector<kyoto::join_handle<void>> senders;
  for (int t = 0; t < tasks; ++t) {
    senders.push_back(rt.spawn(
        [](mpsc::sender<tagged> out, int id, std::atomic<long>* ok,
           std::atomic<long>* late) -> kyoto::task<> {
          for (int i = 0; i < per_task; ++i) {
            const auto start = std::chrono::steady_clock::now();
            auto r = co_await out.send_timeout(tagged(id, i), 1ms);
            if (r) {
              ok->fetch_add(1, std::memory_order_relaxed);
            } else {
              EXPECT_TRUE(r.error().is_timeout());
              // Not a spurious resume (say, by a stale second wake).
              EXPECT_GE(std::chrono::steady_clock::now() - start, 1ms);
              EXPECT_EQ(r.error().value, tagged(id, i));  // handed back
              late->fetch_add(1, std::memory_order_relaxed);
            }
          }
        },
        tx, t, &sent, &timed_out));
  }
  {
    auto drop = std::move(tx);
  }
  // Every fourth task is aborted mid-way, in whatever state it is: waiting,
  // woken by its timer or a grant or both (a cancelled send sends nothing).
  std::thread aborter([&senders, &sent, &timed_out] {
    for (int t = 0; t < tasks; t += 4) {
      while (sent.load() + timed_out.load() < static_cast<long>(t) * per_task / 2)
        std::this_thread::yield();
      senders[static_cast<std::size_t>(t)].abort();
    }
  });
  aborter.join();
  const int cancelled =
      rt.block_on([](std::vector<kyoto::join_handle<void>>& hs) -> kyoto::task<int> {
        int n = 0;
        for (auto& h : hs) {
          try {
            co_await h;
          } catch (const kyoto::join_error&) {
            ++n;
          }
        }
        co_return n;
      }(senders));
  consumer.join();
  EXPECT_EQ(received, sent.load());
  EXPECT_LE(sent.load() + timed_out.load(), tasks * per_task);
  if (cancelled == 0) {
    EXPECT_EQ(sent.load() + timed_out.load(), tasks * per_task);
  }
}

// Reserving tasks are aborted from a plain thread while a consumer keeps
// granting them slots: cancelled waiting, cancelled granted (woken, not yet
// run) and cancelled holding a permit. No slot may be lost or duplicated:
// at the end the whole capacity is free again.
TEST(CrossThread, ReservesAbortedFromAThreadWhileSlotsAreGrantedLoseNoSlot) {
  namespace mpsc = kyoto::sync::mpsc;
  constexpr int n = 1'000;
  constexpr int rounds = 10;
  constexpr int per_tick = 10;
  constexpr std::size_t capacity = 2;
  std::atomic<long> sent{0};
  kyoto::runtime rt = two_workers();
  auto [tx, rx] = mpsc::channel<int>(capacity);
  // The consumer takes per_tick values per tick of the aborting thread, so
  // the aborts are spread over the run whatever the threads' speeds: task
  // 2k is aborted after about 10k values, mid-way through the reservers'
  // rounds (the odd tasks alone send 5n values, so the ticks never stall).
  auto [tick_tx, tick_rx] = mpsc::channel<int>(1);  // the aborter is at most two ticks ahead
  auto consumer = rt.spawn(
      [](mpsc::receiver<int>* in, mpsc::receiver<int> ticks) -> kyoto::task<long> {
        long count = 0;
        while (co_await ticks.recv()) {
          for (int k = 0; k < per_tick; ++k) {
            auto v = co_await in->recv();
            if (!v || *v < 0) co_return count;
            ++count;
          }
        }
        while (auto v = co_await in->recv()) {
          if (*v < 0) break;  // the end marker
          ++count;
        }
        co_return count;
      },
      &rx, std::move(tick_rx));
  std::vector<kyoto::join_handle<void>> reservers;
  reservers.reserve(n);
  for (int i = 0; i < n; ++i) {
    reservers.push_back(rt.spawn(
        [](mpsc::sender<int> out, int v, std::atomic<long>* count) -> kyoto::task<> {
          for (int r = 0; r < rounds; ++r) {
            if ((v + r) % 3 == 0) {
              auto permits = co_await out.reserve_many(2);
              if (!permits) co_return;
              co_await kyoto::yield_now();  // an abort may land here, holding two
              permits->next()->send(v);
            } else {
              auto permit = co_await out.reserve();
              if (!permit) co_return;
              co_await kyoto::yield_now();  // or here, holding one
              permit->send(v);
            }
            count->fetch_add(1, std::memory_order_relaxed);
          }
        },
        tx, i, &sent));
  }
  std::thread aborter([&reservers, ticks = std::move(tick_tx)]() mutable {
    for (int i = 0; i < n; i += 2) {
      reservers[static_cast<std::size_t>(i)].abort();
      ticks.blocking_send(0).value();
    }
  });
  aborter.join();
  const auto [completed, received] =
      rt.block_on([](std::vector<kyoto::join_handle<void>>& hs, mpsc::sender<int>& out,
                     kyoto::join_handle<long>& drained) -> kyoto::task<std::pair<int, long>> {
        int done = 0;
        for (auto& h : hs) {
          try {
            co_await h;
            ++done;
          } catch (const kyoto::join_error&) {  // NOLINT(bugprone-empty-catch): aborted on purpose
          }
        }
        (co_await out.send(-1)).expect("end marker");
        co_return std::make_pair(done, co_await drained);
      }(reservers, tx, consumer));
  EXPECT_EQ(received, sent.load());
  EXPECT_GE(completed, n / 2);
  EXPECT_LT(completed, n) << "no abort landed before its task finished: the test tested nothing";
  EXPECT_TRUE(rx.try_recv().error().is_empty());
  EXPECT_EQ(tx.capacity(), capacity) << "a slot was lost (or duplicated)";
}

// upgrade() on a worker races the last strong sender's drop on a plain
// thread: either the upgrade gets a sender (and the channel stays open for
// it, delivering its value) or it gets none; recv() ends either way, woken
// by whichever drop came last.
TEST(CrossThread, WeakUpgradeRacingTheLastSendersDropOnAThreadEitherKeepsTheChannelOpenOrFails) {
  namespace mpsc = kyoto::sync::mpsc;
  constexpr int rounds = 2'000;
  kyoto::runtime rt = two_workers();
  auto [to_dropper, dropper_rx] = mpsc::unbounded_channel<mpsc::sender<int>>();
  std::thread dropper([in = std::move(dropper_rx)]() mutable {
    while (auto doomed = in.blocking_recv()) {
      // dropped here, racing the upgrade
    }
  });
  const auto [upgraded, failed] = rt.block_on(
      [](mpsc::unbounded_sender<mpsc::sender<int>>& drop_it) -> kyoto::task<std::pair<int, int>> {
        int up = 0;
        int none = 0;
        for (int i = 0; i < rounds; ++i) {
          auto [tx, rx] = mpsc::channel<int>(1);
          mpsc::weak_sender<int> weak = tx.downgrade();
          drop_it.send(std::move(tx)).value();
          if (std::optional<mpsc::sender<int>> strong = weak.upgrade()) {
            ++up;
            strong->try_send(i).value();  // the only value: there is room
            strong.reset();
            EXPECT_EQ(co_await rx.recv(), i);
          } else {
            ++none;
          }
          EXPECT_EQ(co_await rx.recv(), std::nullopt);
          EXPECT_FALSE(weak.upgrade().has_value());  // zero is final
        }
        co_return std::make_pair(up, none);
      }(to_dropper));
  {
    auto drop = std::move(to_dropper);
  }
  dropper.join();
  EXPECT_EQ(upgraded + failed, rounds);
}

// Senders on both workers wait in closed() (mpsc and oneshot) while a
// plain thread drops the receivers: every waiter completes, whether it
// parked before the drop or found the channel closed.
TEST(CrossThread, ClosedWaitersOnBothWorkersAreAllWokenByReceiversDroppedOnAThread) {
  namespace mpsc = kyoto::sync::mpsc;
  namespace oneshot = kyoto::sync::oneshot;
  constexpr int rounds = 500;
  constexpr int waiters = 4;
  kyoto::runtime rt = two_workers();
  auto [to_dropper, dropper_rx] =
      mpsc::unbounded_channel<std::pair<mpsc::receiver<int>, oneshot::receiver<int>>>();
  std::thread dropper([in = std::move(dropper_rx)]() mutable {
    while (auto doomed = in.blocking_recv()) {
      // both receivers dropped here
    }
  });
  rt.block_on(
      [](mpsc::unbounded_sender<std::pair<mpsc::receiver<int>, oneshot::receiver<int>>>& drop_it)
          -> kyoto::task<> {
        for (int r = 0; r < rounds; ++r) {
          auto [tx, rx] = mpsc::channel<int>(1);
          auto [otx, orx] = oneshot::channel<int>();
          std::vector<kyoto::join_handle<void>> waiting;
          for (int w = 0; w < waiters; ++w) {
            waiting.push_back(kyoto::spawn(
                [](mpsc::sender<int> s) -> kyoto::task<> { co_await s.closed(); }, tx));
          }
          waiting.push_back(kyoto::spawn(
              [](oneshot::sender<int> s) -> kyoto::task<> {
                co_await s.closed();
                EXPECT_TRUE(s.is_closed());
                EXPECT_FALSE(s.send(1).has_value());
              },
              std::move(otx)));
          drop_it.send(std::make_pair(std::move(rx), std::move(orx))).value();
          for (auto& h : waiting)
            co_await h;
          EXPECT_TRUE(tx.is_closed());
        }
      }(to_dropper));
  {
    auto drop = std::move(to_dropper);
  }
  dropper.join();
}

}  // namespace
