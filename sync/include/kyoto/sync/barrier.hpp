// kyoto::sync::barrier: lets n tasks meet before going on (tokio's
// sync::Barrier, as of tokio 1.24).
//
//   kyoto::sync::barrier b(3);                 // shared by the three tasks
//   kyoto::sync::barrier_wait_result r = co_await b.wait();
//   if (r.is_leader()) { ... }                 // exactly one of the three
//
// # Generations
//
// The barrier counts the waits that have arrived in the current
// generation (`arrived_`). The first n - 1 park in `waiters_`; the n-th is
// the generation's *leader*: it resets the count, wakes every parked wait
// (they complete with is_leader() false) and completes at once with
// is_leader() true. The next wait starts a new generation, so the barrier is
// reusable. n == 0 is treated as 1, as tokio (and std::sync::Barrier) do:
// every wait completes at once as its generation's leader.
//
// # Cancellation (as tokio's)
//
// An arrival is never undone. A wait destroyed while parked unlinks itself,
// but its arrival still counts toward its generation: the generation is
// released when n waits have *arrived*, whether or not they are all still
// waiting (tokio's wait() future behaves the same when dropped after its
// first poll). A destroyed wait that had been released simply loses its
// result.
//
// # The cooperative budget
//
// A leader completes without suspending, so it consumes a unit of its task's
// budget (runtime/detail/coop.hpp). Out of budget, it yields *before*
// arriving and arrives when resumed (possibly as the first wait of the next
// generation, if another task completed this one meanwhile): a wait
// cancelled during that yield has not arrived. Hence wait() is a small
// coroutine looping over an arrival attempt (kyoto::detail::barrier_arrive_awaiter).
//
// # Locking
//
// `lock_` guards `arrived_` and `waiters_`; every wake happens under it and
// every destroyed parked wait takes it (the wake rule of
// runtime/detail/task_header.hpp). The code is in sync/src/watch.cpp.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/barrier_waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>

namespace kyoto::sync {

/// What barrier::wait() gives (tokio's BarrierWaitResult). A value type.
class barrier_wait_result {
 public:
  /// A result saying whether the wait was the leader (made by barrier).
  explicit barrier_wait_result(bool leader) noexcept : leader_(leader) {}

  /// Whether this wait was its generation's leader (its n-th arrival):
  /// exactly one wait of each generation is.
  bool is_leader() const noexcept { return leader_; }

 private:
  bool leader_;
};

/// Lets a fixed number of tasks wait for each other (tokio's Barrier): the
/// n-th co_await wait() releases the n - 1 waiting before it, and the
/// barrier starts over. See the file comment for generations, the leader
/// and cancellation.
///
/// Not copyable or movable: share it by reference or through a
/// std::shared_ptr (tokio's Arc<Barrier>); it must outlive every wait.
/// Thread safety: wait() may be called concurrently from tasks on any
/// runtime threads.
class KYOTO_EXPORT barrier {
 public:
  /// A barrier releasing every `n` waits; 0 is treated as 1 (tokio's).
  explicit barrier(std::size_t n) noexcept : n_(n == 0 ? 1 : n) {}
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;
  /// Precondition: no wait is in progress.
  ~barrier();

  /// Waits until `n` waits (this one included) have arrived in this
  /// generation; the n-th completes at once as the leader. Must be awaited
  /// in a runtime task (it is a lazy task: it arrives when awaited). Resumed
  /// on the awaiting task's thread. Cancel safety: a wait cancelled after
  /// arriving still counts toward its generation (tokio's behaviour; see
  /// the file comment); one cancelled before arriving has no effect.
  task<barrier_wait_result> wait();

  /// The number of waits each generation needs (n, or 1 for n == 0).
  std::size_t size() const noexcept { return n_; }

 private:
  friend class kyoto::detail::barrier_arrive_awaiter;

  /// Waits of this generation; guarded by lock_.
  std::size_t arrived_ = 0;
  /// The waits parked in this generation; guarded by lock_.
  kyoto::detail::intrusive_list<kyoto::detail::barrier_waiter> waiters_;
  mutable kyoto::detail::mutex lock_;
  const std::size_t n_;
};

}  // namespace kyoto::sync
