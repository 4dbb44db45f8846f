// Ported from tokio 1.24 tests/signal_drop_signal.rs, and a listener
// dropped while a recv() waits.
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/time.hpp>

#include <chrono>
#include <optional>

using namespace std::chrono_literals;

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: dropping_signal_does_not_deregister_any_other_instances
KYOTO_TEST(SignalDropSignal, DroppingSignalDoesNotDeregisterAnyOtherInstances) {
  const signal_kind kind = signal_kind::user_defined1();
  std::optional<kyoto::signal::unix::signal_listener> first = kyoto::signal::unix::signal(kind);
  auto sig = kyoto::signal::unix::signal(kind);
  std::optional<kyoto::signal::unix::signal_listener> second = kyoto::signal::unix::signal(kind);
  first.reset();
  second.reset();
  kyoto::test::send_signal(SIGUSR1);
  auto r = co_await sig.recv();
  EXPECT_TRUE(r.has_value());
}

// A recv() cancelled while it waits unlinks from the wait list; the
// listener and the others keep working.
KYOTO_TEST(SignalDropSignal, RecvCancelledWhileWaitingUnlinks) {
  auto a = kyoto::signal::unix::signal(signal_kind::user_defined2());
  {
    std::optional<kyoto::signal::unix::signal_listener> b =
        kyoto::signal::unix::signal(signal_kind::user_defined2());
    auto r = co_await kyoto::time::timeout(5ms, b->recv());
    EXPECT_FALSE(r.has_value());
  }
  auto r2 = co_await kyoto::time::timeout(5ms, a.recv());
  EXPECT_FALSE(r2.has_value());
  kyoto::test::send_signal(SIGUSR2);
  auto r3 = co_await a.recv();
  EXPECT_TRUE(r3.has_value());
}

}  // namespace
