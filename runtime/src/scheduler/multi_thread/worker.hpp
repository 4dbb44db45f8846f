// One worker of the multi_thread scheduler: its queues, its driver, its
// loop. The protocol is described in scheduler.hpp.
#pragma once

#include "driver.hpp"
#include "metrics/counter.hpp"
#include "metrics/stats.hpp"
#include "scheduler/multi_thread/scheduler.hpp"
#include "scheduler/stall_report.hpp"

#include <kyoto/runtime/detail/fast_rand.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>

namespace kyoto::detail {

/// Laid out so that what other threads touch (the queue's indices, its
/// slots, the driver's wake-up) and what only the owner writes at every
/// tick (the LIFO slot, the countdowns, the counters) never share a cache
/// line, with each other or with a neighbouring worker: false sharing there
/// costs a cross-core transfer per task (`destructive_interference`).
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): cache-line separation, see above
struct alignas(destructive_interference) multi_thread_scheduler::worker {
  worker(multi_thread_scheduler& s, std::size_t i) : sched(s), index(i), rng(i * 2 + 1) {}

  /// The worker thread's body: runs tasks until shutdown.
  void run() noexcept;

  /// A task spawned or woken on this worker's thread (by the task it runs,
  /// or by its driver) must be queued. This worker's thread only.
  void schedule_local(task_header* task) noexcept;

  /// The handle other threads steal from this worker's queue through.
  queue_stealer make_stealer() noexcept { return run_queue.make_stealer(); }

  /// Once this worker's thread has left its loop: hands the task in its
  /// LIFO slot and every task in its queue to `f` (the last worker to leave
  /// cancels them; nobody else touches them any more).
  template <class F>
  void drain_after_exit(F&& f) noexcept {
    if (task_header* t = std::exchange(lifo_slot, nullptr)) f(t);
    while (task_header* t = run_queue.pop())
      f(t);
  }

  // ---- touched by other threads ----
  multi_thread_scheduler& sched;
  const std::size_t index;

 private:
  /// Pushed and popped by this worker only (its owner handle); other
  /// workers steal through the scheduler's stealers_.
  queue run_queue;

 public:
  /// This worker's reactor and timers; other threads wake() it, cancel its
  /// timers.
  driver drv;

  /// The poll this worker is in, for the watchdog (watchdog.hpp has the
  /// protocol; stall_report.hpp the record's fields and its begin()).
  /// Written by this worker only, read by the watchdog.
  struct poll_record : detail::poll_record {
    /// Inside kyoto::block_in_place: its timers are fired at once and the
    /// poll is no stall (see exit_blocking() for the ordering).
    atomic<bool> blocking{false};
    /// Set by the watchdog when it sees a poll last a tick or more: the
    /// worker's state tick (detail/await_point.hpp), refreshed only by its
    /// driver turns, is that old, so the worker refreshes it after the poll
    /// (run_one()) rather than stamp the next tasks' states with it. A
    /// hint: relaxed both ways, and a refresh too many costs a clock read.
    atomic<bool> stale_tick{false};

    /// After the run (hides the shared record's relaxed end(): the
    /// watchdog also reads `blocking` after it).
    void end() noexcept {
      // Release: pairs with the watchdog's acquire load of seq (tick()).
      seq.store(seq.load(std::memory_order_relaxed) + 2, std::memory_order_release);
    }
  };
  alignas(destructive_interference) poll_record watch;

  /// kyoto::block_in_place on this worker's thread (block_in_place.cpp):
  /// hands the LIFO slot and the run queue to the injection queue, wakes a
  /// worker for them, and marks the poll as blocking.
  void enter_blocking() noexcept;
  /// After the blocking section: an ordinary poll again.
  void exit_blocking() noexcept;

  // ---- this worker's thread only (and metrics() reading the counters) ----
  /// Next to run: woken by the running task.
  alignas(destructive_interference) task_header* lifo_slot = nullptr;
  /// Metrics, written by this worker only (counter.hpp).
  counter polls, steals, parks, spawned, completed;
  /// Busy time and the opt-in histograms (metrics/stats.hpp).
  worker_stats stats;
  bool searching = false;  ///< counted in idle's searchers
  /// Inside a driver poll or park: the tasks its completions and timers
  /// wake are queued without notifying anyone, and the worker notifies
  /// once afterwards if it has more than it can run (poll_driver()).
  bool in_driver = false;
  /// Ticks (tasks taken) left until the next driver poll and injection
  /// queue check: countdowns, as a modulo by a run-time interval costs a
  /// division per task.
  std::uint32_t ticks_to_event_poll = 1;
  std::uint32_t ticks_to_global_check = 1;
  /// Picks steal victims.
  fast_rand rng;
  std::thread thread;

 private:
  task_header* next_task() noexcept;
  task_header* steal_work() noexcept;
  void run_task(task_header* t) noexcept;
  void run_one(task_header* t) noexcept;
  bool transition_to_searching() noexcept;
  void transition_from_searching() noexcept;
  void park() noexcept;
  /// Hands the LIFO slot and the run queue to the injection queue and
  /// wakes a worker for them (worker 0 while the scheduler concentrates,
  /// scheduler.hpp): block_in_place, and the other workers while
  /// concentrated.
  void hand_over() noexcept;
  /// Polls the driver (never blocks); returns whether it queued work.
  bool poll_driver() noexcept;
  /// After the driver queued tasks here: wake a sleeper if we have more
  /// than the next one to run (tokio's should_notify_others).
  void notify_if_surplus() noexcept;
  bool has_local_work() const noexcept { return lifo_slot != nullptr || !run_queue.empty(); }
};

/// The worker the calling thread is, or null.
multi_thread_scheduler::worker* current_worker() noexcept;
/// Makes the calling thread (not) a worker for a while (block_in_place);
/// returns the previous value.
multi_thread_scheduler::worker* exchange_current_worker(multi_thread_scheduler::worker* w) noexcept;

}  // namespace kyoto::detail
