// The current_thread scheduler: every task runs on the thread that calls
// block_on, which parks in the runtime's io_uring ring when nothing is
// ready (tokio's runtime/scheduler/current_thread).
//
// # Queues
//
// - `local_`: FIFO run queue, touched only by the driving thread.
// - `inject_`: the injection queue (scheduler/inject.hpp), for spawns and
//   wakes from other threads; the driving thread moves it into `local_`
//   every `global_interval` ticks, and whenever `local_` runs dry.
// - `owned_`: every task that has gone idle at least once (driving thread
//   only); a task that never suspended is always in a queue or running.
//
// # Parking (Dekker, all four accesses seq_cst)
//
//   driver thread                       waking thread
//   parked_ = true                      inject_ length += 1 (under its lock)
//   if inject_.empty(): park            if parked_: clear it, write eventfd
//
// In the single total order of seq_cst operations, either the waker's
// increment comes first (the driver sees it and does not park) or the
// driver's store does (the waker sees parked_ and writes the eventfd, whose
// armed read completes the park). A wake is never lost; a stray eventfd
// write only makes the next park return early.
//
// # Shutdown
//
// shutdown() runs on the destroying thread with this scheduler as its
// context: close `inject_` (later spawns are cancelled on the spot, later
// wakes dropped), drop both queues (a task there that never went idle is
// cancelled there), then cancel every task left in `owned_`. Their
// destructors may wake or spawn; those are dropped or cancelled the same way.
//
// # Paused time (auto-advance)
//
// With the driver's clock paused (time::pause), park() first polls the
// driver without blocking; if that made no task runnable, it moves the
// clock to the next timer and fires it instead of sleeping until it
// (tokio's park_thread_timeout under test-util). I/O in flight does not
// hold the clock back (tokio's rule too): only a task made runnable does.
// No timer set: it parks for real, until I/O or a wake.
#pragma once

#include "blocking/pool.hpp"
#include "driver.hpp"
#include "metrics/stats.hpp"
#include "scheduler/inject.hpp"
#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/counter.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace kyoto::detail {

/// A current_thread runtime's settings besides its blocking pool's.
struct current_thread_config {
  bool start_paused = false;              ///< builder::start_paused
  std::optional<std::uint64_t> rng_seed;  ///< builder::rng_seed
  metrics_options metrics;                ///< builder's metrics histograms
};

class current_thread_scheduler final : public scheduler {
 public:
  /// Ticks between checks of the inject queue (tokio: 31).
  static constexpr std::uint32_t global_interval = 31;
  /// Tasks run between polls of the driver when busy (tokio: 61).
  static constexpr std::uint32_t event_interval = 61;

  explicit current_thread_scheduler(const blocking_config& blocking,
                                    const current_thread_config& config = {});
  ~current_thread_scheduler() override;
  scheduler& blocking_pool() noexcept override { return *blocking_; }

  void spawn(task_header* task) noexcept override;
  void schedule(task_header* task) noexcept override;
  void track(task_header* task) noexcept override;
  void release(task_header* task) noexcept override;
  void begin_block_on() override;
  void block_on(task_header* root) override;
  void end_block_on() noexcept override;
  void shutdown() noexcept override;
  runtime_metrics metrics() const override;
  bool runs_tasks_on_one_thread() const noexcept override { return true; }

 private:
  bool on_driver_thread() const noexcept { return current_context.sched == this; }
  bool push_remote(task_header* task) noexcept;  // inject + unpark; false if closed
  bool drain_inject() noexcept { return inject_.take_all(local_); }  // whether any
  task_header* next_task() noexcept;
  void park();
  void park_paused();  // park() with the clock paused: auto-advance

  /// spawn_blocking's threads (shut down by the runtime, after us).
  std::shared_ptr<kyoto::detail::blocking_pool> blocking_;

  // ---- driving thread only ----
  driver driver_;
  task_queue local_;
  owned_tasks owned_;
  std::uint32_t tick_ = 0;
  /// builder::rng_seed; each block_on seeds the thread's generator with
  /// derive_seed(*rng_seed_, block_ons_++) (fast_rand.hpp).
  std::optional<std::uint64_t> rng_seed_;
  std::uint64_t block_ons_ = 0;
  bool closing_ = false;  ///< shutdown() has started

  // ---- metrics: written by the driving thread (counter.hpp) ----
  counter polls_, parks_, spawned_, completed_;
  /// local_.size() as of the last tick, for readers on other threads.
  atomic<std::size_t> local_depth_{0};
  /// Spawns and completions made off the driving thread (relaxed RMWs).
  atomic<std::uint64_t> remote_spawned_{0};
  atomic<std::uint64_t> remote_completed_{0};
  /// Busy time and the opt-in histograms (metrics/stats.hpp).
  worker_stats stats_;
  /// The schedule-latency sample slot; null unless enabled.
  std::unique_ptr<latency_sampler> latency_;

  // ---- shared ----
  /// Spawns and wakes from other threads; closed by shutdown().
  inject inject_;
  /// The driver is parked or about to park. Set by the driver, cleared by
  /// the driver and by the first waker that sees it (park's Dekker).
  atomic<bool> parked_{false};
  /// A thread is in block_on. Set by begin_block_on() (exchange: one
  /// winner), cleared by end_block_on(); acquire/release order one
  /// driving thread's work before the next's.
  atomic<bool> driving_{false};
};

}  // namespace kyoto::detail
