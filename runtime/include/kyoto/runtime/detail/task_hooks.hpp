// The runtime's task hooks (runtime::builder::on_task_spawn and the
// others): set once when the runtime is built, read by spawn and by every
// run of a task.
//
// Cost when unset: task_scheduler::hooks is null, and spawn, a task's run
// and its completion each test it once (one predictable branch). When set,
// each hook is a std::function call with a task_meta (a pointer to the
// task's header) on the thread doing the work:
//
//   on_task_spawn        the spawning thread, before the task is queued
//                        (so before its first poll)
//   on_before_task_poll  the worker, right before a run resumes the task
//   on_after_task_poll   the worker, right after that run's resumptions
//   on_task_terminate    the thread completing or cancelling the task,
//                        before its join_handle can see the outcome
//
// Nested runs (task_local scopes, streams) are part of their task's poll
// and call nothing. Tasks of the blocking pool (spawn_blocking) and of a
// local_set call nothing either.
#pragma once

#include <kyoto/runtime/task_id.hpp>

#include <functional>

namespace kyoto::detail {

class task_header;

/// The four hooks; an empty function is not called.
struct task_hooks {
  std::function<void(const task_meta&)> on_spawn;        ///< on_task_spawn
  std::function<void(const task_meta&)> on_terminate;    ///< on_task_terminate
  std::function<void(const task_meta&)> on_before_poll;  ///< on_before_task_poll
  std::function<void(const task_meta&)> on_after_poll;   ///< on_after_task_poll

  /// Whether any hook is set.
  bool any() const noexcept { return on_spawn || on_terminate || on_before_poll || on_after_poll; }
};

/// Calls `hook` (if set) with `task`'s metadata. A hook must not throw:
/// this is noexcept, so an exception terminates the process.
inline void call_task_hook(const std::function<void(const task_meta&)>& hook,
                           const task_header& task) noexcept {
  if (hook) hook(task_meta(task));
}

}  // namespace kyoto::detail
