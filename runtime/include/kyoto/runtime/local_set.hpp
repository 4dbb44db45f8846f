// kyoto::local_set and kyoto::spawn_local: tasks that always run on the
// thread that spawned them (tokio's task::LocalSet and task::spawn_local),
// for state that must stay on one thread (a thread-affine C library
// handle, a non-thread-safe cache, a thread_local).
//
//   kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
//   kyoto::local_set local;
//   local.block_on(rt, [&]() -> kyoto::task<> {
//     auto h = kyoto::spawn_local(uses_thread_affine_state());
//     co_await h;
//   }());
//
// A local_set is a set of tasks with a scheduler of its own but no thread:
// its tasks run only while the set is *run*, inside `co_await
// set.run_until(op)` (or set.block_on(rt, op)), on the thread that created
// the set. The protocol is described in runtime/src/task/local_core.hpp.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/local_run.hpp>
#include <kyoto/runtime/detail/nested_run.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>

#include <tuple>
#include <utility>

namespace kyoto {

namespace detail {

template <class T>
join_handle<T> local_submit(local_core& core, task_cell<T>* cell) noexcept {
  cell->set_identity({}, nullptr);  // a fresh id; the location is not recorded
  local_spawn(core, cell);
  return join_handle_access::make(cell);
}

template <class T>
join_handle<T> spawn_local_on(local_core& core, task<T>&& t) {
  if (!t.valid()) throw_spawn_empty();
  if (task_access::handle(t).promise().phase_ != task_phase::not_started) throw_spawn_started();
  return local_submit<T>(core, spawned_cell<T, std::tuple<>>::adopt(std::move(t)));
}

template <class F, class... Args>
auto spawn_local_on(local_core& core, F&& f, Args&&... args) {
  using T = factory_value_t<F, Args...>;
  using cell = spawned_cell<T, std::tuple<std::decay_t<F>, std::decay_t<Args>...>>;
  return local_submit<T>(core, cell::create(std::forward<F>(f), std::forward<Args>(args)...));
}

}  // namespace detail

/// A set of tasks that run only on the thread that created the set
/// (tokio's LocalSet). Local tasks are spawned with spawn_local (the
/// member, or kyoto::spawn_local from inside the set) and run while the set
/// is run: inside `co_await set.run_until(op)`, which runs them alongside
/// `op` until `op` completes, or `set.block_on(rt, op)`. Tasks left
/// unfinished when run_until returns stay in the set and continue at the
/// next run; a set destroyed with tasks pending cancels them (destroys
/// their frames, on the destroying thread), as tokio's does.
///
/// Where it can run: its tasks must never change threads, so run_until is
/// awaited only by a task of a current_thread runtime (whose tasks all run
/// on the thread that calls block_on), or by a task of another local set;
/// and only on the thread that created the set. On a multi_thread runtime,
/// use a current_thread runtime on a thread of its own for the local work.
///
/// Wakes reach local tasks from any thread (a channel sender on a worker,
/// a waker, an abort): they are queued to the set and run at its next
/// step. A local task's join_handle may be awaited anywhere.
///
/// The set may outlive the runtime it ran on: it keeps the runtime's
/// scheduler object (not the runtime: its threads and ring are gone) until
/// it is destroyed, so its tasks' destructors can still unregister their
/// timers. Their I/O ended with the runtime's shutdown.
///
/// Thread safety: every member only on the thread that created the set
/// (std::logic_error otherwise). Cancel safety: cancelling a run_until
/// cancels `op`; the set's tasks stay in the set.
class KYOTO_EXPORT local_set {
 public:
  /// An empty set owned by the calling thread.
  local_set();
  /// Cancels every task left in the set. Must not run while the set is
  /// being run (from one of its own tasks): that terminates the program.
  ~local_set();
  local_set(const local_set&) = delete;
  local_set& operator=(const local_set&) = delete;

  /// Spawns `t` into the set and returns its join_handle (tokio's
  /// LocalSet::spawn_local). It first runs when the set is next run (at
  /// once if the calling task is running the set). Throws std::logic_error
  /// off the owner thread, or if `t` is empty or started.
  template <class T>
  join_handle<T> spawn_local(task<T> t) {
    detail::local_check_owner(*core_, "kyoto::local_set::spawn_local");
    return detail::spawn_local_on(*core_, std::move(t));
  }

  /// Spawns `f(args...)` into the set, keeping the callable and arguments
  /// alive for the task's life (as kyoto::spawn(f, args...)).
  template <class F, class... Args>
    requires detail::task_factory<F, Args...>
  auto spawn_local(F&& f, Args&&... args) {
    detail::local_check_owner(*core_, "kyoto::local_set::spawn_local");
    return detail::spawn_local_on(*core_, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Runs `op` (a task, or any awaitable) and the set's tasks on the
  /// awaiting task's thread until `op` completes (tokio's
  /// LocalSet::run_until); gives op's value or rethrows its exception.
  /// Inside `op` and the set's tasks, kyoto::spawn_local spawns into this
  /// set. The set runs at most 61 of its tasks between two turns of the
  /// enclosing runtime, so neither starves the other.
  ///
  /// Throws std::logic_error, naming kyoto::local_set::run_until, when
  /// awaited outside a task, off the owner thread, from a task that may
  /// change threads (a multi_thread runtime's), or while the set is
  /// already being run. Resumed on the awaiting task's thread. Cancel
  /// safety: cancelling the await destroys `op` (rvalue) at once; the
  /// set's own tasks are left to the next run.
  template <class A>
    requires detail::awaitable<A>
  [[nodiscard]] task<detail::await_result_t<A>> run_until(A&& op) {
    return detail::local_drive(
        *core_, detail::nested_root(static_cast<A&&>(op), "kyoto::local_set::run_until"));
  }

  /// `rt.block_on(run_until(op))` (tokio's LocalSet::block_on): `rt` must
  /// be a current_thread runtime, whose tasks run on this thread (a
  /// multi_thread one throws std::logic_error from run_until). Blocks the
  /// calling thread; not from a runtime thread.
  template <class A>
    requires detail::awaitable<A>
  detail::await_result_t<A> block_on(runtime& rt, A&& op) {
    return rt.block_on(run_until(static_cast<A&&>(op)));
  }

 private:
  detail::local_core* core_;
};

/// Spawns `t` into the local_set being run on the calling thread (tokio's
/// task::spawn_local): from `op` of a run_until, or from one of the set's
/// tasks. The task always runs on this thread. Throws std::logic_error
/// naming kyoto::spawn_local anywhere else (a plain task, a thread with no
/// local set), or if `t` is empty or started.
template <class T>
join_handle<T> spawn_local(task<T> t) {
  return detail::spawn_local_on(detail::current_local_core("kyoto::spawn_local"), std::move(t));
}

/// Spawns `f(args...)` into the running local_set, keeping the callable
/// and arguments alive for the task's life; otherwise as spawn_local(task).
template <class F, class... Args>
  requires detail::task_factory<F, Args...>
auto spawn_local(F&& f, Args&&... args) {
  return detail::spawn_local_on(detail::current_local_core("kyoto::spawn_local"),
                                std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace kyoto
