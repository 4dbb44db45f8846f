// The task lists the schedulers share, both built on the one intrusive list
// (<kyoto/runtime/detail/intrusive_list.hpp>). Not thread-safe: each list is
// guarded by its owner (one thread, or a mutex).
#pragma once

#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <stdexcept>
#include <vector>

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

/// How a task dump walks a live-task list (`list`, guarded by `lock`)
/// without holding the lock for long (<kyoto/runtime/dump.hpp>): under the
/// lock, takes a reference on every task of the list (a few ns each), so
/// none is freed; then, one batch at a time, retakes the lock and calls
/// `visit(task, claimable())` for each task of the batch that is still on
/// the list (not ended meanwhile: release() unlinks under the lock); at the
/// end drops the references, which frees the tasks that ended meanwhile. A
/// worker tracking or releasing a task of this list waits for at most the
/// snapshot or one batch. Throws std::bad_alloc (taking nothing) if the
/// snapshot cannot be allocated.
template <class Claimable, class Visit>
void walk_for_dump(mutex& lock, const owned_tasks& list, Claimable claimable, Visit visit) {
  constexpr std::size_t batch = 256;
  std::vector<task_header*> tasks;
  {
    lock_guard guard(lock);
    tasks.reserve(list.size());  // may throw: before any reference is taken
    list.for_each([&](task_header& t) {
      try {
        t.add_ref();  // throws only past 2^20 references: the task is left out
        tasks.push_back(&t);
      } catch (const std::length_error&) {  // NOLINT(bugprone-empty-catch)
        // The task is left out of this dump (add_ref's bound).
      }
    });
  }
  for (std::size_t i = 0; i < tasks.size(); i += batch) {
    lock_guard guard(lock);
    const bool may_claim = claimable();
    const std::size_t end = std::min(tasks.size(), i + batch);
    for (std::size_t j = i; j < end; ++j) {
      if (tasks[j]->owned_linked) visit(*tasks[j], may_claim);
    }
  }
  for (task_header* t : tasks)
    t->unref();
}

}  // namespace kyoto::detail
