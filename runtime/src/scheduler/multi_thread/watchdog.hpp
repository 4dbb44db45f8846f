// The multi_thread scheduler's watchdog: one thread that looks at every
// worker once a millisecond while the runtime is busy, and does two things
// for a worker stuck in one task (a poll that does not return):
//
// 1. It fires that worker's due timers (no stranded timers). A worker owns
//    its timer wheel and fires it only between tasks, so a task computing
//    for a second used to delay every timer registered on its worker by a
//    second, though the other workers were idle. The wheel is under its
//    driver's lock (driver.hpp), so the watchdog fires it as the owner
//    would; the woken tasks are foreign wakes (the watchdog is no worker):
//    they go to the injection queue and wake a parked worker, which runs
//    them. A timer thus fires at most ~1 ms late (one watchdog tick)
//    behind a busy worker instead of a whole task's run late.
//    Its I/O likewise (driver::rescue_io()): the watchdog reaps what the
//    worker's ring has posted and signals the worker to post the rest
//    (driver.hpp, "Assists"), so a completion behind a busy worker is
//    delivered about two ticks late at most.
//    And it wakes a sleeper if any queue holds work
//    (notify_if_work_pending()): tasks queued behind the stuck one, or
//    handed to a stuck worker 0 while the scheduler concentrated
//    (scheduler.hpp; the poll's `stale_tick`, set first, ends that).
// 2. It reports a stall (builder::stall_threshold, 100 ms by default):
//    once per poll that has lasted longer, at warn level, naming the
//    worker, the task's id, name and spawn location.
//
// # What a worker publishes (worker::poll_record, a seqlock)
//
// Around every task it runs, a worker writes its own poll record: the
// task's id, spawn location and name, under a sequence number `seq` that is
// ≡ 2 (mod 4) while the task runs. The record's fields, the seqlock's write
// side (worker.cpp) and read side (read_poll()) and the report's wording
// (log_stall()) are those of the stall detector's shared record,
// scheduler/stall_report.hpp, which the current_thread runtime's stall
// monitor uses too.
//
// A worker inside kyoto::block_in_place sets `blocking` (relaxed; read at
// the next tick): its timers are fired at once and its poll is no stall.
//
// A poll seen lasting a tick also sets the record's `stale_tick` (the only
// field the watchdog writes): the worker's state tick, which its driver
// turns refresh, is then old, and the worker refreshes it when the poll
// ends (task dumps' time in state, detail/await_point.hpp).
//
// # Ticks
//
// The watchdog waits on a condition variable: 1 ms while some worker ran a
// task since the last tick (that is the rescue latency), `idle_tick` once
// every worker was idle at the last tick. It samples each worker's `seq`;
// the same running value at two ticks means the poll has lasted at least a
// tick, and the watchdog fires that worker's due timers. The first tick
// that saw a value timestamps it; a running value seen for longer than the
// threshold is reported, once (the record remembers the reported seq).
//
// Stopped (and joined) by the scheduler's shutdown before the workers are,
// so it never touches a closed driver.
#pragma once

#include <kyoto/runtime/detail/config.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kyoto::detail {

class multi_thread_scheduler;

class watchdog {
 public:
  using clock = std::chrono::steady_clock;
  /// The tick while the runtime is busy: how late a timer behind a busy
  /// worker may fire.
  static constexpr std::chrono::milliseconds busy_tick{1};
  /// The tick once every worker was idle at the last one.
  static constexpr std::chrono::milliseconds idle_tick{10};

  /// `stall_threshold` zero: no stall reports (timers are still fired).
  watchdog(multi_thread_scheduler& sched, std::chrono::milliseconds stall_threshold);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Starts the thread. Throws std::system_error if it cannot be created.
  void start();
  /// Stops and joins the thread; idempotent.
  void stop() noexcept;

 private:
  /// What the watchdog remembers of one worker between ticks.
  struct sample {
    std::uint64_t seq = 0;       ///< the worker's seq at the last tick
    clock::time_point since;     ///< when that seq was first seen
    std::uint64_t reported = 1;  ///< the seq last reported (never a running one at first)
  };

  void run() noexcept;
  /// One look at every worker; whether any ran a task since the last.
  bool tick(clock::time_point now) noexcept;
  void report(std::size_t worker, std::uint64_t seq, clock::duration ran) noexcept;

  multi_thread_scheduler& sched_;
  const std::chrono::milliseconds threshold_;
  std::vector<sample> samples_;  ///< the watchdog thread's only
  std::mutex lock_;
  std::condition_variable stop_requested_;
  bool stop_ = false;  ///< guarded by lock_
  std::thread thread_;
};

}  // namespace kyoto::detail
