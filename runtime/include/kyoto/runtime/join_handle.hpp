// kyoto::join_handle<T>: the owned permission to await a spawned task.
#pragma once

#include <kyoto/runtime/abort_handle.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>

#include <cassert>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto {

namespace detail {

/// "the task threw <what>" for an exception_ptr (join_error's message).
inline std::string describe_task_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return std::string("kyoto: the task threw: ") + x.what();
  } catch (...) {
    return "kyoto: the task threw an exception not derived from std::exception";
  }
}

}  // namespace detail

/// Why a task gave no value (tokio's JoinError): it was cancelled, or — in
/// a join_set's results only — it threw.
///
/// Awaiting a join_handle throws join_error only for a cancelled task (by
/// abort() or by the shutdown of its runtime); an exception thrown by the
/// task itself is rethrown as it is, not wrapped. A join_set hands every
/// outcome back as a value, so there a task's exception comes wrapped in a
/// join_error (is_panic(), exception(), rethrow()).
class KYOTO_EXPORT join_error : public std::runtime_error {
 public:
  /// A cancelled task.
  explicit join_error(const char* what) : std::runtime_error(what) {}
  /// A task that threw `e` (non-null).
  explicit join_error(std::exception_ptr e)
      : std::runtime_error(detail::describe_task_exception(e)), exception_(std::move(e)) {}

  /// Whether the task was cancelled (tokio's JoinError::is_cancelled).
  bool is_cancelled() const noexcept { return !exception_; }
  /// Whether the task failed with an exception (tokio's is_panic).
  bool is_panic() const noexcept { return static_cast<bool>(exception_); }
  /// The task's exception; null if it was cancelled (tokio's try_into_panic).
  const std::exception_ptr& exception() const noexcept { return exception_; }
  /// Rethrows the task's exception, or throws this join_error if the task
  /// was cancelled (tokio's resume_unwind of into_panic()).
  [[noreturn]] void rethrow() const {
    if (exception_) std::rethrow_exception(exception_);
    throw *this;
  }

 private:
  std::exception_ptr exception_;
};

namespace detail {
struct join_handle_access;
[[noreturn]] KYOTO_EXPORT void throw_join_misuse(const char* what);
[[noreturn]] KYOTO_EXPORT void throw_join_empty(const char* operation);
}  // namespace detail

/// Owned permission to await a spawned task's result (tokio's JoinHandle).
///
/// `co_await handle` gives the task's value, rethrows its exception, or
/// throws kyoto::join_error if it was cancelled. A handle is awaited at most
/// once. Destroying the handle detaches the task: it keeps running, and an
/// exception it ends with is logged instead of lost.
///
/// Thread safety: a handle is used by one thread at a time; abort() and
/// is_finished() may race with the task running anywhere. The awaiting
/// coroutine is resumed on the thread that runs its own task.
/// Cancel safety: cancelling the await (destroying the awaiting coroutine)
/// does not affect the task; the handle may be awaited again.
template <class T>
class join_handle {
 public:
  /// An empty handle: owns no task.
  join_handle() noexcept = default;
  /// Takes over `other`'s task; `other` is left empty (valid() is false).
  join_handle(join_handle&& other) noexcept
      : cell_(std::move(other.cell_)), taken_(std::exchange(other.taken_, false)) {}
  /// Detaches this handle's task, then takes over `other`'s; `other` is
  /// left empty.
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      reset();  // with our taken_, before cell_'s move drops it without
      cell_ = std::move(other.cell_);
      taken_ = std::exchange(other.taken_, false);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;

  /// Detaches the task.
  ~join_handle() { reset(); }

  /// Requests cancellation: a suspended task is destroyed (its destructors
  /// run) the next time its runtime gets to it; a running task at its next
  /// suspension. No effect on a finished task. Any thread.
  void abort() const {
    check_owns("kyoto::join_handle::abort");
    cell_->abort();
  }

  /// Whether the task has finished (returned, thrown, or been cancelled).
  bool is_finished() const {
    check_owns("kyoto::join_handle::is_finished");
    return cell_->is_complete();
  }

  /// The task's id (tokio's JoinHandle::id); the same as task_id::current()
  /// inside the task. Throws std::logic_error on an empty handle.
  task_id id() const {
    check_owns("kyoto::join_handle::id");
    return task_id(cell_->id());
  }

  /// A handle that can abort the task (and ask whether it finished) but not
  /// await it; copyable, usable from any thread, valid after this handle is
  /// dropped (tokio's JoinHandle::abort_handle). Throws std::logic_error on
  /// an empty handle.
  kyoto::abort_handle abort_handle() const {
    check_owns("kyoto::join_handle::abort_handle");
    return detail::abort_handle_access::make(cell_.get());
  }

  /// Whether the handle owns a task (false once moved from).
  bool valid() const noexcept { return static_cast<bool>(cell_); }

  /// Waits for the task; see the class comment.
  ///@{
  auto operator co_await() & noexcept { return awaiter{this}; }
  auto operator co_await() && noexcept { return awaiter{this}; }
  ///@}

 private:
  friend struct detail::join_handle_access;
  explicit join_handle(detail::task_cell<T>* cell) noexcept : cell_(cell) {}

  void check_owns(const char* op) const {
    if (!cell_) detail::throw_join_empty(op);
  }

  void reset() noexcept {
    // The drop depends on taken_, which the cell does not know: release
    // and drop by hand; counted_ref's own drop (detach) is for no result.
    if (taken_) {
      if (detail::task_cell<T>* c = cell_.release()) c->drop_join_handle(true);
      taken_ = false;
    } else {
      cell_.reset();
    }
  }

  /// The result, once complete. Precondition: is_finished().
  T take() {
    taken_ = true;
    if (cell_->result.state() == detail::result_storage<T>::kind::cancelled) {
      throw join_error("kyoto::join_handle: the task was cancelled");
    }
    return cell_->result.take();
  }

  struct awaiter {
    join_handle* owner;
    detail::wake_node node;
    bool registered = false;
    bool yielded = false;

    awaiter(join_handle* o) noexcept : owner(o) {}
    /// Movable until awaited.
    awaiter(awaiter&& o) noexcept : owner(o.owner) {
      assert(!o.registered && "a join_handle awaiter moved while awaited");
    }
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    ~awaiter() {
      if (registered) {
        owner->cell_->unset_join_waker(&node);
      } else if (yielded) {
        node.task->purge(&node);  // cancelled while yielding (budget)
      }
    }

    bool await_ready() {
      if (!owner->cell_) {
        detail::throw_join_misuse("kyoto::join_handle: awaiting an empty or moved-from handle");
      }
      if (owner->taken_) {
        detail::throw_join_misuse(
            "kyoto::join_handle: awaited twice (the result was already taken)");
      }
      if (!owner->cell_->is_complete()) return false;
      if (detail::coop_proceed()) return true;
      yielded = true;  // out of budget: yield first (coop.hpp)
      return false;
    }

    /// For task dumps: the task joined.
    void describe(detail::wait_description& d) const noexcept {
      d.what = "join";
      d.object = owner->cell_.get();
      d.detail = detail::wait_detail::task;
      d.value = owner->cell_ ? static_cast<std::int64_t>(owner->cell_->id()) : 0;
    }

    bool await_suspend(std::coroutine_handle<> h) {
      node.prepare(h);
      if (yielded) {
        detail::coop_yield(node);
        return true;
      }
      registered = owner->cell_->set_join_waker(&node);
      return registered;
    }

    T await_resume() {
      registered = false;
      yielded = false;
      return owner->take();
    }
  };

  /// The join interest and reference (move-only: Add is absent).
  detail::counted_ref<detail::task_cell<T>, &detail::task_header::detach_join_handle> cell_;
  /// The result was taken (awaited): the drop has nothing to report.
  bool taken_ = false;
};

namespace detail {

/// How the runtime makes handles and reads results synchronously.
struct join_handle_access {
  template <class T>
  static join_handle<T> make(task_cell<T>* cell) noexcept {
    return join_handle<T>(cell);
  }
  template <class T>
  static task_cell<T>* cell(const join_handle<T>& h) noexcept {
    return h.cell_.get();
  }
  template <class T>
  static T take(join_handle<T>& h) {
    return h.take();
  }
  /// Empties `h` without dropping its interest and reference: the caller
  /// (a join_set) owns them now.
  template <class T>
  static task_cell<T>* release(join_handle<T>& h) noexcept {
    h.taken_ = false;
    return h.cell_.release();
  }
};

}  // namespace detail

}  // namespace kyoto
