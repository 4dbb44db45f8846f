// The one check that a blocking call (a sync primitive's blocking_*, the
// runtime's block_on) is not made on a runtime thread, where blocking
// would stall every task that thread runs.
#pragma once

#include <kyoto/runtime/detail/context.hpp>

#include <stdexcept>
#include <string>

namespace kyoto::detail {

/// Throws std::logic_error: `operation` blocks, and was called on a runtime
/// thread. Out of the callers' hot paths (cold, never inlined).
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_blocking_in_runtime(
    const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": called from a runtime thread, where blocking would stall every task "
                         "on it (co_await the async form instead)");
}

/// Throws std::logic_error naming `operation` if the calling thread runs a
/// runtime's tasks (current_context.sched is set); otherwise does nothing.
/// Any thread.
inline void check_blocking_allowed(const char* operation) {
  if (current_context.sched != nullptr) [[unlikely]]
    throw_blocking_in_runtime(operation);
}

}  // namespace kyoto::detail
