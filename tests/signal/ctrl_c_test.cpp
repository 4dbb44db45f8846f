// Ported from tokio 1.24 tests/signal_ctrl_c.rs (its own process: a signal
// reaches the whole process).
#include "send_signal.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/sync/oneshot.hpp>

namespace {

// tokio: ctrl_c
KYOTO_TEST(SignalCtrlC, CompletesOnSigint) {
  kyoto::task<> ctrl_c = kyoto::signal::ctrl_c();
  auto [fire, wait] = kyoto::sync::oneshot::channel<int>();
  auto sender = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<int> w) -> kyoto::task<> {
        (void)co_await w;
        kyoto::test::send_signal(SIGINT);
      },
      std::move(wait));
  (void)fire.send(1);
  co_await std::move(ctrl_c);
  co_await sender;
}

}  // namespace
