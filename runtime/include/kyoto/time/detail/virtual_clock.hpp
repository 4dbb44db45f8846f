// A runtime's clock once its time has been paused (tokio's test-util
// Clock), and the thread-local pointer through which time::clock::now()
// finds it.
//
// A current_thread runtime's driver owns one virtual_clock. Until the first
// time::pause() (or builder::start_paused) nothing points at it and
// time::clock::now() reads std::chrono::steady_clock: the only cost is the
// null check of `shifted_clock`. From then on the driving thread's
// `shifted_clock` points at it while it drives the runtime (block_on), and
// now() is
//
//   paused:  base_                                 (frozen)
//   running: base_ + (steady_clock::now() - unfrozen_)
//
// so resume() lets time move on from where advance() left it instead of
// jumping back (tokio's test_clock.rs).
//
// Threads: touched only by the thread that drives the runtime (pause,
// resume and advance are called from its tasks, the auto-advance from its
// park), so nothing here is atomic.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <chrono>

namespace kyoto::detail {

/// A clock that can be frozen and moved by hand. Driving thread only.
class virtual_clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  /// A clock that reads `start` now, frozen there if `paused`
  /// (builder::start_paused: exactly `start`, so a test's first deadlines
  /// fall on whole ticks of the driver).
  virtual_clock(time_point start, bool paused) noexcept
      : base_(start), unfrozen_(start), paused_(paused), shifted_(paused) {}

  /// The virtual now.
  time_point now() const noexcept {
    if (paused_) return base_;
    return base_ + (std::chrono::steady_clock::now() - unfrozen_);
  }
  /// Whether the clock is frozen.
  bool paused() const noexcept { return paused_; }
  /// Whether the clock was ever paused (then it may read other than the
  /// steady clock, and time::clock::now() must come here).
  bool shifted() const noexcept { return shifted_; }

  /// Freezes the clock at the current virtual now (precondition: running).
  void pause() noexcept {
    base_ = now();
    paused_ = true;
    shifted_ = true;
  }
  /// Lets the clock run again from its current reading (precondition:
  /// paused).
  void resume() noexcept {
    unfrozen_ = std::chrono::steady_clock::now();
    paused_ = false;
  }
  /// Moves a frozen clock forward by `d` (>= 0).
  void advance(duration d) noexcept { base_ += d; }
  /// Moves a frozen clock forward to `t` if `t` is later.
  void advance_to(time_point t) noexcept {
    if (t > base_) base_ = t;
  }

 private:
  time_point base_;      ///< the reading when frozen; the offset base when running
  time_point unfrozen_;  ///< steady_clock's reading at the last resume (running)
  bool paused_ = false;
  bool shifted_ = false;  ///< ever paused; never unset
};

/// The clock of the runtime this thread is driving, if that runtime's time
/// was ever paused; null otherwise, and on every thread that drives no
/// current_thread runtime. Set by the current_thread scheduler's block_on
/// (restored when it returns) and by time::pause().
KYOTO_EXPORT inline thread_local constinit const virtual_clock* shifted_clock = nullptr;

}  // namespace kyoto::detail
