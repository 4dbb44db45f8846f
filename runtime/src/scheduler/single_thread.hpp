// What the schedulers that run every task on the thread in block_on share:
// current_thread (current_thread/scheduler.hpp, a FIFO run queue) and
// deterministic (deterministic/scheduler.hpp, a seeded random pick). Each
// owns its run queue and its block_on loop; this core owns the rest, once:
// where a spawn or a wake goes, the injection queue and the park Dekker,
// the live tasks, block_on's one-thread claim, shutdown and the metrics.
// It also holds current_thread's stall monitor
// (current_thread/stall_monitor.hpp), so that shutdown() can stop it; only
// that scheduler creates one: the deterministic runtime has none.
//
// # Spawns and wakes
//
// On the driving thread (this scheduler is the thread's context), a spawn
// or wake goes to the derived scheduler's run queue (enqueue_local());
// from any other thread, to `inject_` (scheduler/inject.hpp), which the
// derived loop moves into its run queue.
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
// write only makes the next park return early. park_with() is the driver's
// half, push_remote() the waker's.
//
// # Shutdown
//
// shutdown() runs on the destroying thread with this scheduler as its
// context: close `inject_` (later spawns are cancelled on the spot, later
// wakes dropped), stop and join the stall monitor's thread, if any (a
// cancelled task's destructor is no poll), drop every queue (a task there
// that never went idle is cancelled there), then cancel every task left in
// `owned_`. Their destructors may wake or spawn; those are dropped or
// cancelled the same way.
//
// # What the derived scheduler provides (CRTP, no virtual call)
//
//   void enqueue_local(task_header*) noexcept;   a spawn or wake, driving thread
//   void take_local(task_queue& into) noexcept;  shutdown: every queued task
//   void forget(task_header*) noexcept;          release(): per-task state
//   std::size_t blocking_threads() const;        metrics
//
// and calls shutdown() from its destructor (shutdown needs its queues).
#pragma once

#include "driver.hpp"
#include "log.hpp"
#include "metrics/counter.hpp"
#include "metrics/stats.hpp"
#include "scheduler/current_thread/stall_monitor.hpp"
#include "scheduler/inject.hpp"
#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

/// The shared core of the one-thread schedulers (file comment); `Derived`
/// is the scheduler itself.
template <class Derived>
class single_thread_scheduler : public scheduler {
 public:
  void spawn(task_header* task) noexcept final {
    if (on_driver_thread()) {
      spawned_.bump();
      if (closing_) {
        task->shutdown();
        return;
      }
      self().enqueue_local(task);
      return;
    }
    // Relaxed: a metric.
    remote_spawned_.fetch_add(1, std::memory_order_relaxed);
    // A new task the closed runtime will never run: cancel it here.
    if (!push_remote(task)) task->shutdown();
  }

  void schedule(task_header* task) noexcept final {
    if (latency_ != nullptr) [[unlikely]]
      latency_->on_schedule(task);  // metrics: a sampled wake (metrics/stats.hpp)
    if (on_driver_thread()) {
      // While closing, the wake is dropped: shutdown() cancels every live task.
      if (!closing_) self().enqueue_local(task);
      return;
    }
    // Refused only once closed; shutdown() cancels the task through owned_.
    push_remote(task);
  }

  void track(task_header* task) noexcept final {
    lock_guard guard(owned_lock_);
    owned_.insert(task);
  }

  void visit_live_tasks(live_task_visitor visit, void* ctx) final {
    // Closed inject_ = shutdown has begun and may cancel any task of owned_.
    walk_for_dump(
        owned_lock_, owned_, [this] { return !inject_.is_closed(); },
        [&](task_header& t, bool claimable) { visit(ctx, t, claimable); });
  }

  void release(task_header* task) noexcept final {
    if (on_driver_thread()) {
      completed_.bump();
    } else {
      remote_completed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a metric
    }
    if (task->owned_linked) {
      lock_guard guard(owned_lock_);
      owned_.remove(task);
    }
    self().forget(task);
    task->unref();
  }

  void begin_block_on() final {
    check_may_block("kyoto::runtime::block_on");
    if (inject_.is_closed()) {
      throw std::logic_error("kyoto::runtime::block_on: the runtime is shut down");
    }
    // Acquire: the previous driver's writes (queues, owned_) are visible;
    // pairs with the release store in end_block_on().
    if (driving_.exchange(true, std::memory_order_acquire)) {
      throw std::logic_error(std::string("kyoto::runtime::block_on: another thread is in "
                                         "block_on on this ") +
                             kind_ + " runtime");
    }
    try {
      driver_.bind("kyoto::runtime::block_on");
      // Tasks may park before this block_on's first driver turn: their
      // time in state must not start from another runtime's tick.
      driver_.refresh_state_tick();
    } catch (...) {
      driving_.store(false, std::memory_order_release);
      throw;
    }
  }

  void end_block_on() noexcept final {
    // Release: pairs with the acquire exchange in begin_block_on().
    driving_.store(false, std::memory_order_release);
  }

  void shutdown() noexcept final {
    if (!inject_.close()) return;
    if (stall_monitor_) stall_monitor_->stop();
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
    // The tasks of requests the drain abandoned (a runtime dropped on
    // another thread than its driver's, or a request the kernel could not
    // cancel) are kept, never cancelled: the kernel may still write into
    // their frames (driver::held()).
    keep_held(driver_, [this](task_header* t) {
      if (t->owned_linked) {
        lock_guard unlink_guard(owned_lock_);
        owned_.remove(t);
      }
    });
    self().take_local(taken);
    while (task_header* t = taken.pop_front()) {
      // Never went idle: not in owned_. A kept one is left queued forever.
      if (!t->owned_linked && !driver_.holds(t)) t->shutdown();
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

  runtime_metrics metrics() const final {
    runtime_metrics m;
    m.workers = 1;
    const std::uint64_t spawned = spawned_.get() + remote_spawned_.load(std::memory_order_relaxed);
    const std::uint64_t completed =
        completed_.get() + remote_completed_.load(std::memory_order_relaxed);
    m.spawned_tasks = spawned;
    m.alive_tasks = spawned > completed ? static_cast<std::size_t>(spawned - completed) : 0;
    m.global_queue_depth = inject_.size();
    m.blocking_threads = self().blocking_threads();
    m.worker.push_back(worker_metrics{polls_.get(), 0, parks_.get(),
                                      local_depth_.load(std::memory_order_relaxed)});
    stats_.snapshot(m.worker.back());
    driver_.io_snapshot(m.worker.back());
    return m;
  }

  bool runs_tasks_on_one_thread() const noexcept final { return true; }

 protected:
  ~single_thread_scheduler() override = default;

  /// What a block_on runs its loop in: this scheduler as the thread's
  /// context, the driver's clock, and, with a seed, the thread's generator
  /// seeded with derive_seed(seed, n) for the n-th block_on (fast_rand.hpp).
  class block_on_scope {
   public:
    explicit block_on_scope(single_thread_scheduler& s) noexcept
        : guard_(context{&s, &s.driver_, nullptr}),
          clock_(s.driver_),
          rand_(s.rng_seed_ ? std::optional(derive_seed(*s.rng_seed_, s.block_ons_++))
                            : std::nullopt) {}

   private:
    context_guard guard_;
    clock_scope clock_;
    thread_rand_scope rand_;
  };

  bool on_driver_thread() const noexcept { return current_context.sched == this; }

  /// Runs `wait` (a park of the driver) unless another thread queued a
  /// task meanwhile: the driver's half of the park Dekker (file comment).
  template <class Wait>
  void park_with(Wait&& wait) {
    // Seq_cst: pairs with the seq_cst length increment in inject::push()
    // and the parked_ load in push_remote(); empty() is the seq_cst load.
    parked_.store(true, std::memory_order_seq_cst);
    if (inject_.empty()) std::forward<Wait>(wait)();
    parked_.store(false, std::memory_order_relaxed);
  }

  // ---- driving thread only ----
  driver driver_;
  owned_tasks owned_;
  /// Taken by owned_'s writers (track, release) and by task dumps, which
  /// read it from any thread (visit_live_tasks); the driving thread reads
  /// it without the lock.
  mutex owned_lock_;

  // ---- metrics: written by the driving thread (counter.hpp) ----
  counter polls_, parks_;
  /// The run queue's length as of the last tick, for readers on other
  /// threads.
  atomic<std::size_t> local_depth_{0};
  /// Busy time and the opt-in histograms (metrics/stats.hpp); configured by
  /// current_thread only (the deterministic runtime records neither).
  worker_stats stats_;
  /// The schedule-latency sample slot; null unless enabled.
  std::unique_ptr<latency_sampler> latency_;

  // ---- shared ----
  /// Spawns and wakes from other threads; closed by shutdown().
  inject inject_;
  /// The stall detector (current_thread/stall_monitor.hpp): set by the
  /// current_thread constructor for a non-zero threshold, null otherwise
  /// (always, for the deterministic runtime). Its thread is joined by
  /// shutdown(), not by the destructor: handles may keep the scheduler
  /// alive long after.
  std::unique_ptr<stall_monitor> stall_monitor_;

 private:
  friend Derived;
  /// `kind` names the runtime in block_on's errors ("current_thread");
  /// `rng_seed` seeds each block_on's thread generator (block_on_scope).
  /// Private: only Derived (the CRTP) constructs this base.
  single_thread_scheduler(const char* kind, bool start_paused,
                          std::optional<std::uint64_t> rng_seed)
      : driver_(start_paused), rng_seed_(rng_seed), kind_(kind) {}

  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

  /// Queues `task` on inject_ and unparks the driver; false once closed.
  bool push_remote(task_header* task) noexcept {
    // The eventfd write happens under the lock too: once the driving thread
    // can take the task (it needs this lock to drain), the task may run,
    // finish, and let the runtime be destroyed; we must be done with the
    // scheduler by then. The destructor takes this lock first (shutdown()).
    // push() increments the length (seq_cst, the waker's half of the park
    // Dekker, file comment) before calling this under its lock.
    return inject_.push(task, [this] {
      // Seq_cst: the waker's second half of the Dekker, pairs with the
      // seq_cst store in park_with(); the exchange makes only one waker pay
      // for the eventfd write.
      if (parked_.load(std::memory_order_seq_cst) &&
          parked_.exchange(false, std::memory_order_seq_cst)) {
        driver_.wake();
      }
    });
  }

  // ---- driving thread only ----
  /// Seeds each block_on's generator (block_on_scope), if set.
  std::optional<std::uint64_t> rng_seed_;
  std::uint64_t block_ons_ = 0;
  bool closing_ = false;  ///< shutdown() has started
  const char* kind_;      ///< "current_thread" or "deterministic"

  // ---- metrics: written by the driving thread (counter.hpp) ----
  counter spawned_, completed_;
  /// Spawns and completions made off the driving thread (relaxed RMWs).
  atomic<std::uint64_t> remote_spawned_{0};
  atomic<std::uint64_t> remote_completed_{0};

  // ---- shared ----
  /// The driver is parked or about to park. Set by the driver, cleared by
  /// the driver and by the first waker that sees it (the park Dekker).
  atomic<bool> parked_{false};
  /// A thread is in block_on. Set by begin_block_on() (exchange: one
  /// winner), cleared by end_block_on(); acquire/release order one
  /// driving thread's work before the next's.
  atomic<bool> driving_{false};
};

}  // namespace kyoto::detail
