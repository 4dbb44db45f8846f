// kyoto::time: sleep, sleep_until, instant; timeout, timeout_at, elapsed;
// interval, interval_at, missed_tick_behavior. See docs/time.md.
/// \namespace kyoto::time
/// Timers on kyoto's monotonic clock: sleep, timeout, interval (tokio::time;
/// docs/time.md).
#pragma once

#include <kyoto/time/clock.hpp>
#include <kyoto/time/interval.hpp>
#include <kyoto/time/pause.hpp>
#include <kyoto/time/sleep.hpp>
#include <kyoto/time/timeout.hpp>
