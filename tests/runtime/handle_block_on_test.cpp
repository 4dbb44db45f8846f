// handle::block_on from plain threads, on every flavour: the applicable
// cases of tokio's tests/rt_handle_block_on.rs.
//
// tokio's Handle::block_on polls the future on the calling thread, so it
// works even after the runtime shut down for futures that need no driver.
// kyoto's runs the awaitable as a task on the runtime (like
// runtime::block_on), so after shutdown it throws std::logic_error instead;
// those cases are ported to that contract.
#include "drop_counter.hpp"
#include "errors.hpp"
#include "flavours.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

using namespace std::chrono_literals;

namespace {

namespace mpsc = kyoto::sync::mpsc;

using kyoto::test::flavour;
using kyoto::test::make_runtime;

class HandleBlockOn : public ::testing::TestWithParam<flavour> {
 protected:
  kyoto::runtime rt_ = make_runtime(GetParam());
  kyoto::handle handle_ = rt_.handle();
};

kyoto::task<int> one() {
  co_return 1;
}

// tokio: basic (before shutdown; after it, see the file comment)
TEST_P(HandleBlockOn, RunsATaskToCompletionFromAPlainThread) {
  EXPECT_EQ(handle_.block_on(one()), 1);
}

TEST_P(HandleBlockOn, ThrowsLogicErrorOnceTheRuntimeIsShutDown) {
  std::move(rt_).shutdown_timeout(1000s);
  kyoto::test::expect_throws<std::logic_error>([this] { handle_.block_on(one()); }, "block_on");
}

// tokio: bounded_mpsc_channel
TEST_P(HandleBlockOn, SendsAndReceivesOnABoundedChannel) {
  auto [tx, rx] = mpsc::channel<int>(1024);
  EXPECT_TRUE(handle_.block_on(tx.send(42)).has_value());
  EXPECT_EQ(handle_.block_on(rx.recv()), std::optional<int>(42));
}

// tokio: unbounded_mpsc_channel
TEST_P(HandleBlockOn, ReceivesOnAnUnboundedChannel) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  EXPECT_TRUE(tx.send(42).has_value());
  EXPECT_EQ(handle_.block_on(rx.recv()), std::optional<int>(42));
}

// tokio: basic_spawn_blocking
TEST_P(HandleBlockOn, AwaitsASpawnBlockingTask) {
  auto h = handle_.spawn_blocking([] {
    std::this_thread::sleep_for(20ms);  // the blocking work, not synchronisation
    return 42;
  });
  EXPECT_EQ(handle_.block_on(std::move(h)), 42);
}

// tokio: spawn_blocking_after_shutdown_fails
TEST_P(HandleBlockOn, SpawnBlockingAfterShutdownGivesACancelledTask) {
  std::move(rt_).shutdown_timeout(1000s);
  bool ran = false;
  auto h = handle_.spawn_blocking([&ran] {
    ran = true;
    return 42;
  });
  EXPECT_TRUE(h.is_finished());
  kyoto::runtime other = make_runtime(GetParam());
  if (const auto e =
          kyoto::test::expect_throws<kyoto::join_error>([&] { other.block_on(std::move(h)); })) {
    EXPECT_TRUE(e->is_cancelled());
  }
  EXPECT_FALSE(ran);
}

// tokio: spawn_blocking_started_before_shutdown_continues
TEST_P(HandleBlockOn, SpawnBlockingStartedBeforeShutdownFinishes) {
  auto h = handle_.spawn_blocking([] {
    std::this_thread::sleep_for(50ms);  // still running when shutdown begins
    return 42;
  });
  EXPECT_TRUE(std::move(rt_).shutdown_timeout(1000s));
  EXPECT_TRUE(h.is_finished());
  kyoto::runtime other = make_runtime(GetParam());
  EXPECT_EQ(other.block_on(std::move(h)), 42);
}

// tokio: nesting (block_on inside a task must fail loudly, not deadlock)
TEST_P(HandleBlockOn, BlockOnInsideATaskThrowsLogicError) {
  rt_.block_on([](kyoto::handle h) -> kyoto::task<> {
    kyoto::test::expect_throws<std::logic_error>([&h] { h.block_on(kyoto::time::sleep(10ms)); },
                                                 "block_on");
    co_return;
  }(handle_));
}

// tokio: spawn_after_runtime_dropped
TEST_P(HandleBlockOn, TasksSpawnedBeforeAndAfterTheRuntimeIsDroppedAreCancelled) {
  std::atomic<int> dropped{0};
  auto forever = [](kyoto::test::drop_counter) -> kyoto::task<> {
    co_await kyoto::time::sleep(1h);
  };
  auto before = handle_.spawn(forever, kyoto::test::drop_counter(dropped));
  {
    kyoto::runtime gone = std::move(rt_);
  }
  auto after = handle_.spawn(forever, kyoto::test::drop_counter(dropped));
  EXPECT_EQ(dropped.load(), 2);
  kyoto::runtime other = make_runtime(GetParam());
  for (auto* h : {&before, &after}) {
    if (const auto e =
            kyoto::test::expect_throws<kyoto::join_error>([&] { other.block_on(std::move(*h)); })) {
      EXPECT_TRUE(e->is_cancelled());
    }
  }
}

// tokio: sleep (multi_threaded_rt_test; kyoto's current_thread runtime
// drives its timers during block_on, so it runs on every flavour)
TEST_P(HandleBlockOn, SleepsOnTheRuntimesTimers) {
  const auto start = std::chrono::steady_clock::now();
  handle_.block_on(kyoto::time::sleep(30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

// tokio: sleep_after_shutdown_panics
TEST_P(HandleBlockOn, SleepAfterShutdownThrowsLogicError) {
  std::move(rt_).shutdown_timeout(1000s);
  kyoto::test::expect_throws<std::logic_error>(
      [this] { handle_.block_on(kyoto::time::sleep(100ms)); }, "block_on");
}

KYOTO_INSTANTIATE_FLAVOURS(HandleBlockOn);

}  // namespace
