// The fair counting semaphore under kyoto::sync's semaphore, mutex, rw_lock
// and once_cell (tokio's batch_semaphore).
//
// # State
//
// `word_` packs the free permits and a CLOSED bit: `permits << 1 | closed`.
// It is atomic so that try_acquire and an uncontended acquire are one CAS
// without the lock. The wait list and every waiter's fields are guarded by
// `lock_`; permits are *added* to `word_` only under `lock_`.
//
// # Fairness: permits are assigned, in order
//
// Waiters queue FIFO. A releaser holding `lock_` hands released permits to
// the front waiter first, even if it needs more than there are (it keeps
// them and waits for the rest; `needed` counts down). A waiter enqueues only
// after taking every free permit. Hence
//
//     invariant: waiters_ non-empty  =>  word_ holds no permits
//
// so the lock-free fast path can take permits without looking at the queue:
// whenever it sees some, nobody is waiting for them, and a big acquire (a
// rw_lock writer) is never overtaken by a stream of small ones.
//
// # Waking and cancellation
//
// A waiter is woken under `lock_` once all its permits are assigned
// (`granted`) or the semaphore is closed (`closed`), and its destructor
// takes `lock_` to learn which (the wake rule in
// runtime/detail/task_header.hpp). A waiter destroyed after some or all of
// its permits were assigned gives them back with release_locked(), which
// passes them straight to the next waiter: nothing is lost, nobody is stuck.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <algorithm>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

namespace kyoto::detail {

/// A task or thread waiting for permits.
struct sem_waiter {
  enum class state : unsigned char {
    idle,     ///< not queued
    waiting,  ///< in waiters_, `needed` permits still to come
    granted,  ///< all permits assigned; woken (or yielding, see acquire_op)
    closed,   ///< woken because the semaphore closed
  };

  sem_waiter* prev = nullptr;  ///< guarded by the semaphore's lock
  sem_waiter* next = nullptr;
  wake_node node;
  std::size_t needed = 0;  ///< permits not yet assigned; guarded by the lock
  state st = state::idle;  ///< guarded by the lock
};

/// See the file comment. Thread-safe.
class KYOTO_EXPORT batch_semaphore {
 public:
  /// The most permits a semaphore holds (tokio: usize::MAX >> 3).
  static constexpr std::size_t max_permits = std::numeric_limits<std::size_t>::max() >> 3;

  enum class status : unsigned char { acquired, no_permits, closed };

  /// Precondition: permits <= max_permits (the public types check).
  explicit batch_semaphore(std::size_t permits) noexcept : word_(permits << 1) {}
  batch_semaphore(const batch_semaphore&) = delete;
  batch_semaphore& operator=(const batch_semaphore&) = delete;

  /// The free permits, a snapshot.
  std::size_t available() const noexcept {
    // Relaxed: a snapshot that orders nothing.
    return word_.load(std::memory_order_relaxed) >> 1;
  }

  bool is_closed() const noexcept {
    // Relaxed: a snapshot; acquirers that must see the close take lock_ or
    // CAS the word.
    return (word_.load(std::memory_order_relaxed) & closed_bit) != 0;
  }

  /// Takes `n` permits if that many are free, without waiting or locking.
  status try_acquire(std::size_t n) noexcept {
    std::size_t cur = word_.load(std::memory_order_relaxed);
    for (;;) {
      if ((cur & closed_bit) != 0) return status::closed;
      if ((cur >> 1) < n) return status::no_permits;
      // Acquire: pairs with the release fetch_add in release_locked(): the
      // permits' previous holder's writes (a mutex's value) happen before
      // ours.
      if (word_.compare_exchange_weak(cur, cur - (n << 1), std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return status::acquired;
      }
    }
  }

  /// Gives `n` permits back (or adds new ones): to the waiters first, in
  /// order. The caller guarantees no overflow past max_permits.
  void release(std::size_t n) noexcept {
    if (n == 0) return;
    lock_guard guard(lock_);
    release_locked(n);
  }

  /// As release(); throws std::overflow_error naming `operation` if the
  /// free permits would exceed max_permits.
  void add_permits(std::size_t n, const char* operation);

  /// Closes: wakes every waiter with `closed`; later acquires fail.
  /// Permits can still be released.
  void close() noexcept;

  /// Makes a closed semaphore usable again with `permits` free
  /// (once_cell::take). Precondition: exclusive access — nobody waits,
  /// acquires or releases meanwhile.
  void reopen(std::size_t permits) noexcept {
    // Relaxed: the exclusive access orders everything.
    word_.store(permits << 1, std::memory_order_relaxed);
  }

  /// Blocks the calling plain thread until `n` permits are assigned or the
  /// semaphore closes. Throws std::logic_error naming `operation` on a
  /// runtime thread.
  status blocking_acquire(std::size_t n, const char* operation);

  // ---- the acquire awaiter's steps (acquire_op) ----

  mutex& lock() noexcept { return lock_; }

  /// Precondition: lock_ held, try_acquire(n) said no_permits under it,
  /// and lock_ not released since (so no permits were added). Takes every free
  /// permit towards `n` and queues `w` for the rest.
  void enqueue_locked(sem_waiter* w, std::size_t n) noexcept {
    std::size_t cur = word_.load(std::memory_order_relaxed);
    std::size_t take = 0;
    for (;;) {
      assert((cur & closed_bit) == 0 && (cur >> 1) < n);
      take = cur >> 1;
      if (take == 0) break;
      // Acquire: as in try_acquire.
      if (word_.compare_exchange_weak(cur, cur & closed_bit, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    w->needed = n - take;
    w->st = sem_waiter::state::waiting;
    waiters_.push_back(w);
  }

  /// A waiter that wanted `n` permits goes away without resuming
  /// (cancelled). Returns whether it had been woken (the caller then
  /// purges its node). Gives back whatever it had been assigned.
  bool cancel(sem_waiter* w, std::size_t n) noexcept {
    lock_guard guard(lock_);
    const sem_waiter::state st = std::exchange(w->st, sem_waiter::state::idle);
    switch (st) {
      case sem_waiter::state::idle:
        return false;
      case sem_waiter::state::waiting:
        waiters_.remove(w);
        if (n > w->needed) release_locked(n - w->needed);
        return false;
      case sem_waiter::state::granted:
        release_locked(n);
        return true;
      case sem_waiter::state::closed:
        if (n > w->needed) release_locked(n - w->needed);
        return true;
    }
    return false;
  }

  /// A waiter woken by close() resumed: gives back what it had been
  /// assigned. (Its fields were written before its wake.)
  void return_partial(const sem_waiter* w, std::size_t n) noexcept {
    if (n > w->needed) release(n - w->needed);
  }

 private:
  static constexpr std::size_t closed_bit = 1;

  /// Precondition: lock_ held.
  void release_locked(std::size_t n) noexcept {
    while (n > 0) {
      sem_waiter* w = waiters_.front();
      if (w == nullptr) {
        // Release: pairs with the acquire CAS in try_acquire() and
        // enqueue_locked(); see there.
        word_.fetch_add(n << 1, std::memory_order_release);
        return;
      }
      const std::size_t take = std::min(n, w->needed);
      w->needed -= take;
      n -= take;
      if (w->needed == 0) {
        waiters_.pop_front();
        w->st = sem_waiter::state::granted;
        w->node.wake();
      }
    }
  }

  /// Permits << 1 | CLOSED; see the file comment.
  atomic<std::size_t> word_;
  mutable mutex lock_;
  intrusive_list<sem_waiter> waiters_;  ///< guarded by lock_
};

/// The awaiter steps of an acquire of `n` permits, shared by semaphore,
/// mutex and rw_lock: the public awaiters wrap it and turn "acquired" into
/// their permit or guard.
///
/// Protocol: await_ready() tries the lock-free path; if that fails it locks
/// and, still short, keeps the lock into await_suspend(), which queues the
/// waiter. Resumed on the awaiting task's thread. Cancel safe: destroyed
/// while waiting, it unlinks and passes on what it had been assigned.
class acquire_op {
 public:
  acquire_op(batch_semaphore* sem, std::size_t n) noexcept : sem_(sem), n_(n) {}
  /// Movable until awaited (GCC 12 moves co_await operands).
  acquire_op(acquire_op&& o) noexcept : sem_(o.sem_), n_(o.n_), status_(o.status_) {
    assert(!o.suspended_ && "an acquire awaiter moved while awaited");
  }
  acquire_op(const acquire_op&) = delete;
  acquire_op& operator=(const acquire_op&) = delete;
  ~acquire_op() {
    if (suspended_ && sem_->cancel(&waiter_, n_)) waiter_.node.task->purge(&waiter_.node);
  }

  /// await_ready() returns false holding the lock (unlocked only when it yields to the
  /// budget: `yield_`); await_suspend() releases it — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready() {
    status_ = sem_->try_acquire(n_);
    if (status_ == batch_semaphore::status::no_permits) {
      sem_->lock().lock();
      unlock_guard unlock(sem_->lock());
      // Again under the lock: no release can now slip in before we queue.
      status_ = sem_->try_acquire(n_);
      if (status_ == batch_semaphore::status::no_permits) {
        unlock.release();  // keeps the lock for await_suspend
        return false;
      }
    }
    if (status_ == batch_semaphore::status::acquired && !coop_proceed()) {
      yield_ = true;  // out of budget: the permits are ours; yield first
      return false;
    }
    return true;
  }

  void await_suspend(std::coroutine_handle<> h) {
    if (yield_) {
      // Not locked. If prepare() throws, the awaiter's destruction below
      // the co_await does not run cancel() (not suspended): give back.
      try {
        waiter_.node.prepare(h);
      } catch (...) {
        sem_->release(n_);
        throw;
      }
      waiter_.st = sem_waiter::state::granted;
      suspended_ = true;
      coop_yield(waiter_.node);
      return;
    }
    unlock_guard unlock(sem_->lock());
    waiter_.node.prepare(h);
    sem_->enqueue_locked(&waiter_, n_);
    suspended_ = true;
  }

  /// Whether the permits were acquired (false: the semaphore is closed).
  /// Call once, from await_resume.
  bool resume() noexcept {
    if (suspended_) {
      suspended_ = false;
      // Written under the lock before our wake; the wake orders it.
      const sem_waiter::state st = std::exchange(waiter_.st, sem_waiter::state::idle);
      if (st == sem_waiter::state::closed) {
        sem_->return_partial(&waiter_, n_);
        return false;
      }
      return true;
    }
    return status_ == batch_semaphore::status::acquired;
  }

 private:
  batch_semaphore* sem_;
  std::size_t n_;
  sem_waiter waiter_;
  batch_semaphore::status status_ = batch_semaphore::status::no_permits;
  bool suspended_ = false;
  bool yield_ = false;
};

}  // namespace kyoto::detail
