// kyoto::abort_handle: permission to cancel a spawned task, without the
// right to await it (tokio's AbortHandle).
//
// An abort_handle holds one reference to the task's cell (see the refs in
// detail/task_header.hpp), so abort() and is_finished() stay valid after
// the task completed, after its join_handle was dropped, and after its
// runtime was destroyed (the task is complete by then, and abort() of a
// complete task touches nothing but the cell).
#pragma once

#include <kyoto/runtime/task_id.hpp>

#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto {

namespace detail {

struct abort_handle_access;

[[noreturn]] inline void throw_abort_empty(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": the abort_handle is empty (default-constructed or moved from)");
}

}  // namespace detail

/// Cancels a spawned task from anywhere (tokio::task::AbortHandle); made by
/// join_handle::abort_handle() and returned by join_set::spawn().
///
/// Copyable: every copy refers to the same task and keeps its cell (not the
/// task's frames or result) alive. abort() requests cancellation: a task
/// suspended anywhere (a channel, a sleep, a nested join, a task_local
/// scope) is destroyed, destructors running on its runtime's thread, the
/// next time its runtime gets to it; a running task at its next
/// suspension. Its join_handle then throws kyoto::join_error
/// (is_cancelled()). Aborting a finished task does nothing.
///
/// Thread safety: abort() and is_finished() may be called from any thread,
/// runtime thread or not, concurrently with each other and with the task;
/// one handle object is not itself assigned from two threads at once.
/// Cancel safety: nothing here suspends.
class abort_handle {
 public:
  /// An empty handle; abort() and is_finished() throw std::logic_error.
  abort_handle() noexcept = default;

  /// Another handle to the same task. Throws std::length_error if one task
  /// already has 2^20 handles.
  abort_handle(const abort_handle& other) = default;
  /// Takes over `other`'s task; `other` is left empty.
  abort_handle(abort_handle&& other) noexcept = default;
  /// Throws std::length_error as the copy does, leaving this handle as it
  /// was.
  abort_handle& operator=(const abort_handle& other) = default;
  /// Drops this handle's task and takes over `other`'s; `other` is left
  /// empty.
  abort_handle& operator=(abort_handle&& other) noexcept = default;
  ~abort_handle() = default;

  /// Requests cancellation (see the class comment). No effect on a task
  /// that has finished. Any thread; never blocks. Throws std::logic_error
  /// on an empty handle.
  void abort() const {
    if (!cell_) detail::throw_abort_empty("kyoto::abort_handle::abort");
    cell_->abort();
  }

  /// Whether the task has finished: returned, thrown, or been cancelled.
  /// Any thread. Throws std::logic_error on an empty handle.
  bool is_finished() const {
    if (!cell_) detail::throw_abort_empty("kyoto::abort_handle::is_finished");
    return cell_->is_complete();
  }

  /// The task's id (tokio's AbortHandle::id). Any thread. Throws
  /// std::logic_error on an empty handle.
  task_id id() const {
    if (!cell_) detail::throw_abort_empty("kyoto::abort_handle::id");
    return task_id(cell_->id());
  }

  /// Whether the handle refers to a task (false once moved from).
  bool valid() const noexcept { return static_cast<bool>(cell_); }

  /// Whether two handles refer to the same task.
  friend bool operator==(const abort_handle& a, const abort_handle& b) noexcept {
    return a.cell_.get() == b.cell_.get();
  }

 private:
  friend struct detail::abort_handle_access;
  /// Adopts a reference the caller already took.
  explicit abort_handle(detail::task_header* cell) noexcept : cell_(cell) {}

  /// One reference to the cell: copies add_ref() (which may throw), drops
  /// unref().
  detail::counted_ref<detail::task_header, &detail::task_header::unref,
                      &detail::task_header::add_ref>
      cell_;
};

namespace detail {

/// How join_handle and join_set make abort handles.
struct abort_handle_access {
  /// A new handle to `cell`, taking a reference for it.
  static abort_handle make(task_header* cell) {
    cell->add_ref();
    return abort_handle(cell);
  }
};

}  // namespace detail

}  // namespace kyoto
