// No I/O stranded behind a busy worker (issue 14): a worker reaps its own
// ring only between tasks, and with SINGLE_ISSUER | DEFER_TASKRUN the
// kernel posts its completions only when that worker enters the ring. While
// one of its tasks computes, the watchdog reaps the ring for it and signals
// it to post (driver.hpp, "Assists"); an idle worker runs the woken task.
// Aborting a task whose read lives on that ring cancels the read through
// the same assist instead of waiting for the busy task to end.
//
// Each scenario fails without the assists: the read (or the abort) then
// completes only when the spinner stops, after 1 s. The bounds are generous
// (CI runs this under sanitizers on a shared machine; the target is 25 ms
// for the read and 5 ms for the abort); the measured times are printed.
#include "net_support.hpp"
#include "spin.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Whether KYOTO_URING_FEATURES turns IORING_REGISTER_SYNC_CANCEL off (an
/// abort then waits for the owner, as on kernels before 6.0).
bool sync_cancel_masked() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any runtime starts
  const char* env = std::getenv("KYOTO_URING_FEATURES");
  if (env == nullptr) return false;
  const std::string_view mask(env);
  return mask != "all" && mask.find("sync_cancel") == std::string_view::npos;
}

TEST(StrandedIo, AReadOnABusyWorkersRingCompletesWhileItSpins) {
  // Before the runtime: its shutdown may still run the spinner.
  std::atomic<bool> stop{false};
  std::atomic<clock_type::rep> written_at{0};
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  const clock_type::duration took = rt.block_on([&]() -> kyoto::task<clock_type::duration> {
    co_return co_await kyoto::spawn([&]() -> kyoto::task<clock_type::duration> {
      auto [client, server] = co_await kyoto::test::connected_pair();
      const int client_fd = client.native_handle();
      // Takes this worker's LIFO slot (which nobody steals) and runs as
      // soon as we suspend in the read: the read is on the spinner's ring.
      auto spinner = kyoto::spawn([&]() -> kyoto::task<> {
        kyoto::test::spin_until(stop, 20ms);  // the read is queued (or in the kernel) by now
        written_at.store(clock_type::now().time_since_epoch().count(), std::memory_order_relaxed);
        EXPECT_EQ(::write(client_fd, "x", 1), 1);
        kyoto::test::spin_until(stop, 1s);
        co_return;
      });
      std::array<std::byte, 8> buf{};
      const std::size_t n = co_await server.read(buf);
      const auto done = clock_type::now();
      stop.store(true, std::memory_order_relaxed);
      co_await spinner;
      EXPECT_EQ(n, 1U);
      co_return done -
          clock_type::time_point(clock_type::duration(written_at.load(std::memory_order_relaxed)));
    });
  }());
  const auto ms = std::chrono::duration<double, std::milli>(took).count();
  std::cout << "a read whose data arrived while its worker spun completed " << ms
            << " ms after the write\n";
  EXPECT_LT(took, 500ms);  // ~1,000 ms when the read waited for its worker
}

TEST(StrandedIo, AbortingATaskWhoseReadIsOnABusyWorkerDoesNotWaitForIt) {
  if (sync_cancel_masked()) {
    GTEST_SKIP() << "KYOTO_URING_FEATURES turns sync_cancel off: the abort waits for the owner";
  }
  // Before the runtime: the spinner runs until the runtime's shutdown
  // (nobody awaits it), and reads them until then.
  std::atomic<bool> stop{false};
  std::atomic<bool> spinning{false};
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  const clock_type::duration took = rt.block_on([&]() -> kyoto::task<clock_type::duration> {
    // On a worker: starts the reader, waits until its read is started,
    // then leaves the spinner in the LIFO slot, so that it runs next on
    // the worker whose ring holds the read.
    auto setup = kyoto::spawn([&]() -> kyoto::task<kyoto::join_handle<void>> {
      auto [client, server] = co_await kyoto::test::connected_pair();
      auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
      auto reader = kyoto::spawn([](kyoto::net::tcp_stream s, kyoto::net::tcp_stream keep,
                                    kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
        std::array<std::byte, 8> buf{};
        auto read = s.read(buf);
        (void)started.send(1);  // wakes setup into the LIFO slot: it runs after we suspend
        (void)co_await std::move(read);
        ADD_FAILURE() << "the read completed; no byte was ever written";
        (void)keep;
      }(std::move(server), std::move(client), std::move(started_tx)));
      (void)co_await std::move(started_rx);
      kyoto::spawn([&]() -> kyoto::task<> {
        spinning.store(true, std::memory_order_relaxed);
        kyoto::test::spin_until(stop, 1s);
        co_return;
      });
      co_return reader;
    });
    kyoto::join_handle<void> reader = co_await std::move(setup);
    while (!spinning.load(std::memory_order_relaxed)) {
      std::this_thread::yield();
    }
    const auto start = clock_type::now();
    reader.abort();
    bool cancelled = false;
    try {
      co_await reader;
    } catch (const kyoto::join_error& e) {
      cancelled = e.is_cancelled();
    }
    const auto aborted_in = clock_type::now() - start;
    stop.store(true, std::memory_order_relaxed);
    EXPECT_TRUE(cancelled);
    co_return aborted_in;
  }());
  const auto ms = std::chrono::duration<double, std::milli>(took).count();
  std::cout << "aborting a task whose read lives on a spinning worker took " << ms << " ms\n";
  EXPECT_LT(took, 500ms);  // ~1,000 ms when the cancel waited for the read's worker
}

TEST(StrandedIo, AnUnknownAssistSignalSettingFailsTheBuildWithItsName) {
  // Before any other runtime of this test starts: the variable is read by
  // each worker as it starts.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread runs here
  ASSERT_EQ(::setenv("KYOTO_ASSIST_SIGNAL", "sometimes", 1), 0);
  try {
    (void)kyoto::runtime::builder::multi_thread().worker_threads(1).build();
    ADD_FAILURE() << "build() accepted KYOTO_ASSIST_SIGNAL=sometimes";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string_view(e.what()).find("KYOTO_ASSIST_SIGNAL"), std::string_view::npos)
        << e.what();
  }
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread runs here
  ::unsetenv("KYOTO_ASSIST_SIGNAL");
}

}  // namespace
