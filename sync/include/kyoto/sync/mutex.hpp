// kyoto::sync::mutex<T>: an async mutex owning its value (tokio::sync::Mutex).
//
// A batch semaphore with one permit (detail/batch_semaphore.hpp): lockers
// are served in FIFO order, and a lock that a cancelled locker was handed
// passes on to the next one.
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/sync/detail/batch_semaphore.hpp>
#include <kyoto/sync/detail/held_permits.hpp>

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace kyoto::sync {

/// The error of try_lock() and friends: the lock is held (tokio's
/// TryLockError).
struct try_lock_error {
  /// A description of the error: "operation would block".
  const char* what() const noexcept { return "operation would block"; }
  friend bool operator==(const try_lock_error&, const try_lock_error&) = default;
};

template <class T>
class mutex;

/// Exclusive access to a mutex's value while it lives (RAII): the mutex is
/// unlocked when the guard is destroyed. `Ref` is `mutex<T>*`
/// (mutex_guard: the mutex must outlive it) or `std::shared_ptr<mutex<T>>`
/// (owned_mutex_guard, tokio's OwnedMutexGuard: keeps the mutex alive, for
/// a guard moved into a spawned task).
///
/// Move-only; may be held across co_await (that is what an async mutex is
/// for) and moved to and destroyed on any thread. Using a moved-from guard
/// throws std::logic_error.
template <class T, class Ref>
class basic_mutex_guard {
 public:
  /// Takes over `other`'s lock; `other` is left empty (using it throws
  /// std::logic_error).
  basic_mutex_guard(basic_mutex_guard&&) noexcept = default;
  /// Unlocks the mutex this guard holds, if any, then takes over
  /// `other`'s lock; `other` is left empty.
  basic_mutex_guard& operator=(basic_mutex_guard&&) noexcept = default;

  /// The value (operator-> points to it). Throws std::logic_error if the
  /// guard was moved from.
  ///@{
  T& operator*() const { return *checked(); }
  T* operator->() const { return checked(); }
  ///@}

  /// The mutex this guard locks (for an owned guard, the shared_ptr).
  const Ref& mutex() const noexcept { return held_.owner(); }

 private:
  friend struct kyoto::detail::guard_access;
  basic_mutex_guard(kyoto::detail::held_permits<Ref> held, T* value) noexcept
      : held_(std::move(held)), value_(value) {}

  T* checked() const {
    if (!held_.engaged()) kyoto::detail::throw_empty_guard("kyoto::sync::mutex_guard");
    return value_;
  }

  kyoto::detail::held_permits<Ref> held_;
  T* value_;
};

/// A guard borrowing its mutex.
template <class T>
using mutex_guard = basic_mutex_guard<T, mutex<T>*>;
/// A guard keeping its mutex alive.
template <class T>
using owned_mutex_guard = basic_mutex_guard<T, std::shared_ptr<mutex<T>>>;

/// Awaiter of mutex::lock(); gives a mutex_guard<T>. Fair (FIFO); cancel
/// safe (see kyoto::detail::basic_lock_awaiter).
template <class T>
using lock_awaiter = kyoto::detail::basic_lock_awaiter<mutex_guard<T>, mutex<T>*, T>;
/// Awaiter of mutex::lock_owned(); gives an owned_mutex_guard<T>.
template <class T>
using owned_lock_awaiter =
    kyoto::detail::basic_lock_awaiter<owned_mutex_guard<T>, std::shared_ptr<mutex<T>>, T>;

/// An asynchronous mutex owning a `T` (tokio::sync::Mutex): `co_await
/// m.lock()` waits without blocking the thread, and the guard may be held
/// across awaits. Fair: lockers get the lock in the order they asked.
/// Prefer a std::mutex when the lock is never held across an await.
///
/// Neither copyable nor movable (waiters point into it). Thread safety:
/// lock(), try_lock(), blocking_lock() from any thread concurrently.
///
/// ```
/// kyoto::sync::mutex<int> counter(0);
/// {
///   auto guard = co_await counter.lock();
///   *guard += 1;
/// }  // unlocked here
/// ```
template <class T>
class mutex {
 public:
  /// The type of the protected value.
  using value_type = T;

  /// A mutex holding a value-initialised T.
  mutex()
    requires std::default_initializable<T>
      : value_() {}
  /// A mutex holding `value`.
  explicit mutex(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)) {}
  /// A mutex holding T(args...).
  template <class... A>
  explicit mutex(std::in_place_t, A&&... args) : value_(std::forward<A>(args)...) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  /// `co_await m.lock()` waits for the lock and gives a mutex_guard<T>.
  /// Cancel safe: a cancelled lock() holds nothing and passes on a lock it
  /// was handed. The awaiter must not outlive the mutex.
  lock_awaiter<T> lock() noexcept { return lock_awaiter<T>(this, &sem_, 1, &value_); }

  /// The lock if it is free now (never waits); try_lock_error otherwise.
  result<mutex_guard<T>, try_lock_error> try_lock() noexcept {
    if (sem_.try_acquire(1) != kyoto::detail::batch_semaphore::status::acquired) {
      return unexpected(try_lock_error{});
    }
    return kyoto::detail::guard_access::make<mutex_guard<T>>(this, &sem_, 1, &value_);
  }

  /// Blocks the calling plain thread until the lock is free (tokio's
  /// blocking_lock). Throws std::logic_error on a runtime thread, where
  /// blocking would stall its tasks.
  mutex_guard<T> blocking_lock() {
    sem_.blocking_acquire(1, "kyoto::sync::mutex::blocking_lock");
    return kyoto::detail::guard_access::make<mutex_guard<T>>(this, &sem_, 1, &value_);
  }

  /// As lock(), with a guard that keeps `m` alive. Throws
  /// std::invalid_argument if `m` is null.
  static owned_lock_awaiter<T> lock_owned(std::shared_ptr<mutex> m) {
    mutex* raw = kyoto::detail::non_null_lock(m, "kyoto::sync::mutex::lock_owned").get();
    return owned_lock_awaiter<T>(std::move(m), &raw->sem_, 1, &raw->value_);
  }

  /// As try_lock(), with a guard that keeps `m` alive.
  static result<owned_mutex_guard<T>, try_lock_error> try_lock_owned(std::shared_ptr<mutex> m) {
    mutex* raw = kyoto::detail::non_null_lock(m, "kyoto::sync::mutex::try_lock_owned").get();
    if (raw->sem_.try_acquire(1) != kyoto::detail::batch_semaphore::status::acquired) {
      return unexpected(try_lock_error{});
    }
    return kyoto::detail::guard_access::make<owned_mutex_guard<T>>(std::move(m), &raw->sem_, 1,
                                                                   &raw->value_);
  }

  /// The value, without locking (tokio's get_mut, which takes &mut self).
  /// Only for a caller that has the mutex to itself: no guard alive and
  /// nobody else able to lock meanwhile.
  T& get_mut() noexcept { return value_; }

  /// Moves the value out (tokio's into_inner). Same precondition as
  /// get_mut().
  T into_inner() && { return std::move(value_); }

 private:
  kyoto::detail::batch_semaphore sem_{1};
  T value_;
};

}  // namespace kyoto::sync
