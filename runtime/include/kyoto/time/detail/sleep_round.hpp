// Awaiting a caller's lvalue sleep without touching it: what select and
// timeout need from a `time::sleep_awaiter&` operand (tokio's `&mut sleep`).
//
// The caller's sleep keeps its deadline across rounds; each round awaits a
// fresh sleep_until(deadline) held here, destroyed (so unregistered) when
// the round is lost. Only the round that wins marks the caller's sleep done.
#pragma once

#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/manual_lifetime.hpp>
#include <kyoto/time/detail/coarse_clock.hpp>

#include <coroutine>
#include <utility>

namespace kyoto::detail {

/// One round of waiting for a caller's sleep. Used by one task.
class sleep_round {
 public:
  explicit sleep_round(time::sleep_awaiter& s) noexcept : sleep_(&s) {}
  /// Movable until awaited (nothing fresh exists yet).
  sleep_round(sleep_round&& o) noexcept : sleep_(o.sleep_) {}
  sleep_round(const sleep_round&) = delete;
  sleep_round& operator=(const sleep_round&) = delete;
  ~sleep_round() { cancel(); }

  /// Whether the deadline has passed, by the coarse clock: a pure check (no
  /// registration, no budget, as tokio's Sleep::is_elapsed). It never says
  /// so early; a deadline it misses is seen by suspend(), which checks the
  /// precise clock.
  bool elapsed() const noexcept {
    const time::instant d = sleep_->deadline();
    if (d == time::instant::max()) return false;
    return coarse_now() >= d;
  }
  /// Awaits a fresh sleep until the deadline; false if it is already due.
  bool suspend(std::coroutine_handle<> h) {
    time::sleep_awaiter& s = fresh_.construct(sleep_->deadline());
    waiting_ = true;
    if (s.await_ready()) return false;
    return s.await_suspend(h);
  }
  /// The round won: marks the caller's sleep done (awaiting it again
  /// completes at once).
  void resume() noexcept {
    if (waiting_) fresh_->await_resume();
    cancel();
    sleep_->await_resume();
  }
  /// The round lost (or is over): destroys the fresh sleep, which
  /// unregisters its timer.
  void cancel() noexcept {
    if (std::exchange(waiting_, false)) fresh_.destroy();
  }

 private:
  time::sleep_awaiter* sleep_;
  manual_lifetime<time::sleep_awaiter> fresh_;
  bool waiting_ = false;  ///< fresh_ holds a sleep
};

}  // namespace kyoto::detail
