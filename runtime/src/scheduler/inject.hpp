// The injection queue (tokio's runtime/scheduler/inject.rs): how a task
// reaches a scheduler from a thread that cannot use the scheduler's own run
// queue. Both schedulers have one:
//
//  - current_thread: spawns and wakes from threads other than the driving
//    one; the driving thread moves the whole queue into its local queue.
//  - multi_thread: spawns and wakes from threads that are not its workers,
//    and a worker's local-queue overflow; workers pop one task at a time.
//
// A mutex guards the FIFO. `len_` mirrors its length so consumers can look
// without the lock, and so a consumer about to park and a pusher about to
// wake it cannot miss each other (the Dekker in each scheduler's file
// comment): the pusher increments `len_` then reads the consumer's parked
// state; the consumer publishes that it parks then reads `len_`; both
// halves are seq_cst, so one of them sees the other.
#pragma once

#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <cstddef>
#include <utility>

namespace kyoto::detail {

/// A mutex-guarded FIFO of tasks, closable once. Thread-safe.
class inject {
 public:
  inject() = default;
  inject(const inject&) = delete;
  inject& operator=(const inject&) = delete;

  /// Queues `t` and then calls `then()` while still holding the lock, so
  /// the caller can wake a parked consumer before the task can be taken
  /// (and run, and let the runtime be destroyed). Returns false, queuing
  /// nothing and not calling `then`, once closed.
  template <class Then>
  bool push(task_header* t, Then&& then) noexcept {
    lock_guard guard(mutex_);
    if (closed_) return false;
    queue_.push_back(t);
    // Seq_cst: the pusher's half of the park Dekker (file comment); pairs
    // with the seq_cst load in empty() by a consumer about to park. `then`
    // reads the consumer's parked state after this, in the total order.
    len_.fetch_add(1, std::memory_order_seq_cst);
    std::forward<Then>(then)();
    return true;
  }

  /// Queues a batch at once (a worker's local-queue overflow). Accepted
  /// even when closed: the tasks are live and shutdown cancels them from
  /// the queue or through the live-task lists.
  void push_batch(task_queue batch) noexcept {
    lock_guard guard(mutex_);
    const std::size_t n = batch.size();
    queue_.append(batch);
    // Seq_cst: as in push(); the caller notifies a parked worker next.
    len_.fetch_add(n, std::memory_order_seq_cst);
  }

  /// Takes the oldest task, or null.
  task_header* pop() noexcept {
    // Relaxed fast path: a stale non-zero only costs a lock; a stale zero
    // delays a task until the next check (the consumers look again every
    // global interval, and before parking through empty()).
    if (len_.load(std::memory_order_relaxed) == 0) return nullptr;
    lock_guard guard(mutex_);
    task_header* t = queue_.pop_front();
    // Relaxed: the mutex orders the queue itself; len_ only mirrors it. A
    // decrement cannot hide a push from empty()'s seq_cst load: a load
    // reading a value older (in len_'s modification order) than a seq_cst
    // increment is ordered before that increment in the total order.
    if (t != nullptr) len_.fetch_sub(1, std::memory_order_relaxed);
    return t;
  }

  /// Moves every queued task to the back of `into`; returns whether there
  /// were any.
  bool take_all(task_queue& into) noexcept {
    if (len_.load(std::memory_order_relaxed) == 0) return false;  // as in pop()
    lock_guard guard(mutex_);
    if (queue_.empty()) return false;
    into.append(queue_);
    // Relaxed: as pop()'s decrement.
    len_.store(0, std::memory_order_relaxed);
    return true;
  }

  /// Whether nothing is queued, as the consumer's half of the park Dekker:
  /// seq_cst, pairs with the increments in push() and push_batch().
  bool empty() const noexcept { return len_.load(std::memory_order_seq_cst) == 0; }

  /// The number of queued tasks, a hint (metrics, fast checks). Relaxed.
  std::size_t size() const noexcept { return len_.load(std::memory_order_relaxed); }

  /// Refuses later push()es. Returns whether this call closed the queue.
  bool close() noexcept {
    lock_guard guard(mutex_);
    return !std::exchange(closed_, true);
  }

  /// Whether close() was called.
  bool is_closed() noexcept {
    lock_guard guard(mutex_);
    return closed_;
  }

 private:
  mutex mutex_;
  task_queue queue_;     ///< guarded by mutex_
  bool closed_ = false;  ///< guarded by mutex_; never unset
  /// queue_.size(), readable without the mutex. Written under the mutex by
  /// pushers and consumers; read by consumers (fast paths, the park
  /// Dekker) and metrics.
  atomic<std::size_t> len_{0};
};

}  // namespace kyoto::detail
