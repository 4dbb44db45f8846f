// A small lock for the short critical sections of kyoto's primitives.
//
// Why not std::mutex: kyoto's locks guard a handful of pointer updates, and
// on a 2-core machine with more threads than cores a lock that sleeps at the
// first sign of contention costs a futex round trip (~2 µs) per hand-off.
// This one is Drepper's three-state futex mutex ("Futexes are tricky",
// mutex3) with a bounded spin before sleeping:
//
//   state_ == 0  unlocked
//   state_ == 1  locked, nobody sleeping
//   state_ == 2  locked, a thread may be sleeping in the futex
//
// The uncontended path is one CAS to lock and one exchange to unlock.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>

namespace kyoto::detail {

/// Mutual exclusion for short critical sections; satisfies Lockable.
/// Thread-safe; never held across a suspension point.
class KYOTO_EXPORT mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() noexcept {
    std::uint32_t expected = 0;
    // Acquire: pairs with the release exchange in unlock(), so the previous
    // holder's writes are visible to us.
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]] {
      return;
    }
    lock_contended();
  }

  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    // Acquire: as in lock().
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept {
    // Release: publishes the critical section; pairs with the acquire in
    // lock()/try_lock()/lock_contended().
    if (state_.exchange(0, std::memory_order_release) == 2) [[unlikely]] {
      wake_one();
    }
  }

 private:
  void lock_contended() noexcept;  // spins, then sleeps in the futex
  void wake_one() noexcept;        // futex wake of one sleeper

  /// Written by every locker and unlocker; see the state table above.
  atomic<std::uint32_t> state_{0};
};

/// RAII holder for detail::mutex (std::lock_guard without the header weight).
class lock_guard {
 public:
  explicit lock_guard(mutex& m) noexcept : m_(m) { m_.lock(); }
  ~lock_guard() { m_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

 private:
  mutex& m_;
};

/// Unlocks a held detail::mutex at scope exit unless released: for the
/// awaiters that take a lock in await_ready and keep it into await_suspend,
/// so an exception in between never leaves it held.
class unlock_guard {
 public:
  explicit unlock_guard(mutex& m) noexcept : m_(&m) {}
  ~unlock_guard() {
    if (m_ != nullptr) m_->unlock();
  }
  unlock_guard(const unlock_guard&) = delete;
  unlock_guard& operator=(const unlock_guard&) = delete;
  /// Keeps the lock held past the guard.
  void release() noexcept { m_ = nullptr; }

 private:
  mutex* m_;
};

}  // namespace kyoto::detail
