// runtime::builder::deterministic(seed): one thread, a seeded order, paused
// time. The same seed replays a run exactly; different seeds explore
// different orders; the multi_thread API (spawn, spawn_blocking, handles,
// select, join_set, time, net) works on it; a deadlock is reported with the
// seed instead of hanging. Internal: builds the scheduler with a short
// deadlock grace (scheduler/deterministic/scheduler.hpp).
#include "errors.hpp"
#include "first_to_run.hpp"
#include "scheduler/deterministic/scheduler.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace mpsc = kyoto::sync::mpsc;

/// What a run did, in the order it did it.
using trace = std::vector<std::string>;

/// Six workers that yield, message each other, select and sleep, each
/// recording what it observes: any change in the order tasks run shows in
/// the trace.
kyoto::task<trace> interleaving_program() {
  auto log = std::make_shared<trace>();
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  kyoto::join_set<void> set;
  for (int id = 0; id < 6; ++id) {
    set.spawn(
        [](int me, std::shared_ptr<trace> out, mpsc::unbounded_sender<int> to) -> kyoto::task<> {
          for (int step = 0; step < 4; ++step) {
            out->push_back("w" + std::to_string(me) + "." + std::to_string(step));
            to.send(me * 10 + step).value();
            if (step == 2) co_await kyoto::time::sleep(std::chrono::milliseconds(me % 3));
            co_await kyoto::yield_now();
          }
        },
        id, log, tx);
  }
  {
    auto ours = std::move(tx);  // the workers hold the last senders
  }
  auto [stop_tx, stop_rx] = mpsc::unbounded_channel<int>();
  set.spawn([](mpsc::unbounded_sender<int> stop) -> kyoto::task<> {
    co_await kyoto::time::sleep(1ms);
    stop.send(1).value();
  }(std::move(stop_tx)));
  bool stopped = false;
  for (;;) {
    if (!stopped) {
      auto v = co_await kyoto::select(rx.recv(), stop_rx.recv());
      if (v.index() == 0) {
        auto got = std::get<0>(std::move(v));
        if (!got) break;
        log->push_back("got " + std::to_string(*got));
      } else {
        log->push_back("stop");
        stopped = true;
      }
    } else {
      auto got = co_await rx.recv();
      if (!got) break;
      log->push_back("got " + std::to_string(*got));
    }
  }
  while (auto r = co_await set.join_next())
    r->value();
  co_return *log;
}

trace run_with_seed(std::uint64_t seed) {
  auto rt = kyoto::runtime::builder::deterministic(seed).build();
  return rt.block_on(interleaving_program());
}

TEST(Deterministic, TheSameSeedReplaysTheSameRun) {
  for (std::uint64_t seed : {0ull, 1ull, 42ull, 0xdeadbeefull}) {
    const trace first = run_with_seed(seed);
    const trace second = run_with_seed(seed);
    EXPECT_EQ(first, second) << "seed " << seed;
    EXPECT_FALSE(first.empty());
  }
}

TEST(Deterministic, DifferentSeedsExploreDifferentOrders) {
  std::set<trace> seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed)
    seen.insert(run_with_seed(seed));
  EXPECT_GT(seen.size(), 10u) << "20 seeds gave only " << seen.size() << " distinct runs";
}

// Any runnable task may run next: not always the first spawned.
TEST(Deterministic, TheFirstTaskToRunDependsOnTheSeed) {
  std::set<int> firsts;
  for (std::uint64_t seed = 0; seed < 32; ++seed) {
    auto rt = kyoto::runtime::builder::deterministic(seed).build();
    firsts.insert(rt.block_on(kyoto::test::first_to_run(4)));
  }
  EXPECT_EQ(firsts.size(), 4u);
}

// Under either strategy (uniform, or priorities: scheduler.hpp), a task
// that polls with yield_now lets the task it waits for run soon: a yield
// sends it behind every other runnable task.
TEST(Deterministic, AYieldPollingTaskDoesNotStarveTheTaskItWaitsFor) {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    auto rt = kyoto::runtime::builder::deterministic(seed).build();
    const int polls = rt.block_on([]() -> kyoto::task<int> {
      auto flag = std::make_shared<bool>(false);
      std::vector<kyoto::join_handle<void>> busy;
      for (int i = 0; i < 3; ++i) {
        busy.push_back(kyoto::spawn([]() -> kyoto::task<> {
          for (int k = 0; k < 5; ++k)
            co_await kyoto::yield_now();
        }));
      }
      auto setter = kyoto::spawn([](std::shared_ptr<bool> f) -> kyoto::task<> {
        *f = true;
        co_return;
      }(flag));
      int n = 0;
      while (!*flag) {
        co_await kyoto::yield_now();
        ++n;
      }
      co_await setter;
      for (auto& b : busy)
        co_await b;
      co_return n;
    }());
    EXPECT_LT(polls, 50) << "seed " << seed;
  }
}

TEST(Deterministic, SelectsStartBranchComesFromTheSeed) {
  auto picks = [](std::uint64_t seed) {
    auto rt = kyoto::runtime::builder::deterministic(seed).build();
    return rt.block_on([]() -> kyoto::task<std::string> {
      std::string s;
      for (int i = 0; i < 32; ++i) {
        auto v = co_await kyoto::select(kyoto::yield_now(), kyoto::yield_now(), kyoto::yield_now());
        s += static_cast<char>('0' + v.index());
      }
      co_return s;
    }());
  };
  EXPECT_EQ(picks(3), picks(3));
  EXPECT_NE(picks(3), picks(4));
}

TEST(Deterministic, TimeIsPausedAndAutoAdvances) {
  auto rt = kyoto::runtime::builder::deterministic(1).build();
  const auto elapsed = rt.block_on([]() -> kyoto::task<kyoto::time::clock::duration> {
    const auto start = kyoto::time::clock::now();
    co_await kyoto::time::sleep(1h);
    co_await kyoto::time::advance(5s);
    co_return kyoto::time::clock::now() - start;
  }());
  EXPECT_EQ(elapsed, 1h + 5s);
}

TEST(Deterministic, TimeoutsFireAtTheirExactVirtualDeadline) {
  auto rt = kyoto::runtime::builder::deterministic(9).build();
  rt.block_on([]() -> kyoto::task<> {
    auto [tx, rx] = mpsc::channel<int>(1);
    const auto start = kyoto::time::clock::now();
    auto r = co_await kyoto::time::timeout(250ms, rx.recv());
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(kyoto::time::clock::now() - start, 250ms);
  }());
}

TEST(Deterministic, SpawnBlockingRunsInlineOnTheDrivingThread) {
  auto rt = kyoto::runtime::builder::deterministic(2).build();
  const auto driver = std::this_thread::get_id();
  const auto ran_on = rt.block_on([]() -> kyoto::task<std::thread::id> {
    co_return co_await kyoto::spawn_blocking([] { return std::this_thread::get_id(); });
  }());
  EXPECT_EQ(ran_on, driver);
  EXPECT_EQ(rt.metrics().blocking_threads, 0u);
  // From outside the runtime too: it runs in the next block_on.
  auto h = rt.spawn_blocking([] { return 7; });
  EXPECT_EQ(rt.block_on(std::move(h)), 7);
}

TEST(Deterministic, ABlockingWaitInsideSpawnBlockingThrowsInsteadOfHanging) {
  auto rt = kyoto::runtime::builder::deterministic(2).build();
  rt.block_on([]() -> kyoto::task<> {
    auto [tx, rx] = mpsc::channel<int>(1);
    auto h = kyoto::spawn_blocking([r = std::move(rx)]() mutable { return r.blocking_recv(); });
    co_await kyoto::test::expect_throws_async<std::logic_error>(
        [&]() -> kyoto::join_handle<std::optional<int>>& { return h; }, "blocking_recv");
  }());
}

TEST(Deterministic, HandlesSpawnFromOtherThreadsIntoTheNextBlockOn) {
  auto rt = kyoto::runtime::builder::deterministic(5).build();
  kyoto::handle h = rt.handle();
  kyoto::join_handle<int> j;
  std::thread([&] { j = h.spawn([]() -> kyoto::task<int> { co_return 11; }); }).join();
  EXPECT_EQ(rt.block_on(std::move(j)), 11);
}

TEST(Deterministic, AWakeFromAnotherThreadReachesTheRuntime) {
  auto rt = kyoto::runtime::builder::deterministic(5).build();
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  std::thread sender([out = std::move(tx)]() mutable { out.send(3).value(); });
  const auto got = rt.block_on(rx.recv());
  sender.join();
  EXPECT_EQ(got, 3);
}

TEST(Deterministic, TcpOverTheRealKernelWorks) {
  auto rt = kyoto::runtime::builder::deterministic(8).build();
  const std::string echoed = rt.block_on([]() -> kyoto::task<std::string> {
    auto listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
    const kyoto::net::socket_addr addr = listener.local_addr();
    auto server = kyoto::spawn(
        [](kyoto::net::tcp_listener l) -> kyoto::task<> {
          auto [socket, peer] = co_await l.accept();
          std::vector<std::byte> buf(16);
          const std::size_t n = co_await socket.read(buf);
          co_await socket.write_all(std::span<const std::byte>(buf).first(n));
        },
        std::move(listener));
    auto client = co_await kyoto::net::tcp_stream::connect(addr);
    const std::string hello = "hello";
    co_await client.write_all(std::as_bytes(std::span(hello)));
    std::vector<std::byte> back(hello.size());
    std::size_t got = 0;
    while (got < back.size()) {
      const std::size_t n = co_await client.read(std::span(back).subspan(got));
      if (n == 0) break;
      got += n;
    }
    co_await server;
    co_return std::string(reinterpret_cast<const char*>(back.data()), got);
  }());
  EXPECT_EQ(echoed, "hello");
}

TEST(Deterministic, ADeadlockIsReportedWithTheSeed) {
  kyoto::detail::deterministic_config config;
  config.seed = 77;
  config.deadlock_grace = 10ms;
  auto sched = std::make_shared<kyoto::detail::deterministic_scheduler>(config);
  auto [tx, rx] = mpsc::channel<int>(1);
  auto e = kyoto::test::expect_throws<std::logic_error>(
      [&] { (void)kyoto::detail::block_on(*sched, rx.recv()); }, "deadlock");
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::string(e->what()).find("(seed 77)"), std::string::npos) << e->what();
  sched->shutdown();
}

TEST(Deterministic, BlockOnFromInsideATaskIsRefused) {
  auto rt = kyoto::runtime::builder::deterministic(1).build();
  kyoto::handle h = rt.handle();
  rt.block_on([](kyoto::handle hh) -> kyoto::task<> {
    kyoto::test::expect_throws<std::logic_error>(
        [&] {
          hh.block_on([]() -> kyoto::task<> {
            co_return;
          }());
        },
        "block_on");
    co_return;
  }(h));
}

TEST(Deterministic, DroppingTheRuntimeCancelsLiveTasks) {
  auto alive = std::make_shared<int>(0);
  {
    auto rt = kyoto::runtime::builder::deterministic(4).build();
    rt.block_on([](std::shared_ptr<int> a) -> kyoto::task<> {
      for (int i = 0; i < 8; ++i) {
        kyoto::spawn([](std::shared_ptr<int> keep) -> kyoto::task<> {
          co_await kyoto::time::sleep(1h);
          (void)keep;
        }(a));
      }
      co_await kyoto::yield_now();
    }(alive));
    EXPECT_GT(alive.use_count(), 1);
  }
  EXPECT_EQ(alive.use_count(), 1);
}

}  // namespace
