// Issue 13, item 3 (open): a cancel from another worker waits for the
// worker whose ring holds the request to poll it. Here that worker runs a
// CPU-bound task for 1 s; a task whose read was started on its ring times
// the read out after 20 ms, on the other worker (the busy one's timers are
// fired by the watchdog, which hands the woken task to an idle worker).
//
// The target is that the canceller does not wait for the busy worker (the
// timeout returns in well under the busy task's second). It is disabled
// until the cancel can be handed over: with a `SINGLE_ISSUER |
// DEFER_TASKRUN` ring only the owner may submit the cancel and reap its
// completion, and the read's buffer is borrowed from the caller's frame,
// which goes on right after the timeout, so the canceller must wait (see
// docs/architecture.md, "What is still stranded"). It prints the measured
// stall when run with --gtest_also_run_disabled_tests.
#include "net_support.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <utility>

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

void spin_for(steady_clock::duration d) {
  const auto end = steady_clock::now() + d;
  while (steady_clock::now() < end) {
  }
}

kyoto::task<steady_clock::duration> time_out_a_read_while_its_worker_spins() {
  auto [client, server] = co_await kyoto::test::connected_pair();
  // On this worker's LIFO slot: it runs here once we suspend, and is not
  // stolen.
  kyoto::spawn([]() -> kyoto::task<void> {
    spin_for(std::chrono::seconds(1));
    co_return;
  }());
  std::array<std::byte, 16> buf{};
  const auto start = steady_clock::now();
  const auto r = co_await kyoto::time::timeout(milliseconds(20), server.read(buf));
  const auto took = steady_clock::now() - start;
  EXPECT_FALSE(r.has_value());
  co_return took;
}

TEST(IoCrossCancel, DISABLED_ATimeoutOfAReadOwnedByABusyWorkerDoesNotWaitForIt) {
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
