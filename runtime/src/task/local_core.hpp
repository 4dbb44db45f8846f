// The scheduler of a local_set: tasks pinned to the thread that owns the
// set (tokio's LocalSet), run only inside its run_until driver.
//
// # Where local tasks run
//
// A local_set is not a runtime: it has no thread and no ring. Its tasks run
// inside `run_until(op)`, a coroutine (the *driver*) of a task of a runtime
// whose tasks never change threads (current_thread, or a task of another
// local set), on the thread that made the set (`owner_`). Each *step* of
// the driver, made from the driver's await_suspend in the enclosing task's
// run:
//
//   1. takes the remote queue (wakes from other threads) into the local one;
//   2. runs `op` (a nested task in the driver's frame, nested_run.hpp) if
//      it was woken, then up to `max_tasks_per_step` local tasks, with
//      context::local_set pointing here, so spawn_local inside them lands
//      here; each local task gets a top-level run (its own budget);
//   3. returns false if `op` completed; otherwise, if work is left, yields
//      the enclosing task (the driver goes to the back of its runtime's
//      queue: other tasks and the driver's ring get their turn); if none,
//      registers the driver's node (`waiting_driver_`) and suspends.
//
// # Who touches what
//
//   owner thread only   local_, owned_, op_ready_, driving_, closing_
//   under lock_         remote_, waiting_driver_, op_notified_, closed_
//
// schedule() (a wake) from a step of this set, on the owner thread, pushes
// onto local_; from anywhere else (another thread, or the owner thread
// outside a step: a plain task waking a local one) it pushes onto remote_
// and, if the driver waits, wakes it, under lock_: the driver's
// registration and its destructor's unregistration take lock_ too (the
// wake rule, task_header.hpp). The step registers only after seeing, under
// lock_, that remote_ is empty and `op` was not notified: no wake is lost.
//
// # Shutdown
//
// A set may outlive the runtime it ran on: it keeps that runtime's
// scheduler object (`runtimes_`, hence its driver and timer wheel) until
// its own tasks are cancelled, so their destructors can still unregister
// their timers. The runtime's shutdown ended their I/O (driver::drain).
//
// The set's destructor (owner thread) closes remote_ (later foreign wakes
// are dropped), then cancels every task: those queued that never went idle
// from the queues, the rest through owned_. Spawns during it are cancelled
// on the spot. As in tokio, a set dropped with tasks pending destroys them.
#pragma once

#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace kyoto::detail {

class local_core final : public task_scheduler {
 public:
  /// Local tasks run per step before the driver yields (tokio's LocalSet:
  /// MAX_TASKS_PER_TICK, 61).
  static constexpr std::uint32_t max_tasks_per_step = 61;

  local_core() noexcept : owner_(std::this_thread::get_id()) {}
  local_core(const local_core&) = delete;
  local_core& operator=(const local_core&) = delete;
  /// Cancels every task; see the file comment. Owner thread.
  ~local_core();

  // task_scheduler: what the set's tasks call.
  void schedule(task_header* task) noexcept override;
  void track(task_header* task) noexcept override { owned_.insert(task); }
  void release(task_header* task) noexcept override;

  /// A new local task (NOTIFIED, holding the scheduler's reference). Owner
  /// thread.
  void spawn(task_header* task) noexcept;

  /// Throws std::logic_error naming `operation` unless the calling thread
  /// owns the set.
  void check_owner(const char* operation) const;

  /// The first step of a driver: checks where it runs (throws
  /// std::logic_error naming run_until), claims the set, prepares `node`.
  void begin_drive(wake_node& node, std::coroutine_handle<> driver);
  /// One step; see the file comment. Returns false if `op` completed.
  bool step(task_header& op, wake_node& node);
  /// The driver's frame goes: unregisters `node`, cancels an unfinished
  /// `op`, releases the set, purges `node` from the enclosing task.
  void end_drive(task_header& op, wake_node& node) noexcept;

  /// `op`'s scheduler: queuing `op` marks it ready and wakes the driver.
  task_scheduler* op_scheduler() noexcept { return &op_sched_; }

 private:
  struct op_scheduler_t final : task_scheduler {
    explicit op_scheduler_t(local_core* c) noexcept : core(c) {}
    local_core* core;
    void schedule(task_header*) noexcept override { core->op_woken(); }
    void track(task_header*) noexcept override {}
    void release(task_header*) noexcept override {}
  };

  bool in_step() const noexcept { return current_context.local_set == this; }
  void op_woken() noexcept;
  void wake_driver_locked() noexcept;  // lock_ held

  const std::thread::id owner_;
  /// The schedulers of the runtimes the set ran on (owner thread): their
  /// drivers hold the timers of the set's tasks, which the destructor's
  /// cancellations unregister, so the set keeps them alive (the scheduler
  /// objects, not the runtimes) even if it outlives the runtimes; released
  /// after the destructor's body has cancelled the tasks.
  std::vector<std::shared_ptr<scheduler>> runtimes_;

  // ---- owner thread only ----
  task_queue local_;
  owned_tasks owned_;
  bool op_ready_ = false;  ///< `op` is NOTIFIED and must run at the next step
  bool driving_ = false;   ///< a run_until driver owns the set
  bool closing_ = false;   ///< the destructor started

  // ---- under lock_ ----
  mutex lock_;
  task_queue remote_;
  /// The driver's node while it waits for work; taken by the one who wakes it.
  wake_node* waiting_driver_ = nullptr;
  bool op_notified_ = false;  ///< `op` was queued from outside a step
  bool closed_ = false;       ///< wakes are dropped (shutdown)

  op_scheduler_t op_sched_{this};
};

}  // namespace kyoto::detail
