// kyoto::yield_now: let the other ready tasks run.
#pragma once

#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <coroutine>

namespace kyoto {

/// Awaiter returned by yield_now(): suspends the task and queues it behind
/// the tasks that are ready. Resumed on the task's runtime thread. Cancel
/// safe. Movable until awaited; awaited by one task.
class yield_awaiter {
 public:
  /// A yield not yet awaited.
  yield_awaiter() = default;
  /// Movable until awaited (so it can be passed to join()).
  yield_awaiter(yield_awaiter&& o) noexcept : resumed_(o.resumed_) {
    assert(o.node_.task == nullptr && "a yield_awaiter moved while awaited");
  }
  yield_awaiter(const yield_awaiter&) = delete;
  yield_awaiter& operator=(const yield_awaiter&) = delete;

  /// Not recorded as an await point for task dumps: a yielding task is
  /// queued again at once, never idle, and a dump reads idle tasks' chains
  /// only (runtime/detail/await_point.hpp, untraced_await).
  static constexpr bool kyoto_untraced = true;

  /// Always false: a yield always suspends.
  bool await_ready() const noexcept { return false; }
  /// Queues the task behind the ready ones; called by `co_await`.
  void await_suspend(std::coroutine_handle<> h) {
    node_.prepare(h);
    resumed_ = false;
    // The end of this run puts the task at the back of the run queue.
    node_.task->yield(&node_);
  }
  /// Nothing to give: the task is running again.
  void await_resume() noexcept { resumed_ = true; }

  /// A yield destroyed after it was queued (its task was cancelled) takes
  /// its node back.
  ~yield_awaiter() {
    if (node_.task != nullptr && !resumed_) node_.task->purge(&node_);
  }

 private:
  detail::wake_node node_;
  bool resumed_ = false;
};

/// Suspends the calling task and queues it behind the tasks that are ready
/// to run (tokio::task::yield_now).
///
/// Must be awaited inside a runtime task (throws std::logic_error
/// otherwise). The task is resumed on its runtime's thread. Cancel safe.
inline yield_awaiter yield_now() noexcept {
  return {};
}

}  // namespace kyoto
