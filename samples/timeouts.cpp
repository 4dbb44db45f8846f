// docs/time.md: tokio's time::timeout and time::interval examples, ported.
// A timeout bounds a wait on a channel (the recv is cancelled when time
// runs out, losing nothing), and an interval drives a periodic job.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <optional>

using namespace std::chrono_literals;
namespace mpsc = kyoto::sync::mpsc;

KYOTO_MAIN() {
  auto [tx, rx] = mpsc::channel<int>(4);

  // Nothing has been sent: the wait times out, and the recv is cancelled.
  auto first = co_await kyoto::time::timeout(10ms, rx.recv());
  if (!first.has_value()) std::cout << "did not receive a value within 10 ms\n";

  // A value sent in time arrives through the same kind of wait.
  (co_await tx.send(7)).expect("the receiver is alive");
  auto second = co_await kyoto::time::timeout(1s, rx.recv());
  if (second.has_value()) {
    if (const std::optional<int>& v = *second; v) std::cout << "got " << *v << " in time\n";
  }

  // An interval's first tick completes at once; the next ones follow the
  // period (here, three ticks 10 ms apart).
  kyoto::time::interval every = kyoto::time::interval(10ms);
  const kyoto::time::instant start = co_await every.tick();
  for (int i = 1; i <= 3; ++i) {
    const kyoto::time::instant at = co_await every.tick();
    std::cout << "tick " << i << " at +" << (at - start) / 1ms << " ms (scheduled)\n";
  }
}
