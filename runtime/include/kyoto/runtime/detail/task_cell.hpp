// The typed part of a spawned task: the header, the result slot, and the
// callable (plus arguments) the task was made from, kept alive for the
// task's whole life so a capturing lambda's captures never dangle.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/manual_lifetime.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <array>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace kyoto::detail {

/// Logs an exception that escaped a task nobody will join (spdlog, error).
KYOTO_EXPORT void log_unobserved_exception(const std::exception_ptr& e) noexcept;
/// As above, naming the task: its address and what it was spawned from
/// (the callable's type, or the task<T> object's).
KYOTO_EXPORT void log_unobserved_exception(const std::exception_ptr& e, const void* task,
                                           const std::type_info& spawned_from) noexcept;
/// A spawned task ended with `e`: tells its runtime, if the runtime shuts
/// down on a task's exception (unhandled_panic::shutdown_runtime).
KYOTO_EXPORT void note_task_exception(task_header* task, const std::exception_ptr& e) noexcept;

/// What a task was spawned from, for the log: the callable, or the task.
template <class T, class Launcher>
struct spawned_from {
  using type = task<T>;
};
template <class T, class F, class... Args>
struct spawned_from<T, std::tuple<F, Args...>> {
  using type = F;
};

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
    Launcher* l = construct_launcher(std::forward<U>(launcher)...);
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
    construct_launcher();
    set_root(h);
  }

  // The launcher's lifetime: from construction until destroy_launcher(),
  // exactly while `root_` is set (see the class comment).
  template <class... U>
  Launcher* construct_launcher(U&&... launcher) {
    if constexpr (launcher_in_result) {
      // The result slot's union bytes, not a manual_lifetime: the slot is
      // empty until the launcher is gone.
      return ::new (this->result.scratch()) Launcher(std::forward<U>(launcher)...);
    } else {
      return &launcher_.construct(std::forward<U>(launcher)...);
    }
  }
  void destroy_launcher() noexcept {
    if constexpr (launcher_in_result) {
      std::destroy_at(std::launder(static_cast<Launcher*>(this->result.scratch())));
    } else {
      launcher_.destroy();
    }
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
    if (self->result.state() == result_storage<T>::kind::exception) [[unlikely]]
      note_task_exception(h, self->result.exception());
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
    log_unobserved_exception(static_cast<const spawned_cell*>(h)->result.exception(), h,
                             typeid(typename spawned_from<T, Launcher>::type));
  }

  static void deallocate(task_header* h) noexcept {
    auto* self = static_cast<spawned_cell*>(h);
    self->~spawned_cell();
    frame_pool::deallocate(self, sizeof(spawned_cell));
  }

  static const task_promise_base* root_promise(const task_header* h) noexcept {
    return &static_cast<const spawned_cell*>(h)->root().promise();
  }

  static constexpr task_vtable vtable{&complete,       &cancel,     &failed,
                                      &log_unobserved, &deallocate, &root_promise};

  /// The launcher, when it does not fit in the result slot.
  [[no_unique_address]] std::conditional_t<launcher_in_result, no_storage,
                                           manual_lifetime<Launcher>> launcher_;
};

// The cell sizes the task_memory benchmark depends on, measured before
// manual_lifetime replaced the raw launcher bytes: a launcher that fits in
// the result slot adds nothing, one that does not adds exactly its size.
// The task's identity (id, spawn location) added 16 bytes: 88 -> 104 and
// 160 -> 176, each still exactly a frame_pool class.
static_assert(sizeof(spawned_cell<void, std::tuple<>>) == 104);
static_assert(sizeof(spawned_cell<void, std::tuple<void*>>) == 104);
static_assert(sizeof(spawned_cell<int, std::tuple<void*, std::array<char, 64>>>) == 176);

}  // namespace kyoto::detail
