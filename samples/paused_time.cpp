// docs/testing.md: paused time. A rate limiter lets one request through per
// second; checking that for real would take seconds. On a runtime built
// with start_paused(true) the clock stands still while tasks run and jumps
// to the next timer when they all wait, so the same code runs in
// microseconds and its timing is exact, run after run.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace mpsc = kyoto::sync::mpsc;

namespace {

/// Serves the requests `rx` brings at most one per `period`.
kyoto::task<std::vector<kyoto::time::instant>> rate_limited(mpsc::receiver<int> rx,
                                                            std::chrono::milliseconds period) {
  std::vector<kyoto::time::instant> served;
  kyoto::time::interval limit(period);
  limit.set_missed_tick_behavior(kyoto::time::missed_tick_behavior::delay);
  while (auto request = co_await rx.recv()) {
    co_await limit.tick();
    served.push_back(kyoto::time::clock::now());
  }
  co_return served;
}

}  // namespace

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread().start_paused(true)) {
  const kyoto::time::instant start = kyoto::time::clock::now();
  auto [tx, rx] = mpsc::channel<int>(16);
  auto server = kyoto::spawn(rate_limited, std::move(rx), 1000ms);

  {
    // A burst of five requests at once: the limiter spreads them out. The
    // sender is dropped at the end of this block, so the server ends after
    // the last request.
    mpsc::sender<int> client = std::move(tx);
    for (int i = 0; i < 5; ++i)
      (co_await client.send(i)).expect("the server is alive");
  }
  for (kyoto::time::instant t : co_await server) {
    std::cout << "served at +" << (t - start) / 1ms << " ms\n";
  }

  // advance() moves the paused clock by hand and runs what it woke.
  auto sleeper = kyoto::spawn([]() -> kyoto::task<> { co_await kyoto::time::sleep(1h); });
  co_await kyoto::yield_now();  // the sleeper starts its hour
  co_await kyoto::time::advance(59min);
  std::cout << "after 59 min: " << (sleeper.is_finished() ? "awake" : "asleep") << '\n';
  co_await kyoto::time::advance(1min);
  std::cout << "after 60 min: " << (sleeper.is_finished() ? "awake" : "asleep") << '\n';
  co_await sleeper;
}
