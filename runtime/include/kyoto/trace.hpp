// Spans and events that survive co_await (tokio's tracing): span,
// instrument, and the events trace/debug/info/warn/error.
/// \namespace kyoto::trace
/// Structured diagnostics: spans with fields that follow a task across
/// suspensions and workers, and events printed in their context.
#pragma once

#include <kyoto/trace/event.hpp>
#include <kyoto/trace/span.hpp>
