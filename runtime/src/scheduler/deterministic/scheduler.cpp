// The protocol (queues, the loop, idle, spawn_blocking) is described in
// scheduler.hpp.
#include "scheduler/deterministic/scheduler.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

deterministic_scheduler::deterministic_scheduler(const deterministic_config& config)
    : single_thread_scheduler("deterministic", /*start_paused=*/true, config.seed),
      config_(config) {}

deterministic_scheduler::~deterministic_scheduler() {
  shutdown();
}

void deterministic_scheduler::enqueue_local(task_header* task) noexcept {
  if (strategy_ == strategy::priority) {
    runnable_.push_back(task);  // the priorities decide; no LIFO slot
    return;
  }
  // The perturbed LIFO slot: only a wake or spawn made by a running task
  // (a worker's LIFO slot takes those), on a coin flip.
  if (current_context.task != nullptr && thread_rand().next_below(2) == 0) {
    if (lifo_ != nullptr) runnable_.push_back(lifo_);
    lifo_ = task;
    return;
  }
  runnable_.push_back(task);
}

void deterministic_scheduler::take_local(task_queue& into) noexcept {
  if (lifo_ != nullptr) runnable_.push_back(std::exchange(lifo_, nullptr));
  for (task_header* t : runnable_)
    into.push_back(t);
  runnable_.clear();
}

void deterministic_scheduler::forget(task_header* task) noexcept {
  // Only the driving thread touches priority_; a task released elsewhere
  // (spawned into a closed runtime) was never picked, so has no entry.
  if (!priority_.empty() && on_driver_thread()) priority_.erase(task);
}

void deterministic_scheduler::drain_inject() noexcept {
  if (inject_.size() == 0) return;  // relaxed hint; idle() looks again under the Dekker
  task_queue taken;
  inject_.take_all(taken);
  while (task_header* t = taken.pop_front())
    runnable_.push_back(t);
}

namespace {

/// A priority for a task that has not yielded: the upper half, above every
/// demoted one.
std::uint32_t fresh_priority(fast_rand& rand) noexcept {
  return rand.next_u32() | 0x8000'0000u;
}

}  // namespace

task_header* deterministic_scheduler::take_highest_priority() noexcept {
  fast_rand& rand = thread_rand();
  std::size_t best = 0;
  std::uint32_t best_priority = 0;
  for (std::size_t i = 0; i < runnable_.size(); ++i) {
    auto [it, fresh] = priority_.try_emplace(runnable_[i], 0);
    if (fresh) it->second = fresh_priority(rand);
    if (i == 0 || it->second > best_priority) {
      best = i;
      best_priority = it->second;
    }
  }
  task_header* t = runnable_[best];
  runnable_[best] = runnable_.back();
  runnable_.pop_back();
  if (rand.next_below(change_one_in) == 0) priority_[t] = fresh_priority(rand);  // a change point
  return t;
}

task_header* deterministic_scheduler::next_task() noexcept {
  fast_rand& rand = thread_rand();
  if (strategy_ == strategy::priority && !runnable_.empty() &&
      runnable_.size() <= priority_max_tasks) {
    if (lifo_ != nullptr) runnable_.push_back(std::exchange(lifo_, nullptr));
    return take_highest_priority();
  }
  if (lifo_ != nullptr && (runnable_.empty() || rand.next_below(4) != 0)) {
    return std::exchange(lifo_, nullptr);
  }
  if (runnable_.empty()) return nullptr;
  const std::size_t i = rand.next_below(static_cast<std::uint32_t>(runnable_.size()));
  task_header* t = runnable_[i];
  runnable_[i] = runnable_.back();
  runnable_.pop_back();
  return t;
}

void deterministic_scheduler::idle() {
  // I/O completions, wakes from other threads: they run before the clock
  // moves (tokio's auto-advance rule).
  driver_.poll();
  drain_inject();
  if (has_runnable()) return;
  if (!driver_.time_paused()) {
    // time::resume() was called: real time, real parking.
    park_with([this] { driver_.park(); });
    return;
  }
  if (driver_.advance_to_next_timer()) return;
  if (driver_.has_io()) {
    // Only the kernel can make progress now: park until it does.
    park_with([this] { driver_.park(); });
    return;
  }
  // No task, no timer, no I/O: only another thread can wake a task.
  park_with([this] { driver_.park_for(config_.deadlock_grace); });
  drain_inject();
  if (has_runnable() || driver_.has_io()) return;
  throw std::logic_error(
      "kyoto::runtime::block_on: deadlock in the deterministic runtime (seed " +
      std::to_string(config_.seed) +
      "): the block_on task waits, but no task is runnable, no timer is set, no I/O is in "
      "flight, and no other thread woke a task within the grace period");
}

void deterministic_scheduler::block_on(task_header* root) {
  block_on_scope scope(*this);
  strategy_ = thread_rand().next_below(2) == 0 ? strategy::uniform : strategy::priority;
  while (!root->is_complete()) {
    drain_inject();
    if (thread_rand().next_below(poll_one_in) == 0) driver_.poll();
    task_header* t = next_task();
    if (t == nullptr) {
      // Relaxed: a metric's snapshot.
      local_depth_.store(0, std::memory_order_relaxed);
      parks_.bump();
      idle();
      continue;
    }
    polls_.bump();
    if (t->run()) {
      // Yielded, or woken while running: below every other task (a
      // yield-poller must not starve the task it waits for).
      if (strategy_ == strategy::priority) priority_[t] = --demoted_;
      runnable_.push_back(t);
    }
  }
  local_depth_.store(runnable_.size(), std::memory_order_relaxed);  // relaxed: a metric
}

}  // namespace kyoto::detail
