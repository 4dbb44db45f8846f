// The task lists the schedulers share, both built on the one intrusive list
// (<kyoto/runtime/detail/intrusive_list.hpp>). Not thread-safe: each list is
// guarded by its owner (one thread, or a mutex).
#pragma once

#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <cstddef>

namespace kyoto::detail {

/// FIFO of tasks through task_header::queue_next: run queues, the
/// injection queue, a local queue's overflow batch.
using task_queue = intrusive_queue<task_header, &task_header::queue_next>;

/// The live tasks of a scheduler (tokio's OwnedTasks), through
/// task_header::owned_prev/owned_next: what shutdown cancels. Keeps
/// task_header::owned_linked in step with membership: the task's runner
/// reads it to know whether to track() the task, and shutdown to know
/// whether a queued task is on a list (and so cancelled through it).
class owned_tasks {
 public:
  bool empty() const noexcept { return list_.empty(); }
  std::size_t size() const noexcept { return list_.size(); }
  task_header* front() const noexcept { return list_.front(); }

  /// Links `t` (not on any list) at the front: shutdown cancels the most
  /// recently tracked tasks first.
  void insert(task_header* t) noexcept {
    assert(!t->owned_linked);
    list_.push_front(t);
    t->owned_linked = true;
  }

  /// Calls `f(task)` for each task, most recently tracked first. `f` must
  /// not add or remove tasks.
  template <class F>
  void for_each(F f) const {
    for (task_header* t = list_.front(); t != nullptr; t = t->owned_next)
      f(*t);
  }

  /// Unlinks `t`, which is on this list.
  void remove(task_header* t) noexcept {
    assert(t->owned_linked);
    list_.remove(t);
    t->owned_linked = false;
  }

 private:
  intrusive_list<task_header, &task_header::owned_prev, &task_header::owned_next> list_;
};

}  // namespace kyoto::detail
