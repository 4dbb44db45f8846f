// Ported from tokio 1.24 tests/signal_drop_rt.rs: a runtime that had a
// listener is dropped; another runtime's listener still gets deliveries.
#include "send_signal.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace {

using kyoto::signal::unix::signal_kind;

kyoto::runtime rt() {
  return kyoto::runtime::builder::current_thread().enable_all().build();
}

// tokio: dropping_loops_does_not_cause_starvation
TEST(SignalDropRt, DroppingLoopsDoesNotCauseStarvation) {
  const signal_kind kind = signal_kind::user_defined1();
  std::optional<kyoto::runtime> first_rt(rt());
  // tokio makes them inside block_on (its signals need a runtime); kyoto's
  // do not, which changes nothing here.
  std::optional<kyoto::signal::unix::signal_listener> first_signal(
      kyoto::signal::unix::signal(kind));
  kyoto::runtime second_rt = rt();
  auto second_signal = kyoto::signal::unix::signal(kind);

  kyoto::test::send_signal(SIGUSR1);
  EXPECT_TRUE(first_rt->block_on(first_signal->recv()).has_value());
  first_rt.reset();
  first_signal.reset();

  kyoto::test::send_signal(SIGUSR1);
  EXPECT_TRUE(second_rt.block_on(second_signal.recv()).has_value());
}

}  // namespace
