// The out-of-line parts of the batch semaphore (detail/batch_semaphore.hpp)
// and the misuse errors of semaphore, mutex and rw_lock.
#include <kyoto/sync/rw_lock.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/sync/detail/batch_semaphore.hpp>
#include <kyoto/sync/detail/held_permits.hpp>

#include <stdexcept>
#include <string>

namespace kyoto::detail {

void batch_semaphore::add_permits(std::size_t n, const char* operation) {
  if (n == 0) return;
  lock_guard guard(lock_);
  if (n > max_permits || available() > max_permits - n) {
    throw std::overflow_error(std::string(operation) + ": adding " + std::to_string(n) +
                              " permits would exceed max_permits (" + std::to_string(max_permits) +
                              ")");
  }
  release_locked(n);
}

void batch_semaphore::close() noexcept {
  lock_guard guard(lock_);
  // Release: pairs with the loads in try_acquire() (which only needs to see
  // the bit eventually: a racing acquire either wins its permits before the
  // close or sees the bit) and with enqueue_locked() under the lock.
  word_.fetch_or(closed_bit, std::memory_order_release);
  while (sem_waiter* w = waiters_.pop_front()) {
    w->st = sem_waiter::state::closed;
    w->node.wake();
  }
}

batch_semaphore::status batch_semaphore::blocking_acquire(std::size_t n, const char* operation) {
  check_may_block(operation);
  status s = try_acquire(n);
  if (s != status::no_permits) return s;
  sem_waiter w;
  w.node.prepare_thread();
  {
    lock_guard guard(lock_);
    s = try_acquire(n);  // again, under the lock
    if (s != status::no_permits) return s;
    enqueue_locked(&w, n);
  }
  for (;;) {
    w.node.parker->park();
    lock_guard guard(lock_);
    if (w.st == sem_waiter::state::waiting) continue;  // early return from park
    if (w.st == sem_waiter::state::granted) return status::acquired;
    if (n > w.needed) release_locked(n - w.needed);
    return status::closed;
  }
}

void throw_too_many_permits(const char* operation, std::size_t permits) {
  throw std::invalid_argument(std::string(operation) + ": " + std::to_string(permits) +
                              " permits exceed max_permits (" +
                              std::to_string(batch_semaphore::max_permits) + ")");
}

void throw_empty_guard(const char* operation) {
  throw std::logic_error(std::string(operation) + ": the guard is empty (moved from)");
}

void throw_null_lock(const char* operation) {
  throw std::invalid_argument(std::string(operation) + ": the shared_ptr is null");
}

void throw_bad_max_readers(std::uint32_t max_readers) {
  throw std::invalid_argument(
      "kyoto::sync::rw_lock: max_readers must be between 1 and max_readers_limit (" +
      std::to_string(kyoto::sync::rw_lock<int>::max_readers_limit) + "), got " +
      std::to_string(max_readers));
}

void throw_merge_mismatch(const char* operation) {
  throw std::logic_error(std::string(operation) + ": the permits belong to different semaphores");
}

}  // namespace kyoto::detail

namespace kyoto::sync {

semaphore* semaphore::non_null(const std::shared_ptr<semaphore>& sem, const char* op) {
  if (!sem) {
    throw std::invalid_argument(std::string("kyoto::sync::semaphore::") + op +
                                ": the semaphore pointer is null");
  }
  return sem.get();
}

}  // namespace kyoto::sync
