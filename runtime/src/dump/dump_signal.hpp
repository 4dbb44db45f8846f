// Task dumps on a signal (runtime::builder::dump_on_signal,
// KYOTO_DUMP_SIGNAL); the mechanism is described in dump_signal.cpp.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <memory>

namespace kyoto::detail {

class scheduler;

/// Prints a dump of `s` to stderr whenever the process receives `signum`,
/// for as long as `s` lives: installs the handler (once per signal) and
/// starts the printing thread (once per process). Throws
/// std::invalid_argument for a signal kyoto cannot handle,
/// std::system_error if the pipe, the thread or sigaction fails. Any
/// thread.
KYOTO_EXPORT void enable_dump_on_signal(const std::shared_ptr<scheduler>& s, int signum);

/// KYOTO_DUMP_SIGNAL's value ("SIGQUIT", "QUIT", "3") as a signal number.
/// Throws std::invalid_argument naming the variable otherwise.
KYOTO_EXPORT int parse_dump_signal(const char* text);

/// How many signal dumps the printing thread has written (for tests).
KYOTO_EXPORT std::uint64_t signal_dumps_printed() noexcept;

/// Blocks until signal_dumps_printed() differs from `old` (for tests).
KYOTO_EXPORT void wait_signal_dumps_printed(std::uint64_t old) noexcept;

}  // namespace kyoto::detail
