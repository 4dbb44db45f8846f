// The README's example: spawn, a channel, sleep and join.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

kyoto::task<int> slow_square(int x) {
  co_await kyoto::time::sleep(10ms);
  co_return (x * x);
}

KYOTO_MAIN() {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(16);
  kyoto::spawn(
      [](kyoto::sync::mpsc::sender<int> out) -> kyoto::task<> {
        for (int i = 1; i <= 3; ++i) {
          const int square = co_await slow_square(i);
          (co_await out.send(square)).expect("receiver alive");
        }
      },
      std::move(tx));
  while (std::optional<int> v = co_await rx.recv())
    std::cout << "got " << *v << '\n';
  auto [a, b] = co_await kyoto::join(slow_square(4), slow_square(5));  // concurrently
  std::cout << "4² + 5² = " << a + b << '\n';
}
