// kyoto::streams: tokio-stream's StreamExt adapters, its stream::{iter,
// once, empty, pending} and its wrappers, composed with `|`:
//
//   auto evens = streams::receiver_stream(std::move(rx))
//              | streams::filter([](const int& v) { return v % 2 == 0; })
//              | streams::map([](int v) { return v * 10; });
//
// Cancel safety per adapter is in each header and in docs/streams.md.
/// \namespace kyoto::streams
/// Stream adapters composed with `|`, stream sources and wrappers
/// (tokio-stream; docs/streams.md).
#pragma once

#include <kyoto/stream.hpp>
#include <kyoto/stream/async_stream.hpp>
#include <kyoto/stream/stream_map.hpp>
#include <kyoto/streams/combine.hpp>
#include <kyoto/streams/consume.hpp>
#include <kyoto/streams/pipe.hpp>
#include <kyoto/streams/sources.hpp>
#include <kyoto/streams/time.hpp>
#include <kyoto/streams/transform.hpp>
#include <kyoto/streams/wrappers.hpp>
