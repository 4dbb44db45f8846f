// What the calling thread is doing for kyoto right now.
//
// A runtime thread records the scheduler it runs tasks for, the driver
// (reactor + timers) it parks in, and the task it is resuming. Awaiters read
// the current task in await_suspend to build their wake_node; spawn reads
// the scheduler. Plain threads have an all-null context.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <stdexcept>

namespace kyoto::detail {

class scheduler;
class task_header;
struct wake_node;
class driver;
class local_core;

/// A task_local's value in force on this thread: pushed and popped around
/// every run of a task_local scope's coroutines (task_local.hpp), so it is
/// there exactly while they run. Lives in the scope's frame.
struct local_binding {
  const void* key = nullptr;       ///< the task_local object
  void* value = nullptr;           ///< its value
  local_binding* outer = nullptr;  ///< the binding in force before this one
};

/// The per-thread runtime context. Trivially constructible, so reading it is
/// a plain thread-local load.
struct context {
  scheduler* sched = nullptr;   ///< runtime this thread runs tasks for
  driver* drv = nullptr;        ///< this thread's reactor and timers
  task_header* task = nullptr;  ///< task being resumed on this thread
  /// The woken nodes the running task's current run has yet to resume, in
  /// wake order (task_header::run; purge() may unlink from it).
  wake_node* batch = nullptr;
  /// Operations the running task may still complete without suspending
  /// before it must yield (coop.hpp). Reset at every top-level run of a
  /// task; a nested run (detail/nested_run.hpp) shares it.
  std::uint32_t budget = 0;
  /// The task_local values in force, innermost first (task_local.hpp); null
  /// whenever a scheduler starts a run, since scopes push and pop strictly
  /// around their nested runs.
  local_binding* locals = nullptr;
  /// The local_set whose tasks (or run_until operation) this thread is
  /// running right now (local_set.hpp): where spawn_local puts a task. Set
  /// only inside a set's run step on its owner thread, so a plain task on
  /// the same thread never sees it.
  local_core* local_set = nullptr;
};

KYOTO_EXPORT inline thread_local constinit context current_context{};

/// The task the calling thread is running, or null.
inline task_header* current_task() noexcept {
  return current_context.task;
}

/// Throws the error for an operation that needs a runtime task.
[[noreturn]] KYOTO_EXPORT void throw_outside_task(const char* operation);

/// Throws the error for an operation that needs a runtime thread.
[[noreturn]] KYOTO_EXPORT void throw_outside_runtime(const char* operation);

/// Throws the error for blocking a runtime thread (check_may_block).
[[noreturn]] KYOTO_EXPORT void throw_blocking_runtime_thread(const char* operation);

/// Throws std::logic_error, naming `operation`, if the calling thread runs
/// a runtime's tasks (its context has a scheduler): blocking it would stall
/// them. The runtime's one check before blocking a thread (both
/// schedulers' begin_block_on()).
inline void check_may_block(const char* operation) {
  if (current_context.sched != nullptr) [[unlikely]] {
    throw_blocking_runtime_thread(operation);
  }
}

/// Sets a thread's context for a scope and restores the previous one.
class context_guard {
 public:
  explicit context_guard(const context& c) noexcept : saved_(current_context) {
    current_context = c;
  }
  ~context_guard() { current_context = saved_; }
  context_guard(const context_guard&) = delete;
  context_guard& operator=(const context_guard&) = delete;

 private:
  context saved_;
};

}  // namespace kyoto::detail
