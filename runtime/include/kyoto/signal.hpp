// kyoto::signal: asynchronous Unix signal handling (tokio's signal).
#pragma once

#include <kyoto/signal/ctrl_c.hpp>
#include <kyoto/signal/unix/signal.hpp>
#include <kyoto/signal/unix/signal_kind.hpp>
