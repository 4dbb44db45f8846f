// Ported from tokio 1.24 tests/signal_twice.rs, and coalescing.
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/time.hpp>

#include <chrono>

using namespace std::chrono_literals;

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: twice
KYOTO_TEST(SignalTwice, Twice) {
  auto sig = kyoto::signal::unix::signal(signal_kind::user_defined1());
  for (int i = 0; i < 2; ++i) {
    kyoto::test::send_signal(SIGUSR1);
    auto r = co_await sig.recv();
    EXPECT_TRUE(r.has_value());
  }
}

// Deliveries a listener has not received yet coalesce: at least one recv()
// completes, and none is lost (a delivery after a recv() completes the next).
KYOTO_TEST(SignalTwice, DeliveriesCoalesceButAreNotLost) {
  auto sig = kyoto::signal::unix::signal(signal_kind::user_defined1());
  for (int i = 0; i < 5; ++i)
    kyoto::test::send_signal(SIGUSR1);
  auto r = co_await sig.recv();
  EXPECT_TRUE(r.has_value());
  co_await kyoto::time::sleep(20ms);  // let the dispatcher see all five
  while (sig.try_recv()) {
  }
  auto none = co_await kyoto::time::timeout(5ms, sig.recv());
  EXPECT_FALSE(none.has_value());
  kyoto::test::send_signal(SIGUSR1);
  auto again = co_await sig.recv();
  EXPECT_TRUE(again.has_value());
}

}  // namespace
