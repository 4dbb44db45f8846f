// Whether a multi_thread runtime's tasks gather on worker 0 while other
// processes keep the CPUs busy (docs/architecture.md, "Scheduler").
#pragma once

#include <cstdint>

namespace kyoto {

/// When a multi_thread runtime concentrates its tasks on kyoto-worker-0
/// (runtime::builder::concentration). Each worker owns an io_uring ring,
/// so a connection whose two ends run on two workers costs a wake-up at
/// every hand-off; while our threads wait for a CPU those wake-ups wait
/// too, and one worker serving everything moves more. Never behind a
/// worker 0 stuck in one task: the watchdog lets the others take work
/// again. current_thread and deterministic runtimes have one worker and
/// ignore it.
enum class concentration : std::uint8_t {
  /// The KYOTO_CONCENTRATE environment variable's choice (auto, on or
  /// off); unset or auto: when_contended.
  automatic,
  /// For a while (16 ms, doubling up to 1 s while it lasts) each time a
  /// parking worker finds the runtime's threads waiting for a CPU.
  when_contended,
  /// For the runtime's whole life (what KYOTO_CONCENTRATE=on gives; tests).
  always,
  /// Never: the tasks always spread over every worker.
  never,
};

}  // namespace kyoto
