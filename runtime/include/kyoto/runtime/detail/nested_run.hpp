// Nested runs: an awaitable run as a task of its own *inside* the task that
// awaits it, so that something can be done around every resumption of its
// coroutines. task_local scopes set their value there; unconstrained lifts
// the cooperative budget there.
//
// # Why a nested task
//
// kyoto does not poll. When an operation deep in a chain of awaits is
// woken, the task's run resumes that coroutine directly (task_header.hpp);
// nothing runs "around" it, so there is no place to do what tokio's
// TaskLocalFuture and Unconstrained do around each poll of the future they
// wrap. A nested run makes that place: the wrapped awaitable becomes the
// root of a *nested task* (`nested_cell`, a task_header living in the
// driver coroutine's frame), so every wake_node prepared inside it names
// the nested task, and every resumption of its coroutines happens inside
// one call to `nested_cell::run()` made by the driver, between
// `hook.enter()` and `hook.leave()`. Other coroutines of the enclosing task
// (another branch of a join) and other tasks on the same thread run
// outside those calls, so they never see what the hook set.
//
// # The protocol
//
// - The driver (run_nested) is a coroutine of the enclosing task. Each
//   *step* runs the nested task once, between enter() and leave(), from
//   the step's await_suspend: it is complete (the step does not suspend),
//   or it waits (the driver suspends), or it must run again soon (it
//   yielded, or was woken while running: the step yields the enclosing
//   task with `outer_node`, so it goes to the back of the run queue).
// - `outer_node` resumes the driver in the enclosing task. It is prepared
//   once, at the first step, before the nested task first runs and so
//   before any of its nodes can be published; its handle (the driver) and
//   task (the enclosing one) never change after that.
// - The nested task's "scheduler" is `nested_scheduler`: "queue this task"
//   means "wake outer_node". A wake inside the nested task pushes the node
//   on the nested ready stack and, if the nested task was idle, sets
//   NOTIFIED and wakes outer_node, all in the waker's own synchronisation,
//   so the wake rule holds through both levels (the nested awaiter's
//   destructor takes the same lock). outer_node is thus pushed once per
//   idle -> NOTIFIED transition (or by the step's yield), and taken by the
//   step that runs the nested task next: the nested task is always
//   NOTIFIED when a step runs it.
// - The nested task never RUNS outside a step, and a step runs inside its
//   enclosing task's run, so nested and enclosing frames are touched by one
//   thread at a time, ordered by the enclosing task's run_state_.
// - Cancellation: the driver's frame is destroyed (the enclosing task was
//   aborted, a sibling join branch threw, ...) while the nested task is
//   idle or NOTIFIED. The guard cancels it (task_header::shutdown(), between
//   enter() and leave(), so destructors see the task_local value as in
//   tokio), then purges outer_node from the enclosing task, which may have
//   been woken meanwhile (the nested awaiters' destructors waited for any
//   wake in flight; purging a node that was not woken changes nothing).
// - Budget: a nested run spends the budget of the run it is nested in
//   (task_header::run() resets it only for top-level runs); unconstrained's
//   hook replaces it for the nested run and restores it after.
//
// The nested cell holds a join interest and never drops its references, so
// finish() neither logs nor frees it: the driver's frame owns it.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <coroutine>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// The type-erased part of a nested task: its header and the node that
/// resumes its driver in the enclosing task.
class nested_cell_base : public task_header {
 public:
  using task_header::task_header;
  /// Resumes the driver; see the file comment. Written once by the first
  /// step, read by the wakers of the nested task and the enclosing runner.
  wake_node outer_node;
};

/// The scheduler of every nested task: queuing one wakes its driver. A
/// task_scheduler only: nothing spawns onto it, blocks on it or shuts it
/// down.
class nested_scheduler final : public task_scheduler {
 public:
  void schedule(task_header* t) noexcept override {
    static_cast<nested_cell_base*>(t)->outer_node.wake();
  }
  void track(task_header*) noexcept override {}
  void release(task_header*) noexcept override {}
};

/// The one instance; stateless.
inline nested_scheduler nested_scheduler_instance;

/// A nested task producing R; lives in its driver's frame.
template <class R>
class nested_cell final : public nested_cell_base {
  using root_handle = std::coroutine_handle<task_promise<R>>;

 public:
  /// Adopts `inner` (valid, not started) as the root.
  explicit nested_cell(task<R>&& inner) noexcept : nested_cell_base(&vtable, {}) {
    root_handle h = task_access::release(inner);
    h.promise().phase_ = task_phase::root;
    h.promise().continuation_ = std::noop_coroutine();
    this->root_ = h;
    this->sched = &nested_scheduler_instance;
  }
  nested_cell(const nested_cell&) = delete;
  nested_cell& operator=(const nested_cell&) = delete;
  /// The guard completes or cancels the task before this runs.
  ~nested_cell() { assert(!this->root_); }

  /// Written once, by complete() or cancel(), before COMPLETE.
  result_storage<R> result;

 private:
  root_handle root() const noexcept { return root_handle::from_address(this->root_.address()); }

  static void complete(task_header* h) noexcept {
    auto* self = static_cast<nested_cell*>(h);
    root_handle r = self->root();
    try {
      self->result.take_from(r.promise().result_);
    } catch (...) {
      self->result.reset();
      self->result.set_exception(std::current_exception());
    }
    r.destroy();
    self->root_ = {};
  }
  static void cancel(task_header* h) noexcept {
    auto* self = static_cast<nested_cell*>(h);
    if (self->root_) self->root().destroy();
    self->root_ = {};
    self->result.set_cancelled();
  }
  static bool failed(const task_header* h) noexcept {
    return static_cast<const nested_cell*>(h)->result.state() == result_storage<R>::kind::exception;
  }
  static void log_unobserved(const task_header* h) noexcept {
    log_unobserved_exception(static_cast<const nested_cell*>(h)->result.exception());
  }
  static void deallocate(task_header*) noexcept {}  // owned by the driver's frame

  static constexpr task_vtable vtable{&complete, &cancel, &failed, &log_unobserved, &deallocate};
};

/// What a nested run does around every run of its task. `enter()` and
/// `leave()` are called in pairs on one thread, strictly nested inside the
/// enclosing task's run; `operation` names the public operation in errors.
template <class Hook>
concept nested_hook = requires(Hook& h) {
  { h.enter() } noexcept;
  { h.leave() } noexcept;
  { Hook::operation } -> std::convertible_to<const char*>;
};

/// One step of a nested run; see the file comment.
template <class Hook>
class nested_step {
 public:
  nested_step(nested_cell_base& cell, Hook& hook) noexcept : cell_(cell), hook_(hook) {}

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> driver) {
    wake_node& node = cell_.outer_node;
    if (node.task == nullptr) {
      if (current_task() == nullptr) [[unlikely]]
        throw_outside_task(Hook::operation);
      node.prepare(driver);
    }
    hook_.enter();
    const bool again = cell_.run();
    hook_.leave();
    if (cell_.is_complete()) return false;
    // Woken while running, or it yielded: it is NOTIFIED and nobody else
    // will push outer_node, so run it again after the other ready work.
    if (again) node.task->yield(&node);
    return true;
  }

  void await_resume() const noexcept {}

 private:
  nested_cell_base& cell_;
  Hook& hook_;
};

/// Cancels an unfinished nested task when the driver's frame is destroyed;
/// see the file comment.
template <class Hook>
class nested_guard {
 public:
  nested_guard(nested_cell_base& cell, Hook& hook) noexcept : cell_(cell), hook_(hook) {}
  nested_guard(const nested_guard&) = delete;
  nested_guard& operator=(const nested_guard&) = delete;
  ~nested_guard() {
    if (cell_.is_complete()) return;
    hook_.enter();
    cell_.shutdown();
    hook_.leave();
    // Null when the first step threw before preparing it.
    if (task_header* outer = cell_.outer_node.task) outer->purge(&cell_.outer_node);
  }

 private:
  nested_cell_base& cell_;
  Hook& hook_;
};

/// The driver: runs `inner` as a nested task of the awaiting task, calling
/// `hook` around every run of it; gives its result or rethrows.
template <class R, nested_hook Hook>
task<R> run_nested(Hook hook, task<R> inner) {
  nested_cell<R> cell(std::move(inner));
  nested_guard<Hook> guard(cell, hook);
  while (!cell.is_complete())
    co_await nested_step<Hook>(cell, hook);
  if constexpr (std::is_void_v<R>) {
    cell.result.take();
  } else {
    co_return cell.result.take();
  }
}

[[noreturn]] inline void throw_nested_bad_task(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": the task is empty (moved from) or was already awaited");
}

/// `a` as the root of a nested task: a task rvalue is adopted as it is; any
/// other rvalue is moved into a task that awaits it (so it is destroyed
/// with the nested task, inside the hook); an lvalue is awaited in place.
template <class A>
auto nested_root(A&& a, const char* operation) {
  using R = await_result_t<A>;
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, task<R>> && !std::is_lvalue_reference_v<A>) {
    if (!a.valid() || task_access::handle(a).promise().phase_ != task_phase::not_started) {
      throw_nested_bad_task(operation);
    }
    return task<R>(std::forward<A>(a));
  } else if constexpr (std::is_lvalue_reference_v<A>) {
    return await_in_task<R, A>(a);
  } else {
    return await_in_task<R, std::remove_cvref_t<A>>(std::forward<A>(a));
  }
}

}  // namespace kyoto::detail
