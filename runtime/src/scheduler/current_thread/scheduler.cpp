// The protocol (queues, paused time) is described in scheduler.hpp, the
// rest in scheduler/single_thread.hpp.
#include "scheduler/current_thread/scheduler.hpp"

#include "io/uring_support.hpp"

#include <kyoto/runtime/detail/task_header.hpp>

#include <memory>
#include <stdexcept>

namespace kyoto::detail {

current_thread_scheduler::current_thread_scheduler(const blocking_config& blocking,
                                                   const current_thread_config& config)
    : single_thread_scheduler("current_thread", config.start_paused, config.rng_seed),
      blocking_(std::make_shared<kyoto::detail::blocking_pool>(blocking)) {
  // The ring is made by the first block_on's thread (it owns it); a
  // refusal must surface here, in build() (io/uring_support.hpp).
  check_io_uring_available(config.io_backend);
  driver_.prefer_backend(config.io_backend);
  if (config.stall_threshold.count() < 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: stall_threshold must not be negative (zero turns the "
        "stall reports off)");
  }
  // Its thread starts at the first block_on (stall_monitor.hpp).
  if (config.stall_threshold.count() > 0) {
    stall_monitor_ = std::make_unique<stall_monitor>(config.stall_threshold);
  }
  stats_.configure(config.metrics);
  if (config.metrics.schedule_latency) latency_ = std::make_unique<latency_sampler>();
}

current_thread_scheduler::~current_thread_scheduler() {
  shutdown();
}

task_header* current_thread_scheduler::next_task() noexcept {
  if (++tick_ % global_interval == 0) drain_inject();
  if (task_header* t = local_.pop_front()) return t;
  if (drain_inject()) return local_.pop_front();
  return nullptr;
}

void current_thread_scheduler::park() {
  park_with([this] {
    // The one test paused time adds to the park path (well predicted).
    if (driver_.time_paused()) [[unlikely]] {
      park_paused();
    } else {
      driver_.park();
    }
  });
}

void current_thread_scheduler::park_paused() {
  driver_.poll();
  if (!local_.empty() || !inject_.empty()) return;  // something to run: no jump
  if (!driver_.advance_to_next_timer()) driver_.park();
}

void current_thread_scheduler::block_on(task_header* root) {
  block_on_scope scope(*this);
  const busy_scope busy(stats_);  // metrics: driving, except while parked
  // The stall monitor ticks while this loop runs; each poll, the root's
  // included, is published in its record (stall_monitor.hpp).
  const stall_monitor::drive_scope monitored(stall_monitor_.get(), root->id());
  poll_record* const watch = stall_monitor_ ? &stall_monitor_->poll : nullptr;
  while (!root->is_complete()) {
    for (std::uint32_t i = 0; i < event_interval; ++i) {
      task_header* t = next_task();
      if (t == nullptr) break;
      polls_.bump();
      if (watch != nullptr) watch->begin(*t);
      bool again;
      if (stats_.timed()) [[unlikely]] {
        again = stats_.run_timed(t, latency_.get(), [t] { return t->run(); });
      } else {
        again = t->run();
      }
      if (watch != nullptr) watch->end();
      if (again) local_.push_back(t);
      if (root->is_complete()) return;
    }
    // Relaxed: a metric's snapshot.
    local_depth_.store(local_.size(), std::memory_order_relaxed);
    if (local_.empty() && inject_.size() == 0) {
      parks_.bump();
      const busy_pause not_busy(stats_);  // metrics: parked time is not busy
      park();
    } else {
      driver_.poll();
    }
  }
}

}  // namespace kyoto::detail
