// kyoto::detail::ready_awaiter: an I/O operation that completes at once
// (io::empty, io::sink, io::repeat), still spending the task's cooperative
// budget so a loop over it cannot starve the task's thread.
#pragma once

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <utility>

namespace kyoto::detail {

/// What both awaiters below share: completes at once while the task's
/// cooperative budget lasts; when it is spent, queues the task behind the
/// ready tasks and completes on resumption. A yield cancelled after it was
/// queued takes its node back. Movable until awaited.
class coop_step {
 public:
  coop_step() noexcept = default;
  coop_step(coop_step&&) noexcept {}
  coop_step(const coop_step&) = delete;
  coop_step& operator=(const coop_step&) = delete;
  ~coop_step() {
    if (queued_) node_.task->purge(&node_);
  }

  bool await_ready() noexcept { return coop_proceed(); }
  void await_suspend(std::coroutine_handle<> h) {
    node_.prepare(h);
    queued_ = true;
    coop_yield(node_);
  }

 protected:
  /// Called by await_resume(): the node is no longer queued.
  void resumed() noexcept { queued_ = false; }

 private:
  wake_node node_;
  bool queued_ = false;
};

/// Awaiter giving `value` at once (see coop_step for the budget). Cancel
/// safe: nothing happens until it completes. Resumed on the task's thread.
template <class T>
class [[nodiscard]] ready_awaiter : public coop_step {
 public:
  explicit ready_awaiter(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)) {}
  ready_awaiter(ready_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : coop_step(std::move(o)), value_(std::move(o.value_)) {}
  T await_resume() noexcept(std::is_nothrow_move_constructible_v<T>) {
    resumed();
    return std::move(value_);
  }

 private:
  T value_;
};

/// ready_awaiter for an operation giving nothing (flush, shutdown).
class [[nodiscard]] ready_void_awaiter : public coop_step {
 public:
  /// Declared so that the awaiter is not an aggregate (GCC 12 mishandles
  /// aggregate temporaries in co_await expressions).
  ready_void_awaiter() noexcept = default;
  void await_resume() noexcept { resumed(); }
};

}  // namespace kyoto::detail
