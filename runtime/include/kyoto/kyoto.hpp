// All of kyoto. Each concept also has its own header, e.g.
// <kyoto/sync/mpsc.hpp>, <kyoto/runtime/spawn.hpp>.
/// \namespace kyoto
/// tokio for C++20: an async runtime on io_uring. The runtime, tasks and
/// their handles (<kyoto/runtime.hpp>), byte buffers (<kyoto/bytes.hpp>)
/// and async generators (<kyoto/stream.hpp>) live here; I/O, sockets,
/// files, timers, synchronisation, codecs and stream adapters in the nested
/// namespaces.
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/codec.hpp>
#include <kyoto/fs.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/main.hpp>
#include <kyoto/net.hpp>
#include <kyoto/process.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/runtime/task_tracker.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/sim.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/streams.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>
#include <kyoto/trace.hpp>
