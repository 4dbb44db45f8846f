// The protocol (queues, the loop, idle, spawn_blocking) is described in
// scheduler.hpp.
#include "scheduler/deterministic/scheduler.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

deterministic_scheduler::deterministic_scheduler(const deterministic_config& config)
    : config_(config), driver_(/*start_paused=*/true) {}

deterministic_scheduler::~deterministic_scheduler() {
  shutdown();
}

void deterministic_scheduler::spawn(task_header* task) noexcept {
  if (on_driver_thread()) {
    spawned_.bump();
    if (closing_) {
      task->shutdown();
      return;
    }
    enqueue_local(task);
    return;
  }
  // Relaxed: a metric.
  remote_spawned_.fetch_add(1, std::memory_order_relaxed);
  // A new task the closed runtime will never run: cancel it here.
  if (!push_remote(task)) task->shutdown();
}

void deterministic_scheduler::schedule(task_header* task) noexcept {
  if (on_driver_thread()) {
    // While closing, the wake is dropped: shutdown() cancels every live task.
    if (!closing_) enqueue_local(task);
    return;
  }
  // Refused only once closed; shutdown() cancels the task through owned_.
  push_remote(task);
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

bool deterministic_scheduler::push_remote(task_header* task) noexcept {
  // As current_thread's push_remote: the eventfd write happens under the
  // inject lock, so the runtime cannot be destroyed before it is done.
  return inject_.push(task, [this] {
    // Seq_cst: the waker's half of the park Dekker (current_thread's file
    // comment); pairs with the seq_cst store in park_with().
    if (parked_.load(std::memory_order_seq_cst) &&
        parked_.exchange(false, std::memory_order_seq_cst)) {
      driver_.wake();
    }
  });
}

void deterministic_scheduler::track(task_header* task) noexcept {
  lock_guard guard(owned_lock_);
  owned_.insert(task);
}

void deterministic_scheduler::visit_live_tasks(live_task_visitor visit, void* ctx) {
  // Closed inject_ = shutdown has begun and may cancel any task of owned_.
  walk_for_dump(
      owned_lock_, owned_, [this] { return !inject_.is_closed(); },
      [&](task_header& t, bool claimable) { visit(ctx, t, claimable); });
}

void deterministic_scheduler::release(task_header* task) noexcept {
  if (on_driver_thread()) {
    completed_.bump();
  } else {
    remote_completed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a metric
  }
  if (task->owned_linked) {
    lock_guard guard(owned_lock_);
    owned_.remove(task);
  }
  // Only the driving thread touches priority_; a task released elsewhere
  // (spawned into a closed runtime) was never picked, so has no entry.
  if (!priority_.empty() && on_driver_thread()) priority_.erase(task);
  task->unref();
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

namespace {

/// Runs `wait` unless another thread queued a task meanwhile: the driver's
/// half of the park Dekker (current_thread's file comment).
template <class Wait>
void park_with(atomic<bool>& parked, const inject& queue, Wait&& wait) {
  // Seq_cst: pairs with the seq_cst length increment in inject::push() and
  // the parked_ load in push_remote(); empty() is the seq_cst load.
  parked.store(true, std::memory_order_seq_cst);
  if (queue.empty()) std::forward<Wait>(wait)();
  parked.store(false, std::memory_order_relaxed);
}

}  // namespace

void deterministic_scheduler::idle() {
  // I/O completions, wakes from other threads: they run before the clock
  // moves (tokio's auto-advance rule).
  driver_.poll();
  drain_inject();
  if (has_runnable()) return;
  if (!driver_.time_paused()) {
    // time::resume() was called: real time, real parking.
    park_with(parked_, inject_, [this] { driver_.park(); });
    return;
  }
  if (driver_.advance_to_next_timer()) return;
  if (driver_.has_io()) {
    // Only the kernel can make progress now: park until it does.
    park_with(parked_, inject_, [this] { driver_.park(); });
    return;
  }
  // No task, no timer, no I/O: only another thread can wake a task.
  park_with(parked_, inject_, [this] { driver_.park_for(config_.deadlock_grace); });
  drain_inject();
  if (has_runnable() || driver_.has_io()) return;
  throw std::logic_error(
      "kyoto::runtime::block_on: deadlock in the deterministic runtime (seed " +
      std::to_string(config_.seed) +
      "): the block_on task waits, but no task is runnable, no timer is set, no I/O is in "
      "flight, and no other thread woke a task within the grace period");
}

void deterministic_scheduler::begin_block_on() {
  check_may_block("kyoto::runtime::block_on");
  if (inject_.is_closed()) {
    throw std::logic_error("kyoto::runtime::block_on: the runtime is shut down");
  }
  // Acquire: the previous driver's writes (queues, owned_) are visible;
  // pairs with the release store in end_block_on().
  if (driving_.exchange(true, std::memory_order_acquire)) {
    throw std::logic_error(
        "kyoto::runtime::block_on: another thread is in block_on on this deterministic runtime");
  }
  try {
    driver_.bind("kyoto::runtime::block_on");
  } catch (...) {
    driving_.store(false, std::memory_order_release);
    throw;
  }
}

void deterministic_scheduler::end_block_on() noexcept {
  // Release: pairs with the acquire exchange in begin_block_on().
  driving_.store(false, std::memory_order_release);
}

void deterministic_scheduler::block_on(task_header* root) {
  context_guard guard(context{this, &driver_, nullptr});
  clock_scope clock(driver_);
  thread_rand_scope rand(derive_seed(config_.seed, block_ons_++));
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

void deterministic_scheduler::shutdown() noexcept {
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
  if (lifo_ != nullptr) runnable_.push_back(std::exchange(lifo_, nullptr));
  for (task_header* t : runnable_)
    taken.push_back(t);
  runnable_.clear();
  while (task_header* t = taken.pop_front()) {
    if (!t->owned_linked) t->shutdown();  // never went idle: not in owned_
  }
  {
    // A dump that saw the runtime open finishes (and gives its claims
    // back) before we cancel; later ones see inject_ closed.
    lock_guard barrier(owned_lock_);
  }
  const std::size_t live = owned_.size();
  while (!owned_.empty())
    owned_.front()->shutdown();
  if (live != 0) log_debug("runtime shut down; cancelled {} live tasks", live);
  driver_.close();
}

runtime_metrics deterministic_scheduler::metrics() const {
  runtime_metrics m;
  m.workers = 1;
  const std::uint64_t spawned = spawned_.get() + remote_spawned_.load(std::memory_order_relaxed);
  const std::uint64_t completed =
      completed_.get() + remote_completed_.load(std::memory_order_relaxed);
  m.spawned_tasks = spawned;
  m.alive_tasks = spawned > completed ? static_cast<std::size_t>(spawned - completed) : 0;
  m.global_queue_depth = inject_.size();
  m.blocking_threads = 0;  // blocking functions run inline (scheduler.hpp)
  m.worker.push_back(
      worker_metrics{polls_.get(), 0, parks_.get(), local_depth_.load(std::memory_order_relaxed)});
  return m;
}

}  // namespace kyoto::detail
