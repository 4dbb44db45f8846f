// kyoto::task_local<T>: a value scoped to an awaitable and everything it
// awaits (tokio::task_local!).
//
// A scope runs its awaitable as a nested task (detail/nested_run.hpp):
// every run of the awaitable's coroutines happens inside one call made by
// the scope, and the scope pushes its binding on the thread's context
// (`context::locals`) just around that call. So the value is there
// whenever the scoped coroutines run — on whichever worker, after any
// suspension — and nowhere else: not in another branch of a join that
// encloses the scope, not in another task on the same worker, not in a task
// spawned from inside the scope (as in tokio, spawned tasks do not inherit
// task-locals).
//
// Lookup walks the bindings in force on the thread, innermost first (a
// scope of the same task_local nested inside another shadows it): a few
// pointer hops for the usual one or two scopes.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/join_branch.hpp>
#include <kyoto/runtime/detail/nested_run.hpp>

#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

/// The nested-run hook of a task_local scope: pushes the binding around
/// every run of the scoped coroutines. Lives in the scope's driver frame.
template <class T>
struct local_scope_hook {
  static constexpr const char* operation = "kyoto::task_local::scope";

  local_scope_hook(const void* key, T&& v) : value(std::move(v)) { binding.key = key; }
  local_scope_hook(local_scope_hook&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value(std::move(o.value)) {
    binding.key = o.binding.key;
  }

  void enter() noexcept {
    binding.value = std::addressof(value);
    binding.outer = current_context.locals;
    current_context.locals = &binding;
  }
  void leave() noexcept { current_context.locals = binding.outer; }

  T value;
  local_binding binding;
};

[[noreturn]] inline void throw_local_unset() {
  throw std::logic_error(
      "kyoto::task_local::get: no value is set here (only code running inside this "
      "task_local's scope() or sync_scope() sees one)");
}

}  // namespace detail

/// A value visible to an awaitable and everything it awaits (tokio's
/// task_local! / LocalKey). Declare one per key, usually at namespace
/// scope:
///
///     inline kyoto::task_local<std::string> REQUEST_ID;
///     co_await REQUEST_ID.scope("req-42", handle_request());
///     // inside handle_request() and whatever it awaits:
///     log(REQUEST_ID.get());
///
/// The value lives in the scope and is destroyed when it ends. It is
/// visible wherever the scoped awaitable's coroutines run: across
/// suspensions, after the task moved to another worker, in the branches of
/// a join inside the scope, and in the destructors that run when the scope
/// is cancelled. It is not visible to other tasks, to tasks spawned inside
/// the scope, or to the enclosing task's code outside the scope.
///
/// Thread safety: a task_local object is a key and holds no value; all its
/// members may be used from any thread at once. get() returns the value of
/// the scope the calling code runs in, which only that code uses (one
/// thread at a time).
template <class T>
class task_local {
 public:
  constexpr task_local() noexcept = default;
  task_local(const task_local&) = delete;
  task_local& operator=(const task_local&) = delete;

  /// Awaits `a` with this task_local set to `value` (tokio's
  /// LocalKey::scope) and gives its result or rethrows its exception.
  /// Returns a lazy task: nothing runs until it is awaited or spawned, so
  /// `kyoto::spawn(KEY.scope(v, work()))` runs a whole task in the scope.
  ///
  /// `a` is any awaitable: a task, a join_handle, a channel operation...;
  /// an rvalue is moved into the scope (and destroyed inside it), an lvalue
  /// is awaited in place and must make a fresh awaiter, as for join().
  /// The returned task must be awaited inside a runtime task (it throws
  /// std::logic_error otherwise).
  ///
  /// Cancel safety: cancelling the scope cancels `a` (its destructors see
  /// the value); whether that loses anything is `a`'s own cancel safety.
  /// Each resumption inside the scope costs one extra resumption and one
  /// extra wake of the enclosing task (detail/nested_run.hpp).
  template <class A>
    requires detail::awaitable<A> && detail::join_operand<A>
  [[nodiscard]] task<detail::await_result_t<A>> scope(T value, A&& a) const {
    using R = detail::await_result_t<A>;
    return detail::run_nested<R>(
        detail::local_scope_hook<T>(this, std::move(value)),
        detail::nested_root(static_cast<A&&>(a), "kyoto::task_local::scope"));
  }

  /// Calls `f(args...)` with this task_local set to `value`, synchronously
  /// (tokio's LocalKey::sync_scope); gives what it returns. Any thread.
  template <class F, class... Args>
    requires std::invocable<F&&, Args&&...>
  decltype(auto) sync_scope(T value, F&& f, Args&&... args) const {
    local_binding_guard guard(this, std::addressof(value));
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// The value of the innermost scope the calling code runs in (tokio's
  /// LocalKey::get / with). Throws std::logic_error when there is none.
  T& get() const {
    T* v = try_get();
    if (v == nullptr) [[unlikely]]
      detail::throw_local_unset();
    return *v;
  }

  /// The value of the innermost scope the calling code runs in, or null
  /// (tokio's LocalKey::try_with).
  T* try_get() const noexcept {
    for (const detail::local_binding* b = detail::current_context.locals; b != nullptr;
         b = b->outer) {
      if (b->key == this) return static_cast<T*>(b->value);
    }
    return nullptr;
  }

 private:
  /// Pushes a binding for the duration of sync_scope().
  class local_binding_guard {
   public:
    local_binding_guard(const void* key, T* value) noexcept {
      binding_.key = key;
      binding_.value = value;
      binding_.outer = detail::current_context.locals;
      detail::current_context.locals = &binding_;
    }
    ~local_binding_guard() { detail::current_context.locals = binding_.outer; }
    local_binding_guard(const local_binding_guard&) = delete;
    local_binding_guard& operator=(const local_binding_guard&) = delete;

   private:
    detail::local_binding binding_;
  };
};

}  // namespace kyoto
