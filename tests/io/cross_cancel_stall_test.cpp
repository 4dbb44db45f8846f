// Issue 13, item 3: a cancel from another worker must not wait for the
// worker whose ring holds the request to poll it. Here that worker runs a
// CPU-bound task for 1 s; a task whose read was started on its ring times
// the read out after 20 ms, on the other worker (the busy one's timers are
// fired by the watchdog, which hands the woken task to an idle worker).
//
// The canceller posts its cancel, reaps the busy worker's ring itself and
// signals that worker, whose handler submits the cancel
// (IORING_REGISTER_SYNC_CANCEL) and posts its completion (driver.hpp,
// "Assists"). Before, the timeout returned after 1,000-1,023 ms. The bound
// is generous for CI (the target is 25 ms); the measured time is printed.
// Skipped when KYOTO_URING_FEATURES turns sync_cancel off (as on kernels
// before 6.0, the cancel then waits for the owner).
#include "net_support.hpp"
#include "spin.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

kyoto::task<steady_clock::duration> time_out_a_read_while_its_worker_spins() {
  auto [client, server] = co_await kyoto::test::connected_pair();
  // On this worker's LIFO slot: it runs here once we suspend, and is not
  // stolen.
  kyoto::spawn([]() -> kyoto::task<void> {
    kyoto::test::spin_for(std::chrono::seconds(1));
    co_return;
  }());
  std::array<std::byte, 16> buf{};
  const auto start = steady_clock::now();
  const auto r = co_await kyoto::time::timeout(milliseconds(20), server.read(buf));
  const auto took = steady_clock::now() - start;
  EXPECT_FALSE(r.has_value());
  co_return took;
}

TEST(IoCrossCancel, ATimeoutOfAReadOwnedByABusyWorkerDoesNotWaitForIt) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any runtime starts
  if (const char* env = std::getenv("KYOTO_URING_FEATURES");
      env != nullptr && std::string_view(env) != "all" &&
      std::string_view(env).find("sync_cancel") == std::string_view::npos) {
    GTEST_SKIP() << "KYOTO_URING_FEATURES turns sync_cancel off: the cancel waits for the owner";
  }
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  // Spawned, so that it runs on a worker (whose ring owns the read).
  const steady_clock::duration took = rt.block_on([]() -> kyoto::task<steady_clock::duration> {
    co_return co_await kyoto::spawn(time_out_a_read_while_its_worker_spins());
  }());
  const auto ms = std::chrono::duration_cast<milliseconds>(took).count();
  std::printf("the 20 ms timeout of a read owned by a busy worker took %lld ms\n",
              static_cast<long long>(ms));
  // Generous for CI; the target is <= 25 ms.
  EXPECT_LT(took, milliseconds(500));
}

}  // namespace
