// kyoto::detail::ready_awaiter: an I/O operation that completes at once
// (io::empty, io::sink, io::repeat), still spending the task's cooperative
// budget so a loop over it cannot starve the task's thread.
#pragma once

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <utility>

namespace kyoto::detail {

/// Awaiter giving `value` at once; when the task's budget is spent it
/// yields first (queued behind the ready tasks) and gives it on resumption.
/// Cancel safe: nothing happens until it completes. Resumed on the task's
/// thread. Movable until awaited.
template <class T>
class [[nodiscard]] ready_awaiter {
 public:
  explicit ready_awaiter(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)) {}
  ready_awaiter(ready_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(o.value_)) {}
  ready_awaiter(const ready_awaiter&) = delete;
  ready_awaiter& operator=(const ready_awaiter&) = delete;
  /// A yield cancelled after it was queued takes its node back.
  ~ready_awaiter() {
    if (queued_) node_.task->purge(&node_);
  }

  bool await_ready() noexcept { return coop_proceed(); }
  void await_suspend(std::coroutine_handle<> h) {
    node_.prepare(h);
    queued_ = true;
    coop_yield(node_);
  }
  T await_resume() noexcept(std::is_nothrow_move_constructible_v<T>) {
    queued_ = false;
    return std::move(value_);
  }

 private:
  T value_;
  wake_node node_;
  bool queued_ = false;
};

/// ready_awaiter for an operation giving nothing (flush, shutdown).
class [[nodiscard]] ready_void_awaiter {
 public:
  ready_void_awaiter() noexcept = default;
  ready_void_awaiter(ready_void_awaiter&&) noexcept {}
  ready_void_awaiter(const ready_void_awaiter&) = delete;
  ready_void_awaiter& operator=(const ready_void_awaiter&) = delete;
  ~ready_void_awaiter() {
    if (queued_) node_.task->purge(&node_);
  }

  bool await_ready() noexcept { return coop_proceed(); }
  void await_suspend(std::coroutine_handle<> h) {
    node_.prepare(h);
    queued_ = true;
    coop_yield(node_);
  }
  void await_resume() noexcept { queued_ = false; }

 private:
  wake_node node_;
  bool queued_ = false;
};

}  // namespace kyoto::detail
