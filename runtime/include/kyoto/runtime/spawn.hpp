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
#include <memory>
#include <source_location>
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

/// False, but only once `F` is known: the static_assert of the spawn
/// overloads that take four or more arguments fires when one is called,
/// not when the header is read.
template <class F>
inline constexpr bool spawn_arity_error = false;

[[noreturn]] KYOTO_EXPORT void throw_spawn_empty();
[[noreturn]] KYOTO_EXPORT void throw_spawn_started();

/// Where a spawn was called from: the defaulted last parameter of the
/// spawn functions. A distinct type, so that a std::source_location passed
/// as the task's own argument is never taken for it.
struct call_site {
  struct tag {};
  constexpr call_site(std::source_location l, tag) noexcept : location(l) {}
  std::source_location location;
};

/// What spawn records about a task besides its id: where it was spawned
/// and, for task_builder, its name (owned until submit takes it).
struct spawn_site {
  std::source_location location{};
  std::unique_ptr<named_site> named{};
};

/// Calls the runtime's on_task_spawn hook, if set, for `task`.
KYOTO_EXPORT void call_spawn_hook(const task_hooks& hooks, const task_header& task) noexcept;

template <class T>
join_handle<T> submit(scheduler& s, task_cell<T>* cell, spawn_site site = {}) noexcept {
  cell->set_identity(site.location, site.named.release());
  cell->sched = &s;
  if (s.hooks != nullptr) [[unlikely]]
    call_spawn_hook(*s.hooks, *cell);
  s.spawn(cell);
  return join_handle_access::make(cell);
}

template <class T>
join_handle<T> spawn_at(scheduler& s, spawn_site site, task<T>&& t) {
  if (!t.valid()) throw_spawn_empty();
  if (task_access::handle(t).promise().phase_ != task_phase::not_started) throw_spawn_started();
  return submit<T>(s, spawned_cell<T, std::tuple<>>::adopt(std::move(t)), std::move(site));
}

template <class F, class... Args>
auto spawn_at(scheduler& s, spawn_site site, F&& f, Args&&... args) {
  using T = factory_value_t<F, Args...>;
  using cell = spawned_cell<T, std::tuple<std::decay_t<F>, std::decay_t<Args>...>>;
  return submit<T>(s, cell::create(std::forward<F>(f), std::forward<Args>(args)...),
                   std::move(site));
}

template <class T>
join_handle<T> spawn_on(scheduler& s, task<T>&& t) {
  return spawn_at(s, {}, std::move(t));
}

template <class F, class... Args>
auto spawn_on(scheduler& s, F&& f, Args&&... args) {
  return spawn_at(s, {}, std::forward<F>(f), std::forward<Args>(args)...);
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
///
/// The task gets a fresh kyoto::task_id (join_handle::id()) and records
/// the line that called spawn (`site`, left to its default), which the
/// runtime's task hooks and dumps show.
template <class T>
join_handle<T> spawn(task<T> t,
                     detail::call_site site = detail::call_site(std::source_location::current(),
                                                                {})) {
  return detail::spawn_at(detail::current_scheduler("kyoto::spawn"), {site.location, {}},
                          std::move(t));
}

/// Spawns `f(args...)`: stores the callable and the arguments in the task,
/// then calls the callable once, with them as rvalues, to make the task. The
/// stored callable (a capturing lambda's captures) and arguments live until
/// the task finishes, so coroutine lambdas and reference parameters are
/// safe. Otherwise as spawn(task).
///
/// At most three arguments: the spawn location is a defaulted parameter
/// after them, and a defaulted parameter cannot follow a pack, so each
/// arity is its own overload. More arguments do not compile; bind them in
/// a lambda instead (tokio's spawn takes no arguments at all):
///
///     kyoto::spawn([=] { return f(a, b, c, d); });
template <class F>
  requires detail::task_factory<F>
auto spawn(F&& f, detail::call_site site = detail::call_site(std::source_location::current(), {})) {
  return detail::spawn_at(detail::current_scheduler("kyoto::spawn"), {site.location, {}},
                          std::forward<F>(f));
}

/// spawn(f, args...) with one argument; see above.
template <class F, class A1>
  requires detail::task_factory<F, A1>
auto spawn(F&& f, A1&& a1,
           detail::call_site site = detail::call_site(std::source_location::current(), {})) {
  return detail::spawn_at(detail::current_scheduler("kyoto::spawn"), {site.location, {}},
                          std::forward<F>(f), std::forward<A1>(a1));
}

/// spawn(f, args...) with two arguments; see above.
template <class F, class A1, class A2>
  requires detail::task_factory<F, A1, A2>
auto spawn(F&& f, A1&& a1, A2&& a2,
           detail::call_site site = detail::call_site(std::source_location::current(), {})) {
  return detail::spawn_at(detail::current_scheduler("kyoto::spawn"), {site.location, {}},
                          std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
}

/// spawn(f, args...) with three arguments; see above.
template <class F, class A1, class A2, class A3>
  requires detail::task_factory<F, A1, A2, A3>
auto spawn(F&& f, A1&& a1, A2&& a2, A3&& a3,
           detail::call_site site = detail::call_site(std::source_location::current(), {})) {
  return detail::spawn_at(detail::current_scheduler("kyoto::spawn"), {site.location, {}},
                          std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                          std::forward<A3>(a3));
}

/// spawn(f, args...) with four or more arguments: a compile error (see
/// above).
template <class F, class A1, class A2, class A3, class A4, class... Rest>
void spawn(F&&, A1&&, A2&&, A3&&, A4&&, Rest&&...) {
  static_assert(detail::spawn_arity_error<F>,
                "kyoto::spawn(f, args...) takes at most three arguments after f, so that it "
                "can record where it was called from: bind the arguments in a lambda, e.g. "
                "kyoto::spawn([=] { return f(a, b, c, d); })");
}

}  // namespace kyoto
