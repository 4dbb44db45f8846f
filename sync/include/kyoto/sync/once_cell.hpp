// kyoto::sync::once_cell<T>: a value set at most once, possibly by an async
// initialiser (tokio::sync::OnceCell).
//
// # Protocol
//
// `set_` says whether the value is there: written (release) once, right
// after the value is constructed; read (acquire) by every accessor, so a
// reader that sees it true sees the whole value.
//
// Initialisers take the one permit of a batch semaphore
// (detail/batch_semaphore.hpp), so exactly one runs at a time, in FIFO
// order. The winner stores the value and *closes* the semaphore: every
// queued initialiser wakes with `closed` and returns the value without
// running. An initialiser that throws, or whose task is cancelled, gives
// the permit back and the next one in line runs instead.
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/manual_lifetime.hpp>
#include <kyoto/sync/detail/batch_semaphore.hpp>
#include <kyoto/sync/detail/once_cell_init.hpp>

#include <atomic>
#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::sync {

/// The error of once_cell::set(): the cell already holds a value, or an
/// initialiser is running; holds the value that was not stored (tokio's
/// SetError).
template <class T>
class set_error {
 public:
  /// Why set() failed: the cell held a value, or an initialiser was running.
  enum class kind : unsigned char { already_initialized, initializing };

  /// An error of kind `k` holding the value `v` that was not stored.
  set_error(kind k, T v) : kind_(k), value(std::move(v)) {}
  /// The cell already held a value.
  bool is_already_init_err() const noexcept { return kind_ == kind::already_initialized; }
  /// An initialiser (get_or_init) was running.
  bool is_initializing_err() const noexcept { return kind_ == kind::initializing; }
  /// A description: "cell already initialized" or "cell is being
  /// initialized".
  const char* what() const noexcept {
    return kind_ == kind::already_initialized ? "cell already initialized"
                                              : "cell is being initialized";
  }

 private:
  kind kind_;

 public:
  /// The value that was not stored.
  T value;
};

/// A cell written at most once, by set() or by the first get_or_init()
/// whose initialiser completes (tokio::sync::OnceCell). Concurrent
/// get_or_init() calls run one initialiser at a time: the others wait and
/// then share its value.
///
/// Neither copyable nor movable. Thread safety: every member except
/// get_mut(), take() and into_inner() may be called from any thread
/// concurrently; those three need the cell to themselves.
///
/// ```
/// static kyoto::sync::once_cell<config> cfg;
/// const config& c = co_await cfg.get_or_init([]() -> kyoto::task<config> {
///   co_return co_await load_config();
/// });
/// ```
template <class T>
class once_cell {
 public:
  /// The type of the value the cell holds.
  using value_type = T;

  /// An empty cell.
  once_cell() noexcept = default;
  /// A cell holding `value` (tokio's new_with(Some(value)) and From).
  explicit once_cell(T value) : sem_(0) { store(std::move(value)); }
  once_cell(const once_cell&) = delete;
  once_cell& operator=(const once_cell&) = delete;
  ~once_cell() {
    if (initialized()) storage_.destroy();
  }

  /// Whether the value is there.
  bool initialized() const noexcept {
    // Acquire: pairs with the release store in store(): the value is
    // fully constructed for whoever sees true.
    return set_.load(std::memory_order_acquire);
  }

  /// The value, or null if not set yet.
  const T* get() const noexcept { return initialized() ? value_ptr() : nullptr; }

  /// The value for modification, or null. Needs the cell to itself
  /// (tokio's get_mut takes &mut self).
  T* get_mut() noexcept { return initialized() ? value_ptr() : nullptr; }

  /// Stores `value` if the cell is empty and no initialiser is running;
  /// otherwise gives it back in a set_error saying which.
  result<void, set_error<T>> set(T value) {
    if (initialized()) {
      return unexpected(set_error<T>(set_error<T>::kind::already_initialized, std::move(value)));
    }
    switch (sem_.try_acquire(1)) {
      case kyoto::detail::batch_semaphore::status::acquired:
        break;
      case kyoto::detail::batch_semaphore::status::closed:
        return unexpected(set_error<T>(set_error<T>::kind::already_initialized, std::move(value)));
      case kyoto::detail::batch_semaphore::status::no_permits:
        return unexpected(set_error<T>(set_error<T>::kind::initializing, std::move(value)));
    }
    kyoto::detail::once_cell_init_permit permit(sem_);
    store(std::move(value));
    return {};
  }

  /// The value, running `init()` first if the cell is empty. `init` is a
  /// callable returning something awaitable that gives a T (a task<T>).
  /// If several tasks call this at once, one initialiser runs at a time:
  /// the first to complete sets the value, the rest return it without
  /// running theirs. If `init` throws, the exception propagates to this
  /// caller, the cell stays empty, and the next waiter's initialiser runs.
  ///
  /// Cancel safe: cancelling a waiting call, or one whose initialiser is
  /// running, lets the next waiter initialise. `init` is moved into the
  /// returned task, so a capturing lambda's captures live long enough; but
  /// with GCC 12, pass a lambda that captures more than pointers and
  /// references as a named variable (`co_await cell.get_or_init(
  /// std::move(init))`): GCC 12 copies a capturing lambda temporary in a
  /// co_await expression bitwise (docs/architecture.md, compiler traps).
  template <class F>
  task<const T&> get_or_init(F init) {
    if (initialized()) co_return *value_ptr();
    // Bound to a variable, not awaited in the condition: GCC 12 has
    // miscompiled a co_await directly in an if/while condition (watch.cpp).
    const bool acquired = co_await kyoto::detail::once_cell_init_awaiter(&sem_, 1);
    if (!acquired) co_return *value_ptr();  // closed: the value is set
    kyoto::detail::once_cell_init_permit permit(sem_);
    if (!initialized()) store(co_await std::invoke(std::move(init)));
    co_return *value_ptr();
  }

  /// As get_or_init(), for an initialiser that may fail without throwing:
  /// `init()` gives a result<T, E>; an error is returned to this caller and
  /// leaves the cell empty (the next waiter's initialiser runs).
  template <class F, class R = typename std::invoke_result_t<F&&>::value_type>
  task<result<std::reference_wrapper<const T>, typename R::error_type>> get_or_try_init(F init) {
    using E = typename R::error_type;
    if (initialized()) co_return std::cref(*value_ptr());
    const bool acquired =
        co_await kyoto::detail::once_cell_init_awaiter(&sem_, 1);  // see get_or_init
    if (!acquired) co_return std::cref(*value_ptr());
    kyoto::detail::once_cell_init_permit permit(sem_);
    if (!initialized()) {
      R r = co_await std::invoke(std::move(init));
      if (!r) co_return unexpected(E(std::move(r).error()));
      store(std::move(*r));
    }
    co_return std::cref(*value_ptr());
  }

  /// Takes the value out, leaving the cell empty and usable again. Needs
  /// the cell to itself.
  std::optional<T> take() {
    if (!initialized()) return std::nullopt;
    std::optional<T> out(std::move(*value_ptr()));
    storage_.destroy();
    // Relaxed: exclusive access (the precondition) orders everything.
    set_.store(false, std::memory_order_relaxed);
    sem_.reopen(1);
    return out;
  }

  /// The value, if any (tokio's into_inner).
  std::optional<T> into_inner() && { return take(); }

 private:
  /// Constructs the value and publishes it; then wakes the initialisers
  /// waiting behind, which find it set. Precondition: the caller holds the
  /// permit (or has the cell to itself).
  void store(T&& value) {
    storage_.construct(std::move(value));
    // Release: pairs with the acquire load in initialized().
    set_.store(true, std::memory_order_release);
    sem_.close();
  }

  T* value_ptr() noexcept { return storage_.get(); }
  const T* value_ptr() const noexcept { return storage_.get(); }

  std::atomic<bool> set_{false};
  kyoto::detail::batch_semaphore sem_{1};
  kyoto::detail::manual_lifetime<T> storage_;
};

}  // namespace kyoto::sync
