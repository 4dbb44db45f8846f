// kyoto::sync::rw_lock<T>: an async reader-writer lock owning its value
// (tokio::sync::RwLock).
//
// A batch semaphore with `max_readers` permits (detail/batch_semaphore.hpp):
// a reader takes one, a writer takes them all. The semaphore's FIFO
// assignment is what makes the lock fair and keeps writers from starving:
// a queued writer collects the permits readers give back, and readers
// queued behind it wait for it, so a stream of new readers cannot keep it
// out.
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/sync/mutex.hpp>

#include <kyoto/sync/detail/batch_semaphore.hpp>
#include <kyoto/sync/detail/held_permits.hpp>

#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

namespace kyoto::sync {

template <class T>
class rw_lock;

/// Shared (read) access to an rw_lock's value while it lives (RAII). `Ref`
/// is `rw_lock<T>*` (rw_lock_read_guard) or `std::shared_ptr<rw_lock<T>>`
/// (owned_rw_lock_read_guard, keeping the lock alive).
///
/// Move-only; may be held across co_await and destroyed on any thread.
/// Using a moved-from guard throws std::logic_error.
template <class T, class Ref>
class basic_rw_lock_read_guard {
 public:
  /// Takes over `other`'s read lock; `other` is left empty (using it
  /// throws std::logic_error).
  basic_rw_lock_read_guard(basic_rw_lock_read_guard&&) noexcept = default;
  /// Releases the read lock this guard holds, if any, then takes over
  /// `other`'s; `other` is left empty.
  basic_rw_lock_read_guard& operator=(basic_rw_lock_read_guard&&) noexcept = default;

  /// The value, read-only (operator-> points to it). Throws
  /// std::logic_error if the guard was moved from.
  ///@{
  const T& operator*() const { return *checked(); }
  const T* operator->() const { return checked(); }
  ///@}

  /// The lock this guard reads (for an owned guard, the shared_ptr).
  const Ref& lock() const noexcept { return held_.owner(); }

 private:
  friend struct kyoto::detail::guard_access;
  template <class, class>
  friend class basic_rw_lock_write_guard;
  basic_rw_lock_read_guard(kyoto::detail::held_permits<Ref> held, const T* value) noexcept
      : held_(std::move(held)), value_(value) {}

  const T* checked() const {
    if (!held_.engaged()) kyoto::detail::throw_empty_guard("kyoto::sync::rw_lock_read_guard");
    return value_;
  }

  kyoto::detail::held_permits<Ref> held_;
  const T* value_;
};

/// Exclusive (write) access to an rw_lock's value while it lives (RAII).
/// As basic_rw_lock_read_guard otherwise.
template <class T, class Ref>
class basic_rw_lock_write_guard {
 public:
  /// Takes over `other`'s write lock; `other` is left empty (using it
  /// throws std::logic_error).
  basic_rw_lock_write_guard(basic_rw_lock_write_guard&&) noexcept = default;
  /// Releases the write lock this guard holds, if any, then takes over
  /// `other`'s; `other` is left empty.
  basic_rw_lock_write_guard& operator=(basic_rw_lock_write_guard&&) noexcept = default;

  /// The value (operator-> points to it). Throws std::logic_error if the
  /// guard was moved from.
  ///@{
  T& operator*() const { return *checked(); }
  T* operator->() const { return checked(); }
  ///@}

  /// The lock this guard writes (for an owned guard, the shared_ptr).
  const Ref& lock() const noexcept { return held_.owner(); }

  /// Turns this into a read guard without letting a writer in between
  /// (tokio's downgrade): readers waiting behind may now enter. The guard
  /// is used up.
  basic_rw_lock_read_guard<T, Ref> downgrade() && {
    T* value = checked();
    held_.release_some(max_readers_ - 1);  // keep one: no writer can enter
    return basic_rw_lock_read_guard<T, Ref>(std::move(held_), value);
  }

 private:
  friend struct kyoto::detail::guard_access;
  basic_rw_lock_write_guard(kyoto::detail::held_permits<Ref> held, T* value) noexcept
      : held_(std::move(held)),
        value_(value),
        max_readers_(static_cast<std::uint32_t>(held_.count())) {}

  T* checked() const {
    if (!held_.engaged()) kyoto::detail::throw_empty_guard("kyoto::sync::rw_lock_write_guard");
    return value_;
  }

  kyoto::detail::held_permits<Ref> held_;
  T* value_;
  std::uint32_t max_readers_;
};

/// A read guard borrowing its lock.
template <class T>
using rw_lock_read_guard = basic_rw_lock_read_guard<T, rw_lock<T>*>;
/// A write guard borrowing its lock.
template <class T>
using rw_lock_write_guard = basic_rw_lock_write_guard<T, rw_lock<T>*>;
/// A read guard keeping its lock alive (tokio's OwnedRwLockReadGuard).
template <class T>
using owned_rw_lock_read_guard = basic_rw_lock_read_guard<T, std::shared_ptr<rw_lock<T>>>;
/// A write guard keeping its lock alive (tokio's OwnedRwLockWriteGuard).
template <class T>
using owned_rw_lock_write_guard = basic_rw_lock_write_guard<T, std::shared_ptr<rw_lock<T>>>;

/// Awaiters of rw_lock's read()/write() and their owned forms. Fair
/// (FIFO); cancel safe (see kyoto::detail::basic_lock_awaiter).
///@{
template <class T>
using read_awaiter = kyoto::detail::basic_lock_awaiter<rw_lock_read_guard<T>, rw_lock<T>*, const T>;
template <class T>
using write_awaiter = kyoto::detail::basic_lock_awaiter<rw_lock_write_guard<T>, rw_lock<T>*, T>;
template <class T>
using owned_read_awaiter = kyoto::detail::basic_lock_awaiter<owned_rw_lock_read_guard<T>,
                                                             std::shared_ptr<rw_lock<T>>, const T>;
template <class T>
using owned_write_awaiter =
    kyoto::detail::basic_lock_awaiter<owned_rw_lock_write_guard<T>, std::shared_ptr<rw_lock<T>>, T>;
///@}

/// An asynchronous reader-writer lock owning a `T` (tokio::sync::RwLock):
/// many readers or one writer. Fair: tasks get the lock in the order they
/// asked, so a waiting writer is not starved by new readers.
///
/// Neither copyable nor movable (waiters point into it). Thread safety:
/// every locking member from any thread concurrently.
///
/// ```
/// kyoto::sync::rw_lock<std::string> config("v1");
/// { auto r = co_await config.read(); use(*r); }
/// { auto w = co_await config.write(); *w = "v2"; }
/// ```
template <class T>
class rw_lock {
 public:
  /// The type of the protected value.
  using value_type = T;

  /// The default and the largest reader limit (tokio: u32::MAX >> 3).
  static constexpr std::uint32_t max_readers_limit = std::numeric_limits<std::uint32_t>::max() >> 3;

  /// A lock over a value-initialised T.
  rw_lock()
    requires std::default_initializable<T>
      : value_() {}
  /// A lock over `value`.
  explicit rw_lock(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)) {}
  /// A lock over `value` admitting at most `max_readers` readers at once
  /// (tokio's with_max_readers). Throws std::invalid_argument unless
  /// 1 <= max_readers <= max_readers_limit.
  rw_lock(T value, std::uint32_t max_readers)
      : max_readers_(checked(max_readers)), sem_(max_readers_), value_(std::move(value)) {}
  rw_lock(const rw_lock&) = delete;
  rw_lock& operator=(const rw_lock&) = delete;

  /// `co_await l.read()` waits for shared access; gives a read guard.
  /// Cancel safe. The awaiter must not outlive the lock.
  read_awaiter<T> read() noexcept { return read_awaiter<T>(this, &sem_, 1, &value_); }

  /// `co_await l.write()` waits for exclusive access; gives a write guard.
  /// Cancel safe. The awaiter must not outlive the lock.
  write_awaiter<T> write() noexcept { return write_awaiter<T>(this, &sem_, max_readers_, &value_); }

  /// Shared access if available now (never waits).
  result<rw_lock_read_guard<T>, try_lock_error> try_read() noexcept {
    if (!try_take(1)) return unexpected(try_lock_error{});
    return kyoto::detail::guard_access::make<rw_lock_read_guard<T>>(this, &sem_, 1, &as_const());
  }

  /// Exclusive access if available now (never waits).
  result<rw_lock_write_guard<T>, try_lock_error> try_write() noexcept {
    if (!try_take(max_readers_)) return unexpected(try_lock_error{});
    return kyoto::detail::guard_access::make<rw_lock_write_guard<T>>(this, &sem_, max_readers_,
                                                                     &value_);
  }

  /// Blocks the calling plain thread until shared access is available.
  /// Throws std::logic_error on a runtime thread.
  rw_lock_read_guard<T> blocking_read() {
    sem_.blocking_acquire(1, "kyoto::sync::rw_lock::blocking_read");
    return kyoto::detail::guard_access::make<rw_lock_read_guard<T>>(this, &sem_, 1, &as_const());
  }

  /// Blocks the calling plain thread until exclusive access is available.
  /// Throws std::logic_error on a runtime thread.
  rw_lock_write_guard<T> blocking_write() {
    sem_.blocking_acquire(max_readers_, "kyoto::sync::rw_lock::blocking_write");
    return kyoto::detail::guard_access::make<rw_lock_write_guard<T>>(this, &sem_, max_readers_,
                                                                     &value_);
  }

  /// As read(), with a guard keeping `l` alive. Throws
  /// std::invalid_argument if `l` is null.
  static owned_read_awaiter<T> read_owned(std::shared_ptr<rw_lock> l) {
    rw_lock* raw = kyoto::detail::non_null_lock(l, "kyoto::sync::rw_lock::read_owned").get();
    return owned_read_awaiter<T>(std::move(l), &raw->sem_, 1, &raw->as_const());
  }

  /// As write(), with a guard keeping `l` alive.
  static owned_write_awaiter<T> write_owned(std::shared_ptr<rw_lock> l) {
    rw_lock* raw = kyoto::detail::non_null_lock(l, "kyoto::sync::rw_lock::write_owned").get();
    return owned_write_awaiter<T>(std::move(l), &raw->sem_, raw->max_readers_, &raw->value_);
  }

  /// As try_read(), with a guard keeping `l` alive.
  static result<owned_rw_lock_read_guard<T>, try_lock_error> try_read_owned(
      std::shared_ptr<rw_lock> l) {
    rw_lock* raw = kyoto::detail::non_null_lock(l, "kyoto::sync::rw_lock::try_read_owned").get();
    if (!raw->try_take(1)) return unexpected(try_lock_error{});
    return kyoto::detail::guard_access::make<owned_rw_lock_read_guard<T>>(std::move(l), &raw->sem_,
                                                                          1, &raw->as_const());
  }

  /// As try_write(), with a guard keeping `l` alive.
  static result<owned_rw_lock_write_guard<T>, try_lock_error> try_write_owned(
      std::shared_ptr<rw_lock> l) {
    rw_lock* raw = kyoto::detail::non_null_lock(l, "kyoto::sync::rw_lock::try_write_owned").get();
    if (!raw->try_take(raw->max_readers_)) return unexpected(try_lock_error{});
    return kyoto::detail::guard_access::make<owned_rw_lock_write_guard<T>>(
        std::move(l), &raw->sem_, raw->max_readers_, &raw->value_);
  }

  /// The most readers admitted at once.
  std::uint32_t max_readers() const noexcept { return max_readers_; }

  /// The value, without locking (tokio's get_mut, which takes &mut self).
  /// Only for a caller that has the lock to itself: no guard alive and
  /// nobody else able to lock meanwhile.
  T& get_mut() noexcept { return value_; }

  /// Moves the value out (tokio's into_inner). Same precondition as
  /// get_mut().
  T into_inner() && { return std::move(value_); }

 private:
  static std::uint32_t checked(std::uint32_t max_readers) {
    if (max_readers == 0 || max_readers > max_readers_limit) {
      kyoto::detail::throw_bad_max_readers(max_readers);
    }
    return max_readers;
  }

  bool try_take(std::size_t n) noexcept {
    return sem_.try_acquire(n) == kyoto::detail::batch_semaphore::status::acquired;
  }

  const T& as_const() const noexcept { return value_; }

  std::uint32_t max_readers_ = max_readers_limit;
  kyoto::detail::batch_semaphore sem_{max_readers_};
  T value_;
};

}  // namespace kyoto::sync
