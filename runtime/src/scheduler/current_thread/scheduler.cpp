// The protocol (queues, parking, shutdown) is described in scheduler.hpp.
#include "scheduler/current_thread/scheduler.hpp"

#include "io/uring_support.hpp"
#include "log.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <exception>
#include <stdexcept>

namespace kyoto::detail {

current_thread_scheduler::current_thread_scheduler(const blocking_config& blocking,
                                                   const current_thread_config& config)
    : blocking_(std::make_shared<kyoto::detail::blocking_pool>(blocking)),
      driver_(config.start_paused),
      rng_seed_(config.rng_seed) {
  // The ring is made by the first block_on's thread (it owns it); a
  // refusal must surface here, in build() (io/uring_support.hpp).
  check_io_uring_available();
  stats_.configure(config.metrics);
  if (config.metrics.schedule_latency) latency_ = std::make_unique<latency_sampler>();
}

current_thread_scheduler::~current_thread_scheduler() {
  shutdown();
}

void current_thread_scheduler::spawn(task_header* task) noexcept {
  if (on_driver_thread()) {
    spawned_.bump();
    if (closing_) {
      task->shutdown();
      return;
    }
    local_.push_back(task);
    return;
  }
  // Relaxed: a metric.
  remote_spawned_.fetch_add(1, std::memory_order_relaxed);
  // A new task the closed runtime will never run: cancel it here.
  if (!push_remote(task)) task->shutdown();
}

void current_thread_scheduler::schedule(task_header* task) noexcept {
  if (latency_ != nullptr) [[unlikely]]
    latency_->on_schedule(task);  // metrics: a sampled wake (metrics/stats.hpp)
  if (on_driver_thread()) {
    // While closing, the wake is dropped: shutdown() cancels every live task.
    if (!closing_) local_.push_back(task);
    return;
  }
  // Refused only once closed; shutdown() cancels the task through owned_.
  push_remote(task);
}

bool current_thread_scheduler::push_remote(task_header* task) noexcept {
  // The eventfd write happens under the lock too: once the driving thread
  // can take the task (it needs this lock to drain), the task may run,
  // finish, and let the runtime be destroyed; we must be done with the
  // scheduler by then. The destructor takes this lock first (shutdown()).
  // push() increments the length (seq_cst, the waker's half of park()'s
  // Dekker, see scheduler.hpp) before calling this under its lock.
  return inject_.push(task, [this] {
    // Seq_cst: the waker's second half of the Dekker; the exchange makes
    // only one waker pay for the eventfd write.
    if (parked_.load(std::memory_order_seq_cst) &&
        parked_.exchange(false, std::memory_order_seq_cst)) {
      driver_.wake();
    }
  });
}

void current_thread_scheduler::track(task_header* task) noexcept {
  owned_.insert(task);
}

void current_thread_scheduler::release(task_header* task) noexcept {
  if (on_driver_thread()) {
    completed_.bump();
  } else {
    remote_completed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a metric
  }
  if (task->owned_linked) owned_.remove(task);
  task->unref();
}

task_header* current_thread_scheduler::next_task() noexcept {
  if (++tick_ % global_interval == 0) drain_inject();
  if (task_header* t = local_.pop_front()) return t;
  if (drain_inject()) return local_.pop_front();
  return nullptr;
}

void current_thread_scheduler::park() {
  // Seq_cst: the driver's half of the Dekker with push_remote(); empty()
  // is the seq_cst load of the queue's length.
  parked_.store(true, std::memory_order_seq_cst);
  if (!inject_.empty()) {
    parked_.store(false, std::memory_order_relaxed);
    return;
  }
  // The one test paused time adds to the park path (well predicted).
  if (driver_.time_paused()) [[unlikely]] {
    park_paused();
  } else {
    driver_.park();
  }
  parked_.store(false, std::memory_order_relaxed);
}

void current_thread_scheduler::park_paused() {
  driver_.poll();
  if (!local_.empty() || !inject_.empty()) return;  // something to run: no jump
  if (!driver_.advance_to_next_timer()) driver_.park();
}

void current_thread_scheduler::begin_block_on() {
  check_may_block("kyoto::runtime::block_on");
  if (inject_.is_closed()) {
    throw std::logic_error("kyoto::runtime::block_on: the runtime is shut down");
  }
  // Acquire: the previous driver's writes (queues, owned_) are visible;
  // pairs with the release store in end_block_on().
  if (driving_.exchange(true, std::memory_order_acquire)) {
    throw std::logic_error(
        "kyoto::runtime::block_on: another thread is in block_on on this current_thread "
        "runtime");
  }
  try {
    driver_.bind("kyoto::runtime::block_on");
  } catch (...) {
    driving_.store(false, std::memory_order_release);
    throw;
  }
}

void current_thread_scheduler::end_block_on() noexcept {
  // Release: pairs with the acquire exchange in begin_block_on().
  driving_.store(false, std::memory_order_release);
}

void current_thread_scheduler::block_on(task_header* root) {
  context_guard guard(context{this, &driver_, nullptr});
  clock_scope clock(driver_);
  thread_rand_scope rand(rng_seed_ ? std::optional(derive_seed(*rng_seed_, block_ons_++))
                                   : std::nullopt);
  const busy_scope busy(stats_);  // metrics: driving, except while parked
  while (!root->is_complete()) {
    for (std::uint32_t i = 0; i < event_interval; ++i) {
      task_header* t = next_task();
      if (t == nullptr) break;
      polls_.bump();
      if (stats_.timed()) [[unlikely]] {
        if (stats_.run_timed(t, latency_.get(), [t] { return t->run(); })) local_.push_back(t);
      } else if (t->run()) {
        local_.push_back(t);
      }
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

void current_thread_scheduler::shutdown() noexcept {
  if (!inject_.close()) return;
  task_queue taken;
  inject_.take_all(taken);
  if (current_context.sched == this) {
    log_error("a runtime was destroyed from one of its own tasks; aborting");
    std::terminate();
  }
  context_guard guard(context{this, &driver_, nullptr});
  closing_ = true;
  // I/O requests end before their tasks are cancelled (their wakes are
  // dropped now: closing_); see driver::drain().
  driver_.drain();
  taken.append(local_);
  while (task_header* t = taken.pop_front()) {
    if (!t->owned_linked) t->shutdown();  // never went idle: not in owned_
  }
  const std::size_t live = owned_.size();
  while (!owned_.empty())
    owned_.front()->shutdown();
  if (live != 0) log_debug("runtime shut down; cancelled {} live tasks", live);
  driver_.close();
}

runtime_metrics current_thread_scheduler::metrics() const {
  runtime_metrics m;
  m.workers = 1;
  const std::uint64_t spawned = spawned_.get() + remote_spawned_.load(std::memory_order_relaxed);
  const std::uint64_t completed =
      completed_.get() + remote_completed_.load(std::memory_order_relaxed);
  m.spawned_tasks = spawned;
  m.alive_tasks = spawned > completed ? static_cast<std::size_t>(spawned - completed) : 0;
  m.global_queue_depth = inject_.size();
  m.blocking_threads = blocking_->threads();
  m.worker.push_back(
      worker_metrics{polls_.get(), 0, parks_.get(), local_depth_.load(std::memory_order_relaxed)});
  stats_.snapshot(m.worker.back());
  driver_.io_snapshot(m.worker.back());
  return m;
}

}  // namespace kyoto::detail
