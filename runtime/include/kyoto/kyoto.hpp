// All of kyoto. Each concept also has its own header, e.g.
// <kyoto/sync/mpsc.hpp>, <kyoto/runtime/spawn.hpp>.
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/fs.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/main.hpp>
#include <kyoto/net.hpp>
#include <kyoto/process.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/runtime/task_tracker.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>
