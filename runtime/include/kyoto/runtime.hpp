// Everything of kyoto's task runtime, one header per concept: runtime and
// handle; task, spawn and spawn_blocking; join_handle, abort_handle and
// join_set; join/join_all, try_join, select; yield_now, unconstrained,
// task_local; result and metrics.
// Also task_builder and task_id (names and ids), local_set, block_in_place,
// waker, unhandled_panic and dump.
#pragma once

#include <kyoto/runtime/abort_handle.hpp>
#include <kyoto/runtime/block_in_place.hpp>
#include <kyoto/runtime/concentration.hpp>
#include <kyoto/runtime/dump.hpp>
#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/io_backend.hpp>
#include <kyoto/runtime/join.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/join_set.hpp>
#include <kyoto/runtime/local_set.hpp>
#include <kyoto/runtime/metrics.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/task_builder.hpp>
#include <kyoto/runtime/task_id.hpp>
#include <kyoto/runtime/task_local.hpp>
#include <kyoto/runtime/try_join.hpp>
#include <kyoto/runtime/unconstrained.hpp>
#include <kyoto/runtime/unhandled_panic.hpp>
#include <kyoto/runtime/waker.hpp>
#include <kyoto/runtime/yield_now.hpp>
