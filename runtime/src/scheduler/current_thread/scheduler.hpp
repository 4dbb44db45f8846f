// The current_thread scheduler: every task runs on the thread that calls
// block_on, which parks in the runtime's io_uring ring when nothing is
// ready (tokio's runtime/scheduler/current_thread). Spawn and wake routing,
// the park Dekker, shutdown and the metrics are the one-thread core's
// (scheduler/single_thread.hpp); this file is the FIFO run queue and its
// loop.
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
// # Paused time (auto-advance)
//
// With the driver's clock paused (time::pause), park() first polls the
// driver without blocking; if that made no task runnable, it moves the
// clock to the next timer and fires it instead of sleeping until it
// (tokio's park_thread_timeout under test-util). I/O in flight does not
// hold the clock back (tokio's rule too): only a task made runnable does.
// No timer set: it parks for real, until I/O or a wake.
//
// # Stalls
//
// With a non-zero stall threshold, the loop publishes each task it runs in
// the stall monitor's poll record (stall_monitor.hpp), whose thread reports
// a poll that runs past the threshold. Real time: paused time never
// advances it, and the clock jumps of auto-advance happen between polls.
#pragma once

#include "blocking/pool.hpp"
#include "scheduler/single_thread.hpp"
#include "scheduler/task_list.hpp"

#include <chrono>
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
  /// builder::stall_threshold: a poll longer than this is reported
  /// (stall_monitor.hpp); zero turns the reports, and the thread, off.
  std::chrono::milliseconds stall_threshold{100};
  kyoto::io_backend io_backend = kyoto::io_backend::automatic;  ///< builder::io_backend
};

class current_thread_scheduler final : public single_thread_scheduler<current_thread_scheduler> {
 public:
  /// Ticks between checks of the inject queue (tokio: 31).
  static constexpr std::uint32_t global_interval = 31;
  /// Tasks run between polls of the driver when busy (tokio: 61).
  static constexpr std::uint32_t event_interval = 61;

  explicit current_thread_scheduler(const blocking_config& blocking,
                                    const current_thread_config& config = {});
  ~current_thread_scheduler() override;
  scheduler& blocking_pool() noexcept override { return *blocking_; }
  void block_on(task_header* root) override;

 private:
  friend single_thread_scheduler<current_thread_scheduler>;

  // ---- the core's calls (single_thread.hpp) ----
  void enqueue_local(task_header* task) noexcept { local_.push_back(task); }
  void take_local(task_queue& into) noexcept { into.append(local_); }
  void forget(task_header*) noexcept {}
  std::size_t blocking_threads() const { return blocking_->threads(); }

  bool drain_inject() noexcept { return inject_.take_all(local_); }  // whether any
  task_header* next_task() noexcept;
  void park();
  void park_paused();  // park() with the clock paused: auto-advance

  /// spawn_blocking's threads (shut down by the runtime, after us).
  std::shared_ptr<kyoto::detail::blocking_pool> blocking_;

  // ---- driving thread only ----
  task_queue local_;
  std::uint32_t tick_ = 0;
};

}  // namespace kyoto::detail
