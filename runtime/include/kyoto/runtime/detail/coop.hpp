// Cooperative scheduling: the budget (tokio's runtime/coop.rs).
//
// A task that keeps completing awaits without suspending (a channel that
// always has a value) would never give its thread back: its neighbours and
// the driver (timers, I/O) would starve. So each run of a task gets a
// budget of `coop_budget` operations; an operation that could complete at
// once consumes one unit, and once the budget is spent it yields first (the
// task goes to the back of the queue) and completes when the task runs
// again. Operations that suspend anyway consume nothing.
//
// What "yield first" means is up to each operation, so that it stays cancel
// safe: a receive claims nothing and takes its value on resumption (the
// value cannot go away meanwhile: there is one receiver); a bounded send
// takes its slot as a grant and sends on resumption (cancelled, it passes
// the grant on, as a waiting send does).
#pragma once

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <cstdint>

namespace kyoto::detail {

/// Operations a task may complete without suspending per run (tokio: 128).
inline constexpr std::uint32_t coop_budget = 128;

/// Consumes one unit of the running task's budget; false when it is spent
/// (the operation must yield first).
inline bool coop_proceed() noexcept {
  std::uint32_t& b = current_context.budget;
  if (b == 0) [[unlikely]]
    return false;
  --b;
  return true;
}

/// Queues the awaiting coroutine behind the ready tasks (as yield_now):
/// the budget's yield. `node` must be prepared already.
inline void coop_yield(wake_node& node) noexcept {
  node.task->yield(&node);
}

}  // namespace kyoto::detail
