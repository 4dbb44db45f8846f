// Broadcast: every subscriber sees every value (the two examples of tokio's
// sync::broadcast documentation, "Basic usage" and "Handling lag").
#include <kyoto/kyoto.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <utility>

namespace broadcast = kyoto::sync::broadcast;

// Receives two values and reports them (each task gets its own copies).
kyoto::task<std::string> two_values(std::string name, broadcast::receiver<int> rx) {
  const int first = (co_await rx.recv()).expect("first value");
  const int second = (co_await rx.recv()).expect("second value");
  co_return name + " got " + std::to_string(first) + " and " + std::to_string(second);
}

// A receiver that fell behind: value, lagged and closed in one loop.
kyoto::task<> slow_reader(broadcast::receiver<int> rx) {
  for (;;) {
    auto r = co_await rx.recv();
    if (r) {
      std::cout << "slow reader got " << *r << '\n';
    } else if (r.error().is_lagged()) {
      std::cout << "slow reader lagged: " << r.error().skipped() << " value(s) skipped\n";
    } else {
      std::cout << "slow reader: channel closed\n";
      co_return;
    }
  }
}

KYOTO_MAIN() {
  // Basic usage: two subscribers, two values.
  {
    auto [tx, rx1] = broadcast::channel<int>(16);
    auto rx2 = tx.subscribe();

    auto a = kyoto::spawn(two_values("rx1", std::move(rx1)));
    auto b = kyoto::spawn(two_values("rx2", std::move(rx2)));

    const std::size_t receivers = tx.send(10).expect("receivers alive");
    tx.send(20).expect("receivers alive");
    std::cout << "sent 10 and 20 to " << receivers << " receivers\n";

    std::cout << co_await a << '\n';
    std::cout << co_await b << '\n';
  }

  // Handling lag: a channel holding 2 values, 3 sent before anyone reads.
  {
    auto [tx, rx] = broadcast::channel<int>(2);
    tx.send(10).value();
    tx.send(20).value();
    tx.send(30).value();
    {
      auto last = std::move(tx);
    }  // every sender gone: the reader ends with "closed"
    co_await slow_reader(std::move(rx));
  }
}
