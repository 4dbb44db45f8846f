// Stress: assists (src/driver.hpp, "Assists") racing the owner. Tasks that
// compute for a few milliseconds at a time keep both workers busy, so the
// watchdog reaps their rings and signals them at every tick — the signal
// lands at any instruction, inside the reactor's own code too — while
// readers time their reads out (cross-thread cancels that reap the other
// worker's ring and signal it) and writers keep bytes coming. Every byte
// written must be read exactly once (a cancelled read keeps what it got in
// its stream's stash), and nothing may hang. Run under ThreadSanitizer and
// AddressSanitizer in CI.
#include "net_support.hpp"
#include "spin.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(AssistStress, EveryByteArrivesOnceWhileBusyWorkersAreAssisted) {
  constexpr int pairs = 6;
  constexpr int bytes_per_pair = 1000;
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  std::atomic<bool> writers_done{false};
  const std::pair<long, long> totals = rt.block_on([&]() -> kyoto::task<std::pair<long, long>> {
    std::vector<kyoto::join_handle<long>> readers;
    std::vector<kyoto::join_handle<long>> writers;
    std::vector<kyoto::join_handle<void>> spinners;
    for (int s = 0; s < 2; ++s) {
      spinners.push_back(kyoto::spawn([&]() -> kyoto::task<> {
        while (!writers_done.load(std::memory_order_relaxed)) {
          kyoto::test::spin_for(3ms);  // stuck for three watchdog ticks
          // A sleep, not a yield: a task that only yields keeps its worker's
          // queue non-empty, and the foreign wakes of the injection queue
          // then wait 61 of its slices.
          co_await kyoto::time::sleep(1ms);
        }
      }));
    }
    for (int p = 0; p < pairs; ++p) {
      auto [client, server] = co_await kyoto::test::connected_pair();
      readers.push_back(kyoto::spawn(
          [](kyoto::net::tcp_stream in, const std::atomic<bool>& done) -> kyoto::task<long> {
            long got = 0;
            std::array<std::byte, 64> buf{};
            for (;;) {
              // Short timeouts: most reads are cancelled, many from the
              // other worker while the read's own worker computes.
              auto r = co_await kyoto::time::timeout(1ms, in.read(buf));
              if (r.has_value()) {
                if (*r == 0) break;  // the writer shut its side down
                got += static_cast<long>(*r);
              }
              if (done.load(std::memory_order_relaxed) && !r.has_value()) {
                // Drain what is left without racing the timer.
                for (std::size_t n; (n = co_await in.read(buf)) != 0;)
                  got += static_cast<long>(n);
                break;
              }
            }
            co_return got;
          }(std::move(server), writers_done)));
      writers.push_back(kyoto::spawn([](kyoto::net::tcp_stream out) -> kyoto::task<long> {
        long sent = 0;
        const std::array<std::byte, 1> one{std::byte{42}};
        for (int i = 0; i < bytes_per_pair; ++i) {
          co_await out.write_all(one);
          ++sent;
          if (i % 7 == 0) co_await kyoto::time::sleep(1ms);
        }
        co_await out.shutdown();
        co_return sent;
      }(std::move(client))));
    }
    long sent = 0;
    for (auto& w : writers)
      sent += co_await w;
    writers_done.store(true, std::memory_order_relaxed);
    long received = 0;
    for (auto& r : readers)
      received += co_await r;
    for (auto& s : spinners)
      co_await s;
    co_return std::pair{sent, received};
  }());
  EXPECT_EQ(totals.first, long{pairs} * bytes_per_pair);
  EXPECT_EQ(totals.second, totals.first);
}

}  // namespace
