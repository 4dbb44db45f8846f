// Ported from tokio 1.24 tests/signal_notify_both.rs.
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: notify_both
KYOTO_TEST(SignalNotifyBoth, NotifyBoth) {
  const signal_kind kind = signal_kind::user_defined2();
  auto signal1 = kyoto::signal::unix::signal(kind);
  auto signal2 = kyoto::signal::unix::signal(kind);
  kyoto::test::send_signal(SIGUSR2);
  auto a = co_await signal1.recv();
  auto b = co_await signal2.recv();
  EXPECT_TRUE(a.has_value());
  EXPECT_TRUE(b.has_value());
}

}  // namespace
