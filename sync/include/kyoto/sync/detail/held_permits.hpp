// What semaphore's permits and the lock guards of kyoto::sync (mutex,
// rw_lock) share: permits held from a batch semaphore, released when the
// holder goes away, with the owner it keeps alive (an owned permit's or
// guard's shared_ptr) or just points to; and the awaiter that acquires
// them and makes a guard.
#pragma once

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/sync/detail/batch_semaphore.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace kyoto::sync {
class semaphore;
}  // namespace kyoto::sync

namespace kyoto::detail {

/// Move-only RAII holder of `count` permits of `sem`. `Ref` is the owner's
/// handle: a raw pointer (borrowed guards) or a std::shared_ptr (owned
/// guards, which keep their lock alive). Not thread-safe (one owner).
template <class Ref>
class held_permits {
 public:
  held_permits() noexcept = default;
  held_permits(Ref owner, batch_semaphore* sem, std::size_t count) noexcept
      : owner_(std::move(owner)), sem_(sem), count_(count) {}
  held_permits(held_permits&& o) noexcept
      : owner_(std::exchange(o.owner_, Ref{})),
        sem_(std::exchange(o.sem_, nullptr)),
        count_(std::exchange(o.count_, 0)) {}
  held_permits& operator=(held_permits&& o) noexcept {
    if (this != &o) {
      release();
      owner_ = std::exchange(o.owner_, Ref{});
      sem_ = std::exchange(o.sem_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  held_permits(const held_permits&) = delete;
  held_permits& operator=(const held_permits&) = delete;
  ~held_permits() { release(); }

  bool engaged() const noexcept { return sem_ != nullptr; }
  std::size_t count() const noexcept { return count_; }
  const Ref& owner() const noexcept { return owner_; }

  /// Gives back `n` of the permits now, keeping the rest (a downgrade).
  void release_some(std::size_t n) noexcept {
    sem_->release(n);
    count_ -= n;
  }

  /// Keeps the permits taken for good (semaphore_permit::forget): becomes
  /// empty without releasing.
  void forget() noexcept {
    owner_ = Ref{};
    sem_ = nullptr;
    count_ = 0;
  }

  /// Takes `other`'s permits (of the same semaphore; the caller checks).
  void absorb(held_permits&& other) noexcept {
    count_ += other.count_;
    other.forget();
  }

  void release() noexcept {
    if (sem_ != nullptr) {
      std::exchange(sem_, nullptr)->release(std::exchange(count_, 0));
      owner_ = Ref{};
    }
  }

 private:
  Ref owner_{};
  batch_semaphore* sem_ = nullptr;
  std::size_t count_ = 0;
};

/// Throws std::logic_error naming `operation`: a guard used after it was
/// moved from.
[[noreturn]] KYOTO_EXPORT void throw_empty_guard(const char* operation);
/// Throws std::invalid_argument naming `operation`: a null shared_ptr.
[[noreturn]] KYOTO_EXPORT void throw_null_lock(const char* operation);
/// Throws std::invalid_argument: more permits than a semaphore can hold.
[[noreturn]] KYOTO_EXPORT void throw_too_many_permits(const char* operation, std::size_t permits);
/// Throws std::logic_error: semaphore_permit::merge of another semaphore's.
[[noreturn]] KYOTO_EXPORT void throw_merge_mismatch(const char* operation);
/// Throws std::invalid_argument: rw_lock's max_readers out of range.
[[noreturn]] KYOTO_EXPORT void throw_bad_max_readers(std::uint32_t max_readers);

/// The semaphore a semaphore_permit's `Ref` points to.
inline kyoto::sync::semaphore* get_semaphore(kyoto::sync::semaphore* s) noexcept {
  return s;
}
inline kyoto::sync::semaphore* get_semaphore(
    const std::shared_ptr<kyoto::sync::semaphore>& s) noexcept {
  return s.get();
}

/// How a lock makes its guards (their constructors are private).
struct guard_access {
  template <class Guard, class Ref, class Value>
  static Guard make(Ref owner, batch_semaphore* sem, std::size_t count, Value* value) noexcept {
    return Guard(held_permits<Ref>(std::move(owner), sem, count), value);
  }
};

/// Awaiter of a lock operation (mutex::lock, rw_lock::read/write): takes
/// `count` permits of the lock's semaphore and gives a `Guard` over
/// `value`. Locks are never closed, so it cannot fail.
///
/// Fair: lockers are served in the order they queued. Resumed on the
/// awaiting task's thread. Cancel safe: a cancelled lock holds nothing, and
/// a lock handed to it meanwhile passes on to the next waiter (it loses its
/// place in the queue).
template <class Guard, class Ref, class Value>
class [[nodiscard]] basic_lock_awaiter {
 public:
  basic_lock_awaiter(Ref owner, batch_semaphore* sem, std::size_t count, Value* value) noexcept
      : owner_(std::move(owner)), sem_(sem), count_(count), value_(value), op_(sem, count) {}

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() { return op_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  Guard await_resume() noexcept {
    [[maybe_unused]] const bool acquired = op_.resume();
    assert(acquired && "a lock's semaphore is never closed");
    return guard_access::make<Guard>(std::move(owner_), sem_, count_, value_);
  }

  /// For task dumps: the lock (mutex, or rw_lock read or write) waited for.
  void describe(wait_description& d) const noexcept {
    d.what = std::is_const_v<Value> ? "rw_lock read" : count_ == 1 ? "mutex lock" : "rw_lock write";
    d.object = sem_;
  }

 private:
  Ref owner_;
  batch_semaphore* sem_;
  std::size_t count_;
  Value* value_;
  acquire_op op_;
};

/// The shared_ptr an owned lock operation holds; throws
/// std::invalid_argument naming `operation` if it is null.
template <class L>
std::shared_ptr<L> non_null_lock(std::shared_ptr<L> lock, const char* operation) {
  if (!lock) throw_null_lock(operation);
  return lock;
}

}  // namespace kyoto::detail
