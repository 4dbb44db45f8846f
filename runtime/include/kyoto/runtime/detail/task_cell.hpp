// The typed part of a spawned task: the header, the result slot, and the
// callable (plus arguments) the task was made from, kept alive for the
// task's whole life so a capturing lambda's captures never dangle.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <exception>
#include <functional>
#include <new>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// Logs an exception that escaped a task nobody will join (spdlog, error).
void log_unobserved_exception(const std::exception_ptr& e) noexcept;

/// The part of a cell the join_handle<T> sees.
template <class T>
class task_cell : public task_header {
 public:
  using task_header::task_header;
  /// Written once by the completing thread before JOIN_COMPLETE.
  result_storage<T> result;
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

/// Raw room for a T whose lifetime the owner manages.
template <class T>
struct raw_storage {
  alignas(T) unsigned char bytes[sizeof(T)];
};
struct no_storage {};

/// A cell owning the callable that produced the root task. `Launcher` is
/// std::tuple<F, Args...> (decayed) for spawn(callable, args...), and
/// std::tuple<> for a task spawned directly.
///
/// The launcher lives from construction until the task completes or is
/// cancelled, exactly while `root_` is set. A launcher that fits (a
/// capture-less lambda with a handle or two as arguments, the common case)
/// is kept in the result slot's bytes, which are unused until the result is
/// written: a parked task's cell is then just the header and the slot.
template <class T, class Launcher>
class spawned_cell final : public task_cell<T> {
  using root_handle = std::coroutine_handle<task_promise<T>>;
  static constexpr bool launcher_in_result = sizeof(Launcher) <= result_storage<T>::scratch_size &&
                                             alignof(Launcher) <= result_storage<T>::scratch_align;

 public:
  /// Stores the callable and arguments, then invokes the callable once, with
  /// them as rvalues, to make the (not yet started) root coroutine. May
  /// throw (the callable, or allocation); nothing is leaked then.
  template <class... U>
  static spawned_cell* create(U&&... launcher) {
    void* mem = frame_pool::allocate(sizeof(spawned_cell));
    try {
      return ::new (mem) spawned_cell(std::in_place, std::forward<U>(launcher)...);
    } catch (...) {
      frame_pool::deallocate(mem, sizeof(spawned_cell));
      throw;
    }
  }

  /// Adopts a task object (Launcher is std::tuple<>).
  static spawned_cell* adopt(task<T>&& t) {
    void* mem = frame_pool::allocate(sizeof(spawned_cell));
    return ::new (mem) spawned_cell(task_access::release(t));
  }

  spawned_cell(const spawned_cell&) = delete;
  spawned_cell& operator=(const spawned_cell&) = delete;

  /// Only reached with the root still set if the cell was never completed
  /// nor cancelled (the scheduler always does one of the two).
  ~spawned_cell() {
    if (this->root_) {
      root().destroy();
      destroy_launcher();
    }
  }

 private:
  template <class... U>
  explicit spawned_cell(std::in_place_t, U&&... launcher) : task_cell<T>(&vtable, {}) {
    Launcher* l = ::new (launcher_memory()) Launcher(std::forward<U>(launcher)...);
    try {
      task<T> root = std::apply(
          [](auto& f, auto&... a) { return std::invoke(std::move(f), std::move(a)...); }, *l);
      if (!root.valid()) {
        throw std::invalid_argument("kyoto::spawn: the callable returned an empty task");
      }
      set_root(task_access::release(root));
    } catch (...) {
      destroy_launcher();
      throw;
    }
  }

  explicit spawned_cell(root_handle h) noexcept : task_cell<T>(&vtable, {}) {
    ::new (launcher_memory()) Launcher();
    set_root(h);
  }

  void* launcher_memory() noexcept {
    if constexpr (launcher_in_result) {
      return this->result.scratch();
    } else {
      return launcher_.bytes;
    }
  }
  void destroy_launcher() noexcept {
    std::launder(static_cast<Launcher*>(launcher_memory()))->~Launcher();
  }

  void set_root(root_handle h) noexcept {
    h.promise().phase_ = task_phase::root;
    h.promise().continuation_ = std::noop_coroutine();
    this->root_ = h;
  }

  root_handle root() const noexcept { return root_handle::from_address(this->root_.address()); }

  /// Moves `from` into `to` (empty); if moving throws, the outcome is that
  /// exception.
  static void move_outcome(result_storage<T>& to, result_storage<T>& from) noexcept {
    try {
      to.take_from(from);
    } catch (...) {
      to.reset();
      to.set_exception(std::current_exception());
    }
  }

  static void complete(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    root_handle r = self->root();
    if constexpr (launcher_in_result) {
      // The launcher occupies the slot: park the outcome, end the frame and
      // the launcher (in the order cancel() uses), then fill the slot.
      result_storage<T> outcome;
      move_outcome(outcome, r.promise().result_);
      r.destroy();
      self->root_ = {};
      self->destroy_launcher();
      move_outcome(self->result, outcome);
    } else {
      move_outcome(self->result, r.promise().result_);
      r.destroy();
      self->root_ = {};
      self->destroy_launcher();
    }
  }

  static void cancel(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    if (self->root_) {
      self->root().destroy();
      self->root_ = {};
      self->destroy_launcher();
    }
    self->result.set_cancelled();
  }

  static bool failed(const task_header* h) noexcept {
    return static_cast<const spawned_cell*>(h)->result.state() ==
           result_storage<T>::kind::exception;
  }

  static void log_unobserved(const task_header* h) noexcept {
    log_unobserved_exception(static_cast<const spawned_cell*>(h)->result.exception());
  }

  static void deallocate(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    self->~spawned_cell();
    frame_pool::deallocate(self, sizeof(spawned_cell));
  }

  static constexpr task_vtable vtable{&complete, &cancel, &failed, &log_unobserved, &deallocate};

  /// The launcher, when it does not fit in the result slot.
  [[no_unique_address]] std::conditional_t<launcher_in_result, no_storage, raw_storage<Launcher>>
      launcher_;
};

}  // namespace kyoto::detail
