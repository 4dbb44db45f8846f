// The blocking pool: threads for spawn_blocking (tokio's runtime/blocking).
//
// A blocking task is an ordinary task cell whose root coroutine calls the
// function once, so join_handle, abort and exceptions work as for any task;
// this pool is its scheduler. Threads are made on demand, up to
// `max_threads`; a thread idle for `keep_alive` exits. A task that cannot
// get a thread waits in the queue.
//
// Shutdown (the runtime is dropped): later spawns are cancelled on the spot.
// Tasks spawned before it run to the end, queued ones included (as in
// tokio; if no thread exists to run them, they are cancelled): a blocking
// function cannot be interrupted, so shutdown waits for them — forever by
// default, or up to a timeout (runtime::shutdown_timeout), after which
// their threads are left to finish on their own. Each thread holds a
// reference to the pool, so the pool outlives them.
#pragma once

#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/scheduler.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

namespace kyoto::detail {

struct blocking_config {
  std::size_t max_threads = 512;
  std::chrono::nanoseconds keep_alive = std::chrono::seconds(10);
};

class blocking_pool final : public scheduler {
 public:
  explicit blocking_pool(const blocking_config& config) : config_(config) {}
  ~blocking_pool() override = default;

  void spawn(task_header* task) noexcept override;
  void schedule(task_header* task) noexcept override;  // an abort() re-queues
  void track(task_header* task) noexcept override;
  void release(task_header* task) noexcept override;
  /// Task dumps: the tasks a thread is running now (visited with
  /// `claimable` false: a dump lists them as blocking), then the queued
  /// ones, under mutex_ (which release() takes to unlink a finished task,
  /// so none is freed while visited).
  void visit_live_tasks(live_task_visitor visit, void* ctx) override;
  void begin_block_on() override;
  void block_on(task_header* root) override;
  void end_block_on() noexcept override {}
  void shutdown() noexcept override { shutdown_for(std::nullopt); }

  /// Refuses new tasks and waits up to `timeout` (forever if none) for the
  /// queued and running ones. Returns whether every thread finished.
  /// Idempotent.
  bool shutdown_for(std::optional<std::chrono::nanoseconds> timeout) noexcept;

  /// Threads alive now (for tests and metrics).
  std::size_t threads() noexcept;

 private:
  void push(task_header* task) noexcept;
  void run_thread() noexcept;

  const blocking_config config_;
  std::mutex mutex_;
  std::condition_variable work_cv_;    ///< a task was queued, or shutdown
  std::condition_variable exited_cv_;  ///< a thread exited
  task_queue queue_;                   ///< guarded by mutex_
  owned_tasks running_;                ///< guarded by mutex_: taken by a thread, not yet released
  std::size_t threads_ = 0;            ///< guarded by mutex_
  std::size_t idle_ = 0;               ///< guarded by mutex_: threads waiting for work
  bool shutdown_ = false;              ///< guarded by mutex_; never unset
};

}  // namespace kyoto::detail
