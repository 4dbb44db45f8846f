// kyoto::time: sleep, sleep_until, instant; timeout, timeout_at, elapsed;
// interval, interval_at, missed_tick_behavior. See docs/time.md.
#pragma once

#include <kyoto/time/interval.hpp>
#include <kyoto/time/sleep.hpp>
#include <kyoto/time/timeout.hpp>
