// The process-wide signal registry: one slot per signal number, what a
// listener waits on. The delivery protocol is written at the top of
// runtime/src/signal/registry.cpp.
#pragma once

#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>

namespace kyoto::detail {

/// What the listeners of one signal share. Slots are created once per
/// signal number and never destroyed (the handler stays installed for the
/// life of the process, as tokio's does).
struct signal_slot {
  /// How many batches of deliveries the dispatcher has published (several
  /// deliveries between two dispatches coalesce into one). Written (release
  /// increment) only by the dispatcher thread; read (acquire) by listeners.
  atomic<std::uint64_t> generation{0};
  /// Woken (notify_waiters) by the dispatcher after each increment.
  kyoto::sync::notify waiters;
};

/// Installs kyoto's handler for `signum` (once per process), starts the
/// dispatcher thread (once), and returns the signal's slot. Throws
/// std::invalid_argument naming the signal for a number that is not a
/// signal or that kyoto never handles (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
/// SIGKILL, SIGSTOP), std::system_error if sigaction, the pipe or the
/// thread cannot be made. Any thread; takes the registry's lock.
KYOTO_EXPORT signal_slot& signal_register(int signum);

}  // namespace kyoto::detail
