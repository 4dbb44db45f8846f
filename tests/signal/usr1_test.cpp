// Ported from tokio 1.24 tests/signal_usr1.rs, and the other kinds.
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: signal_usr1
KYOTO_TEST(SignalUsr1, SignalUsr1) {
  auto sig = kyoto::signal::unix::signal(signal_kind::user_defined1());
  kyoto::test::send_signal(SIGUSR1);
  auto r = co_await sig.recv();
  EXPECT_TRUE(r.has_value());
}

KYOTO_TEST(SignalUsr1, EveryNamedKind) {
  const signal_kind kinds[] = {signal_kind::terminate(),     signal_kind::interrupt(),
                               signal_kind::hangup(),        signal_kind::user_defined2(),
                               signal_kind::child(),         signal_kind::pipe(),
                               signal_kind::quit(),          signal_kind::alarm(),
                               signal_kind::window_change(), signal_kind::from_raw(SIGRTMIN + 1)};
  for (const signal_kind k : kinds) {
    auto sig = kyoto::signal::unix::signal(k);
    kyoto::test::send_signal(k.as_raw_value());
    auto r = co_await sig.recv();
    EXPECT_TRUE(r.has_value()) << k.as_raw_value();
  }
  EXPECT_EQ(signal_kind::terminate().as_raw_value(), SIGTERM);
  EXPECT_EQ(signal_kind::from_raw(SIGUSR1), signal_kind::user_defined1());
}

}  // namespace
