// tokio's tutorial, "Async in depth", "Notify utility": the Delay of the
// chapter written with co_await and kyoto::sync::notify instead of a
// hand-written awaiter and a waker (docs/tutorial/async-in-depth.md).
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>
#include <utility>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

kyoto::task<> delay(clock_type::duration dur) {
  const clock_type::time_point when = clock_type::now() + dur;
  auto notify = std::make_shared<kyoto::sync::notify>();
  std::shared_ptr<kyoto::sync::notify> notify_clone = notify;

  std::thread([notify_clone = std::move(notify_clone), when] {
    const clock_type::time_point now = clock_type::now();
    if (now < when) {
      std::this_thread::sleep_for(when - now);
    }
    notify_clone->notify_one();
  }).detach();

  co_await notify->notified();
}

KYOTO_MAIN() {
  const clock_type::time_point start = clock_type::now();
  co_await delay(10ms);
  std::cout << "the delay of 10 ms took " << (clock_type::now() - start >= 10ms ? "" : "LESS THAN ")
            << "10 ms or more\n";
}
