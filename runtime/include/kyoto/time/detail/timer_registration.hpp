// Registering a timer_entry with the calling thread's driver (its timer
// wheel): what sleep, timeout and timed channel operations share. Defined
// in runtime/src/time/sleep.cpp.
#pragma once

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/time/detail/timer_entry.hpp>

#include <chrono>

namespace kyoto::detail {

/// Registers `e` with the calling thread's driver; false if already due.
KYOTO_EXPORT bool register_timer(timer_entry* e, std::chrono::steady_clock::time_point deadline);
/// Unregisters `e` unless it fired; returns false if it fired (its waiter
/// was woken, under the driver's lock). Any thread.
KYOTO_EXPORT bool cancel_timer(timer_entry* e) noexcept;

}  // namespace kyoto::detail
