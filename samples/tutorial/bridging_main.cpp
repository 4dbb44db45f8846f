// tokio's topic "Bridging with sync code": what KYOTO_MAIN expands to, and
// "Spawning things on a runtime" from a plain main
// (docs/tutorial/bridging.md).
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

kyoto::task<> my_bg_task(std::uint64_t i) {
  // By subtracting, the tasks with larger values of i sleep for a
  // shorter duration.
  const std::uint64_t millis = 1000 - 50 * i;
  std::cout
      << (std::ostringstream() << "Task " << i << " sleeping for " << millis << " ms.\n").str()
      << std::flush;

  co_await kyoto::time::sleep(std::chrono::milliseconds(millis));

  std::cout << (std::ostringstream() << "Task " << i << " stopping.\n").str() << std::flush;
}

int main() {
  // KYOTO_MAIN() { ... } is this: a multi_thread runtime, and block_on.
  kyoto::runtime::builder::multi_thread().enable_all().build().block_on([]() -> kyoto::task<> {
    std::cout << "Hello world\n";
    co_return;
  }());

  // Spawning things on a runtime
  kyoto::runtime runtime =
      kyoto::runtime::builder::multi_thread().worker_threads(1).enable_all().build();

  std::vector<kyoto::join_handle<void>> handles;
  handles.reserve(10);
  for (std::uint64_t i = 0; i < 10; ++i)
    handles.push_back(runtime.spawn(my_bg_task(i)));

  // Do something time-consuming while the background tasks execute.
  std::this_thread::sleep_for(750ms);
  std::cout << "Finished time-consuming task.\n" << std::flush;

  // Wait for all of them to complete.
  for (kyoto::join_handle<void>& handle : handles) {
    // The `spawn` method returns a `join_handle`. A `join_handle` is
    // awaitable, so we can wait for it using `block_on`.
    runtime.block_on(std::move(handle));
  }
}
