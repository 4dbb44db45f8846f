// tokio 1.24 tests/signal_no_rt.rs panics when a signal is made outside a
// runtime; kyoto's dispatcher belongs to no runtime, so signal() works
// there and the listener is awaited later in any runtime.
#include "send_signal.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

#include <gtest/gtest.h>

namespace {

using kyoto::signal::unix::signal_kind;

// tokio: no_runtime_panics_creating_signals (kyoto: allowed)
TEST(SignalNoRt, SignalMadeOutsideARuntimeIsUsableInOne) {
  auto sig = kyoto::signal::unix::signal(signal_kind::hangup());
  kyoto::test::send_signal(SIGHUP);
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  EXPECT_TRUE(rt.block_on(sig.recv()).has_value());
}

}  // namespace
