// The current_thread runtime's stall detector (builder::stall_threshold):
// a thread that reports a task whose poll runs longer than the threshold,
// once per stalled poll, with the task's id, name and spawn location, as
// the multi_thread watchdog does for a worker (scheduler/stall_report.hpp
// has the record, the detection and the report they share).
//
// # What the driving thread does
//
// Around every task its block_on loop runs, it writes `poll`
// (poll_record::begin() and end(): a few plain stores, no clock read, no
// read-modify-write). block_on's root future is a task of that loop too,
// so its stall is reported as well ("spawned at kyoto::runtime::block_on":
// the root has no spawn location of its own). A nested run (a local_set's
// tasks, a stream's producer) is part of the poll it is nested in: its
// stall is reported as that task's.
//
// # Lifetime of the thread
//
// Started by the first block_on (resume()): a current_thread runtime runs
// tasks only inside block_on, so a runtime never driven (one built only to
// hand out, or to fail a check) never pays for the thread, and a runtime
// built before a fork() can be driven in the child. It ticks every
// `tick_` (a tenth of the threshold) while a block_on runs; once a
// block_on ends (suspend()) it waits on its condition variable without a
// timeout until the next block_on or the shutdown, so a runtime kept
// between block_ons costs no wake-up. The scheduler's shutdown stops and
// joins it (stop()): a notify wakes it from either wait at once, so a
// shutdown never waits for a tick.
//
// The deterministic runtime has none (its loop is its own, and its runs
// must not depend on another thread's timing); nor has a runtime built with
// a zero threshold.
//
// # Who touches what
//
// - `poll`: written by the driving thread, read by the monitor thread.
// - `lock_` guards `active_`, `sleeping_`, `stop_` and `root_id_`, which
//   resume() and suspend() (the driving thread) and stop() (the
//   shutting-down thread) write; the monitor thread copies what it needs
//   under the lock at each tick.
// - The sample (`seen_`, `since_`, `reported_`): the monitor thread only.
#pragma once

#include "scheduler/stall_report.hpp"

#include <kyoto/runtime/detail/config.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace kyoto::detail {

/// A current_thread runtime's stall detector and its thread (file comment).
/// Thread safety: `poll` and resume()/suspend() from the driving thread;
/// stop() from any thread but the monitor's.
class stall_monitor {
 public:
  using clock = std::chrono::steady_clock;

  /// `threshold` is positive (a zero threshold makes no monitor).
  explicit stall_monitor(std::chrono::milliseconds threshold) noexcept;
  ~stall_monitor();
  stall_monitor(const stall_monitor&) = delete;
  stall_monitor& operator=(const stall_monitor&) = delete;

  /// A block_on begins on the driving thread, whose root task has id
  /// `root_id`: starts the thread the first time, else has it tick again.
  /// No-op once stopped. Throws std::system_error if the thread cannot be
  /// created.
  void resume(std::uint64_t root_id);
  /// That block_on ends (no poll runs): the thread waits, without ticking,
  /// for the next resume() or stop().
  void suspend() noexcept;
  /// Stops and joins the thread (shutdown); idempotent, any thread but the
  /// monitor's.
  void stop() noexcept;

  /// resume() for the scope of a block_on's loop, suspend() at its end;
  /// nothing for a null monitor (a zero threshold).
  class drive_scope {
   public:
    drive_scope(stall_monitor* m, std::uint64_t root_id) : m_(m) {
      if (m_ != nullptr) m_->resume(root_id);
    }
    ~drive_scope() {
      if (m_ != nullptr) m_->suspend();
    }
    drive_scope(const drive_scope&) = delete;
    drive_scope& operator=(const drive_scope&) = delete;

   private:
    stall_monitor* m_;
  };

  /// The driving thread's current poll (stall_report.hpp); on its own cache
  /// line, which the monitor reads once a tick.
  alignas(destructive_interference) poll_record poll;

 private:
  void run() noexcept;
  /// One sample of `poll` at `now`; reports it once it has run past the
  /// threshold.
  void check(clock::time_point now, std::uint64_t root_id) noexcept;

  const std::chrono::milliseconds threshold_;
  /// How often the thread samples `poll` while a block_on runs: a tenth of
  /// the threshold (at least 1 ms), so a report comes at most ~1.2
  /// thresholds into a stall and understates it by a tick at most.
  const clock::duration tick_;

  // ---- the monitor thread only ----
  std::uint64_t seen_ = 0;      ///< poll.seq at the last tick
  clock::time_point since_;     ///< when seen_ was first seen
  std::uint64_t reported_ = 1;  ///< the seq last reported (never a running one at first)

  alignas(destructive_interference) std::mutex lock_;
  std::condition_variable changed_;  ///< active_ or stop_ changed
  bool active_ = false;              ///< a block_on runs; guarded by lock_
  bool sleeping_ = false;            ///< in the untimed wait; guarded by lock_
  bool stop_ = false;                ///< never unset once set; guarded by lock_
  std::uint64_t root_id_ = 0;        ///< the running block_on's root; guarded by lock_
  std::thread thread_;               ///< started and taken under lock_
};

}  // namespace kyoto::detail
