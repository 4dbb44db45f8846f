// runtime::builder::unhandled_panic(shutdown_runtime): the scheduler wrapper
// that shuts its runtime down when a spawned task ends with an exception.
#pragma once

#include <kyoto/runtime/detail/scheduler.hpp>

#include <memory>

namespace kyoto::detail {

/// Wraps `inner` (a runtime's scheduler, just built) so that a spawned task
/// ending with an exception shuts the runtime down; see
/// kyoto::unhandled_panic::shutdown_runtime.
std::shared_ptr<scheduler> shut_down_on_task_exception(std::shared_ptr<scheduler> inner);

}  // namespace kyoto::detail
