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
#include <optional>
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

/// A cell owning the callable that produced the root task. `Launcher` is
/// std::tuple<F, Args...> (decayed) for spawn(callable, args...), and
/// std::tuple<> for a task spawned directly.
template <class T, class Launcher>
class spawned_cell final : public task_cell<T> {
  using root_handle = std::coroutine_handle<task_promise<T>>;

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

 private:
  template <class... U>
  explicit spawned_cell(std::in_place_t, U&&... launcher)
      : task_cell<T>(&vtable, {}), launcher_(std::in_place, std::forward<U>(launcher)...) {
    try {
      task<T> root =
          std::apply([](auto& f, auto&... a) { return std::invoke(std::move(f), std::move(a)...); },
                     *launcher_);
      if (!root.valid()) {
        throw std::invalid_argument("kyoto::spawn: the callable returned an empty task");
      }
      set_root(task_access::release(root));
    } catch (...) {
      launcher_.reset();
      throw;
    }
  }

  explicit spawned_cell(root_handle h) noexcept : task_cell<T>(&vtable, {}) { set_root(h); }

  void set_root(root_handle h) noexcept {
    h.promise().phase_ = task_phase::root;
    h.promise().continuation_ = std::noop_coroutine();
    this->root_ = h;
  }

  root_handle root() const noexcept { return root_handle::from_address(this->root_.address()); }

  static void complete(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    root_handle r = self->root();
    try {
      self->result.take_from(r.promise().result_);
    } catch (...) {
      // Moving the value into the cell threw: the task's outcome is that
      // exception.
      self->result.reset();
      self->result.set_exception(std::current_exception());
    }
    r.destroy();
    self->root_ = {};
    self->launcher_.reset();
  }

  static void cancel(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    if (self->root_) self->root().destroy();
    self->root_ = {};
    self->launcher_.reset();
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

  /// Destroyed when the task completes (its captures are part of the task).
  std::optional<Launcher> launcher_;
};

}  // namespace kyoto::detail
