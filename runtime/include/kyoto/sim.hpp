// kyoto::sim: simulated networks for deterministic tests (tokio's turmoil).
#pragma once

#include <kyoto/sim/network.hpp>
