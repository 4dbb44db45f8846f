// The seams between tasks, runtimes and the schedulers that run them.
//
// Two interfaces, by caller:
//
//  - task_scheduler: what a task calls on the scheduler that runs it
//    (task_header::sched) — queue me again, track me, forget me. These are
//    the hot calls: one virtual call each, from a wake, a run or a
//    completion.
//  - scheduler: what a runtime, a handle and spawn call on top of that —
//    spawn, block_on, shutdown, metrics. Implemented by the current_thread
//    and multi_thread schedulers and the blocking pool. A nested task
//    (nested_run.hpp) has only a task_scheduler.
//
// Every call may come from any thread, including threads that are not
// runtime threads, unless its comment says otherwise.
#pragma once

#include <kyoto/runtime/metrics.hpp>

#include <memory>

namespace kyoto::detail {

class task_header;
struct task_hooks;

/// Called by scheduler::visit_live_tasks for each task on a live-task
/// list, with that list's lock held; `claimable` is false once the
/// scheduler's shutdown has begun (the task may then only be looked at,
/// not claimed: task_header::claim_for_dump).
using live_task_visitor = void (*)(void* ctx, task_header& task, bool claimable) noexcept;

/// What a task calls on its scheduler. Not owned through this interface.
class task_scheduler {
 public:
  /// A task whose NOTIFIED flag the caller just set (see task_header::wake)
  /// must be queued. Dropped if the scheduler is shutting down (shutdown
  /// cancels the task through its live-task list). Any thread.
  virtual void schedule(task_header* task) noexcept = 0;

  /// A task is about to go idle for the first time (its first run ended
  /// without completing): add it to the live tasks that shutdown cancels.
  /// Until then it is always in a queue or running, and shutdown finds it
  /// there. Called by the thread running it, before it goes idle.
  virtual void track(task_header* task) noexcept = 0;

  /// A task completed or was cancelled: forget it and drop the scheduler's
  /// reference. Called by the thread that completed it.
  virtual void release(task_header* task) noexcept = 0;

  /// The runtime's task hooks (detail/task_hooks.hpp), or null: set once
  /// by runtime::builder::build() before any task is spawned, then only
  /// read (spawn, task_header::run() and finish()).
  const task_hooks* hooks = nullptr;

 protected:
  task_scheduler() = default;
  task_scheduler(const task_scheduler&) = default;
  task_scheduler& operator=(const task_scheduler&) = default;
  ~task_scheduler() = default;
};

/// Runs tasks: what a runtime calls. Owned jointly by its runtime and every
/// kyoto::handle.
class scheduler : public task_scheduler, public std::enable_shared_from_this<scheduler> {
 public:
  virtual ~scheduler() = default;

  /// A new task, in state NOTIFIED, holding the scheduler's reference. The
  /// scheduler queues it; if it is shut down, it cancels the task at once.
  /// Any thread.
  virtual void spawn(task_header* task) noexcept = 0;

  /// Claims the runtime for a block_on by the calling thread, before its
  /// root task is spawned. Throws std::logic_error, claiming nothing, when
  /// the calling thread may not block here (a runtime thread; another
  /// thread is driving a current_thread runtime; the runtime is shut down).
  virtual void begin_block_on() = 0;

  /// Blocks the calling thread until `root` completes, running tasks on it
  /// if this scheduler runs on its caller (current_thread). Between
  /// begin_block_on() and end_block_on().
  virtual void block_on(task_header* root) = 0;

  /// Releases the claim of begin_block_on().
  virtual void end_block_on() noexcept = 0;

  /// Cancels every live task (their destructors run on the calling thread
  /// or the runtime's threads), stops the runtime's threads and closes the
  /// scheduler: later spawns are cancelled at once. Idempotent.
  virtual void shutdown() noexcept = 0;

  /// The scheduler of this runtime's blocking tasks (spawn_blocking).
  virtual scheduler& blocking_pool() noexcept { return *this; }

  /// A snapshot of the counters (runtime::metrics()). Any thread.
  virtual runtime_metrics metrics() const { return {}; }

  /// Whether every task of this scheduler runs on one thread, the same for
  /// its whole life (current_thread): a local_set may then be run inside
  /// one of its tasks. Any thread.
  virtual bool runs_tasks_on_one_thread() const noexcept { return false; }

  /// Calls `visit` for every task on this scheduler's live-task lists (the
  /// tasks that went idle at least once), each list walked under the lock
  /// that track() and release() take, so no task of the list is freed
  /// meanwhile (task dumps, runtime/src/dump/). Any thread.
  virtual void visit_live_tasks(live_task_visitor /*visit*/, void* /*ctx*/) {}

  /// Installs the task hooks (`hooks`, kept alive by this scheduler).
  /// Only before the first spawn.
  void set_task_hooks(std::shared_ptr<const task_hooks> h) noexcept {
    hooks = h.get();
    hooks_owner_ = std::move(h);
  }

 private:
  std::shared_ptr<const task_hooks> hooks_owner_;  ///< owns *hooks
};

}  // namespace kyoto::detail
