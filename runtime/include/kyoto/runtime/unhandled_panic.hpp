// kyoto::unhandled_panic: what a runtime does when a spawned task ends with
// an exception (tokio's UnhandledPanic).
#pragma once

namespace kyoto {

/// What a runtime does when one of its spawned tasks ends with an exception
/// (tokio::runtime::UnhandledPanic), set with
/// runtime::builder::unhandled_panic().
///
/// Either way, an exception nobody will observe (the task's join_handle was
/// dropped) is printed to stderr through kyoto's logger at error level,
/// with the task's spawn information, unless `KYOTO_LOG=off`.
///
/// Thread safety: a value.
enum class unhandled_panic : unsigned char {
  /// The default: the exception stays in the task's result, for its
  /// join_handle (tokio's Ignore).
  ignore,
  /// The runtime shuts down when a spawned task (not block_on's own task)
  /// ends with an exception, joined or not (tokio's ShutdownRuntime): every
  /// running block_on is cancelled and throws std::runtime_error naming the
  /// exception, every task is cancelled, and every later block_on throws
  /// std::logic_error. With no block_on running, the shutdown happens at the
  /// next block_on or when the runtime is destroyed.
  shutdown_runtime,
};

}  // namespace kyoto
