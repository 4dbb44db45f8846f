// kyoto::signal::ctrl_c: wait for Ctrl-C, SIGINT (tokio's signal::ctrl_c).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

namespace kyoto::signal {

/// Completes when SIGINT is delivered to the process (tokio's ctrl_c()).
///
///   co_await kyoto::signal::ctrl_c();
///   // shut down gracefully
///
/// Registers at the call (kyoto's handler for SIGINT replaces the default
/// one, which would have ended the process, for the rest of the process
/// life: see docs/signal.md), so a SIGINT delivered after the call and
/// before the await is not missed. Throws std::system_error at the call if
/// the handler cannot be installed. The task is resumed on the awaiting
/// task's thread; cancel safe (nothing is consumed by a cancelled wait).
[[nodiscard]] KYOTO_EXPORT kyoto::task<> ctrl_c();

}  // namespace kyoto::signal
