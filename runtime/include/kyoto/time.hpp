// kyoto::time: sleep, sleep_until, instant.
#pragma once

#include <kyoto/time/sleep.hpp>
