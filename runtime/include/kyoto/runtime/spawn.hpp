// kyoto::spawn: start a task running concurrently with the caller.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>

#include <concepts>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

/// A callable that, invoked once with its arguments as rvalues, returns a
/// kyoto::task.
template <class F, class... Args>
concept task_factory =
    std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...> &&
    is_task<std::invoke_result_t<std::decay_t<F>&&, std::decay_t<Args>&&...>>::value;

template <class F, class... Args>
using factory_value_t =
    typename std::invoke_result_t<std::decay_t<F>&&, std::decay_t<Args>&&...>::value_type;

/// The calling thread's scheduler; throws std::logic_error naming `op` on a
/// thread that is not running a kyoto runtime.
inline scheduler& current_scheduler(const char* op) {
  scheduler* s = current_context.sched;
  if (s == nullptr) [[unlikely]]
    throw_outside_runtime(op);
  return *s;
}

[[noreturn]] KYOTO_EXPORT void throw_spawn_empty();
[[noreturn]] KYOTO_EXPORT void throw_spawn_started();

template <class T>
join_handle<T> submit(scheduler& s, task_cell<T>* cell) noexcept {
  cell->sched = &s;
  s.spawn(cell);
  return join_handle_access::make(cell);
}

template <class T>
join_handle<T> spawn_on(scheduler& s, task<T>&& t) {
  if (!t.valid()) throw_spawn_empty();
  if (task_access::handle(t).promise().phase_ != task_phase::not_started) throw_spawn_started();
  return submit<T>(s, spawned_cell<T, std::tuple<>>::adopt(std::move(t)));
}

template <class F, class... Args>
auto spawn_on(scheduler& s, F&& f, Args&&... args) {
  using T = factory_value_t<F, Args...>;
  using cell = spawned_cell<T, std::tuple<std::decay_t<F>, std::decay_t<Args>...>>;
  return submit<T>(s, cell::create(std::forward<F>(f), std::forward<Args>(args)...));
}

}  // namespace detail

/// Spawns `t` on the calling thread's runtime and returns its join_handle
/// (tokio::spawn). The task starts running when its runtime gets to it, in
/// parallel with the caller; dropping the handle detaches it.
///
/// Must be called from a runtime thread (inside a task or block_on);
/// elsewhere, use `runtime::spawn` or `handle::spawn`. Throws
/// std::logic_error otherwise, or if `t` is empty.
///
/// Beware: a task made by calling a capturing lambda refers to the lambda
/// object, which dies at the end of the full-expression; spawn the lambda
/// itself (the overload below) so the runtime keeps it alive.
template <class T>
join_handle<T> spawn(task<T> t) {
  return detail::spawn_on(detail::current_scheduler("kyoto::spawn"), std::move(t));
}

/// Spawns `f(args...)`: stores the callable and the arguments in the task,
/// then calls the callable once, with them as rvalues, to make the task. The
/// stored callable (a capturing lambda's captures) and arguments live until
/// the task finishes, so coroutine lambdas and reference parameters are
/// safe. Otherwise as spawn(task).
template <class F, class... Args>
  requires detail::task_factory<F, Args...>
auto spawn(F&& f, Args&&... args) {
  return detail::spawn_on(detail::current_scheduler("kyoto::spawn"), std::forward<F>(f),
                          std::forward<Args>(args)...);
}

}  // namespace kyoto
