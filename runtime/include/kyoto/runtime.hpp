// Everything of kyoto's task runtime: task, spawn, join_handle, yield_now,
// join, join_all, runtime, handle.
#pragma once

#include <kyoto/runtime/abort_handle.hpp>
#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/join.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/join_set.hpp>
#include <kyoto/runtime/metrics.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/task_local.hpp>
#include <kyoto/runtime/try_join.hpp>
#include <kyoto/runtime/unconstrained.hpp>
#include <kyoto/runtime/yield_now.hpp>
