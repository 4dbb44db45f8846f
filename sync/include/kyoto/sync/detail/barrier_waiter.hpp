// The waiting side of kyoto::sync::barrier: a parked wait and the awaiter
// of one arrival (the protocol is in <kyoto/sync/barrier.hpp>'s file
// comment; the code in sync/src/watch.cpp).
#pragma once

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <optional>

namespace kyoto::sync {
class barrier;
class barrier_wait_result;
}  // namespace kyoto::sync

namespace kyoto::detail {

/// A wait parked in a barrier.
struct barrier_waiter {
  barrier_waiter* prev = nullptr;  ///< list links, guarded by barrier::lock_
  barrier_waiter* next = nullptr;
  wake_node node;
  /// Set (under barrier::lock_) when the generation is released; read by the
  /// awaiter's destructor under the lock.
  bool released = false;
};

/// One arrival attempt of barrier::wait(): gives the result, or nullopt if
/// the budget made it yield before arriving (the caller tries again).
/// Out of line in sync/src/watch.cpp.
class [[nodiscard]] KYOTO_EXPORT barrier_arrive_awaiter {
 public:
  explicit barrier_arrive_awaiter(kyoto::sync::barrier* b) noexcept : barrier_(b) {}
  barrier_arrive_awaiter(const barrier_arrive_awaiter&) = delete;
  barrier_arrive_awaiter& operator=(const barrier_arrive_awaiter&) = delete;
  /// Unlinks a parked wait (its arrival stays counted) or purges a woken or
  /// yielded one.
  ~barrier_arrive_awaiter();

  /// await_ready() returns false holding the lock (unlocked only when it yields to the
  /// budget: `yield_first_`); await_suspend() releases it — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  std::optional<kyoto::sync::barrier_wait_result> await_resume() noexcept;

 private:
  enum class phase : unsigned char { idle, parked, yielded, leader };

  kyoto::sync::barrier* barrier_;
  barrier_waiter waiter_;
  phase phase_ = phase::idle;
  bool yield_first_ = false;  ///< the leader's arrival is out of budget
};

}  // namespace kyoto::detail
