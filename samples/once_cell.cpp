// A value computed once, lazily, by whichever task asks first (tokio's
// OnceCell docs: a global initialised by an async function).
#include <kyoto/kyoto.hpp>

#include <atomic>
#include <iostream>
#include <vector>

std::atomic<int> computations{0};

kyoto::task<int> some_computation() {
  ++computations;
  co_await kyoto::yield_now();  // pretend to do I/O
  co_return 1 + 1;
}

kyoto::sync::once_cell<int> ONCE;

KYOTO_MAIN() {
  std::vector<kyoto::join_handle<int>> askers;
  askers.reserve(8);
  for (int i = 0; i < 8; ++i) {
    askers.push_back(kyoto::spawn(
        []() -> kyoto::task<int> { co_return co_await ONCE.get_or_init(some_computation); }));
  }
  int sum = 0;
  for (auto& a : askers)
    sum += co_await a;
  std::cout << "8 tasks got " << sum / 8 << " each; computed " << computations << " time(s)\n";
  std::cout << "set again: " << ONCE.set(3).error().what() << '\n';
}
