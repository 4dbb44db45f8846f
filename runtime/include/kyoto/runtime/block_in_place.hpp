// kyoto::block_in_place: run blocking code on the current worker thread
// after handing its queued tasks to the other workers.
#pragma once

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <functional>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

/// The thread's stay outside its runtime while block_in_place's function
/// runs (runtime/src/scheduler/multi_thread/block_in_place.cpp): entered by
/// the constructor, left by the destructor, on the same thread.
class KYOTO_EXPORT blocking_section {
 public:
  /// Throws std::logic_error, naming `operation`, on a thread that runs a
  /// current_thread or deterministic runtime's tasks.
  explicit blocking_section(const char* operation);
  ~blocking_section();
  blocking_section(const blocking_section&) = delete;
  blocking_section& operator=(const blocking_section&) = delete;

 private:
  void* worker_ = nullptr;  ///< the worker handed over, or null: nothing to undo
  context saved_{};         ///< the thread's context before
};

/// Whether `task` is inside block_in_place now (task dumps list it as
/// blocking). Any thread.
KYOTO_EXPORT bool in_block_in_place(const task_header* task) noexcept;

}  // namespace detail

/// Runs `f()` on the calling thread and returns what it returns (tokio's
/// task::block_in_place): for a task of a multi_thread runtime that must
/// call blocking code where it stands (it holds a guard, a borrowed
/// buffer) instead of moving it to spawn_blocking. Before `f` runs, the
/// worker hands the tasks queued on it to the injection queue and wakes
/// another worker for them, and its timers are fired by the runtime's
/// watchdog (docs/runtime.md); afterwards the task goes on on the same
/// worker. I/O requests started on this worker's io_uring ring still
/// complete only once `f` returns: prefer spawn_blocking for long calls.
///
/// Inside `f` the thread is outside the runtime, as a spawn_blocking
/// thread is: kyoto::spawn and handle::current() throw (capture a
/// kyoto::handle first), and block_on of another runtime is allowed. A
/// nested block_in_place, or one called on a plain thread or a blocking
/// pool thread, just runs `f`. Exceptions from `f` propagate, after the
/// worker is back.
///
/// Throws std::logic_error naming kyoto::block_in_place, without calling
/// `f`, on a current_thread or deterministic runtime's thread (its one
/// thread runs every task; tokio panics there).
///
/// Thread safety: for the calling thread only. Cancel safety: not an
/// awaitable; it returns only once `f` has.
template <class F>
std::invoke_result_t<F&&> block_in_place(F&& f) {
  const detail::blocking_section section("kyoto::block_in_place");
  return std::invoke(std::forward<F>(f));
}

}  // namespace kyoto
