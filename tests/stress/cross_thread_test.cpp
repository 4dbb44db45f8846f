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
  const long long n = threads * per_thread;
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

}  // namespace
