// What local_set's templates need: spawning a cell onto a set, and the
// run_until driver. The set's scheduler (local_core) is private; its
// protocol is described in runtime/src/task/local_core.hpp.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/nested_run.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

class local_core;

/// The set whose step the calling thread is in; throws std::logic_error
/// naming `operation` outside one (kyoto::spawn_local's check).
KYOTO_EXPORT local_core& current_local_core(const char* operation);
/// Queues a new local task (its scheduler reference held). Owner thread.
KYOTO_EXPORT void local_spawn(local_core& core, task_header* cell) noexcept;
/// Throws std::logic_error naming `operation` off the set's owner thread.
KYOTO_EXPORT void local_check_owner(local_core& core, const char* operation);
/// The scheduler of run_until's operation (a nested task of the driver).
KYOTO_EXPORT task_scheduler* local_op_scheduler(local_core& core) noexcept;
/// The driver's first step: checks and claims the set (throws).
KYOTO_EXPORT void local_begin_drive(local_core& core, wake_node& node,
                                    std::coroutine_handle<> driver);
/// One step of the driver; false once the operation completed.
KYOTO_EXPORT bool local_step(local_core& core, task_header& op, wake_node& node);
/// The driver's frame goes (completed or cancelled).
KYOTO_EXPORT void local_end_drive(local_core& core, task_header& op, wake_node& node) noexcept;

/// One step of run_until's driver (see local_core.hpp).
class local_step_awaiter {
 public:
  local_step_awaiter(local_core& core, nested_cell_base& op) noexcept : core_(core), op_(op) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> driver) {
    if (op_.outer_node.task == nullptr) local_begin_drive(core_, op_.outer_node, driver);
    return local_step(core_, op_, op_.outer_node);
  }
  void await_resume() const noexcept {}

 private:
  local_core& core_;
  nested_cell_base& op_;
};

/// Ends the drive when the driver's frame goes; see local_end_drive.
class local_drive_guard {
 public:
  local_drive_guard(local_core& core, nested_cell_base& op) noexcept : core_(core), op_(op) {}
  local_drive_guard(const local_drive_guard&) = delete;
  local_drive_guard& operator=(const local_drive_guard&) = delete;
  ~local_drive_guard() {
    if (op_.outer_node.task != nullptr) {
      local_end_drive(core_, op_, op_.outer_node);
    } else if (!op_.is_complete()) {
      op_.shutdown();  // the first step threw: the operation never ran
    }
  }

 private:
  local_core& core_;
  nested_cell_base& op_;
};

/// run_until's driver: runs `inner` and the set's tasks until `inner`
/// completes; gives its result or rethrows.
template <class R>
task<R> local_drive(local_core& core, task<R> inner) {
  nested_cell<R> cell(std::move(inner));
  cell.sched = local_op_scheduler(core);
  local_drive_guard guard(core, cell);
  while (!cell.is_complete())
    co_await local_step_awaiter(core, cell);
  if constexpr (std::is_void_v<R>) {
    cell.result.take();
  } else {
    co_return cell.result.take();
  }
}

}  // namespace kyoto::detail
