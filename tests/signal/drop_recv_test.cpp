// Ported from tokio 1.24 tests/signal_drop_recv.rs.
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: drop_then_get_a_signal
KYOTO_TEST(SignalDropRecv, DropThenGetASignal) {
  const signal_kind kind = signal_kind::user_defined1();
  {
    [[maybe_unused]] auto sig = kyoto::signal::unix::signal(kind);
  }
  kyoto::test::send_signal(SIGUSR1);
  auto sig = kyoto::signal::unix::signal(kind);
  kyoto::test::send_signal(SIGUSR1);  // the first one predates this listener
  auto r = co_await sig.recv();
  EXPECT_TRUE(r.has_value());
}

}  // namespace
