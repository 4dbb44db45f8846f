// kyoto::spawn_blocking: run blocking code on a thread of its own.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

template <class F, class... Args>
using blocking_result_t = std::invoke_result_t<std::decay_t<F>&&, std::decay_t<Args>&&...>;

/// The root coroutine of a blocking task: calls the function, once.
template <class R, class F, class... Args>
task<R> call_blocking(F f, Args... args) {
  if constexpr (std::is_void_v<R>) {
    std::invoke(std::move(f), std::move(args)...);
    co_return;
  } else {
    co_return std::invoke(std::move(f), std::move(args)...);
  }
}

template <class F, class... Args>
auto spawn_blocking_on(scheduler& s, F&& f, Args&&... args) {
  using R = blocking_result_t<F, Args...>;
  scheduler& pool = s.blocking_pool();
  task<R> t = call_blocking<R, std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(f),
                                                                       std::forward<Args>(args)...);
  return submit<R>(pool, spawned_cell<R, std::tuple<>>::adopt(std::move(t)));
}

}  // namespace detail

/// Runs `f(args...)` on the runtime's blocking pool and returns its
/// join_handle (tokio::task::spawn_blocking). For code that blocks its
/// thread (file APIs, CPU-heavy work, a C library) and must not stall a
/// worker. The callable and arguments are moved to the pool's thread.
///
/// The pool makes threads on demand, up to runtime::builder's
/// max_blocking_threads, and lets idle ones go after thread_keep_alive.
/// Dropping the runtime waits for the blocking tasks spawned before it, queued
/// or running (they cannot be interrupted); runtime::shutdown_timeout bounds
/// that wait. One spawned after the runtime is gone is cancelled at once; one
/// aborted before it starts does not run.
///
/// Must be called from a runtime thread (std::logic_error otherwise); from
/// elsewhere use runtime::spawn_blocking or handle::spawn_blocking. The
/// function runs on a plain thread: kyoto::spawn and handle::current() are
/// not available there (capture a handle), blocking_* calls are.
template <class F, class... Args>
  requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
auto spawn_blocking(F&& f, Args&&... args) {
  return detail::spawn_blocking_on(detail::current_scheduler("kyoto::spawn_blocking"),
                                   std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace kyoto
