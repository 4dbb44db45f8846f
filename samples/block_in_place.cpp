// docs/architecture.md, "The watchdog": kyoto::block_in_place runs blocking
// code on the calling worker after handing its queued tasks over, and the
// stall detector (builder::stall_threshold) names a task that computes
// without yielding. Run with KYOTO_LOG=warn to see the stall report on
// stderr.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

/// A blocking call (a C library, a synchronous client): it holds its
/// thread for a while.
std::string blocking_lookup(int key) {
  std::this_thread::sleep_for(50ms);
  return "value-" + std::to_string(key);
}

}  // namespace

int main() {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread()
                          .worker_threads(2)
                          .stall_threshold(std::chrono::milliseconds(20))
                          .build();
  rt.block_on([]() -> kyoto::task<> {
    // A ticker keeps running beside the blocking call: the worker handed
    // its queue over, and its timers are fired meanwhile.
    auto ticker = kyoto::spawn([]() -> kyoto::task<int> {
      int ticks = 0;
      for (; ticks < 5; ++ticks)
        co_await kyoto::time::sleep(5ms);
      co_return ticks;
    });
    const std::string v = kyoto::block_in_place([] { return blocking_lookup(7); });
    const int ticks = co_await ticker;
    std::cout << "looked up " << v << "; the ticker ticked " << ticks << " times\n";

    // A task that computes for 50 ms without yielding: past the 20 ms
    // threshold, reported once (at warn level) with its name and spawn line.
    auto busy = kyoto::task_builder{}.name("checksum").spawn([]() -> kyoto::task<unsigned> {
      unsigned sum = 0;
      const auto until = std::chrono::steady_clock::now() + 50ms;
      while (std::chrono::steady_clock::now() < until)
        sum = sum * 31 + 7;
      co_return sum == 0 ? 0u : 1u;
    });
    const unsigned done = co_await busy;
    std::cout << "checksum task done: " << done << "\n";
  }());
}
