// kyoto::runtime_metrics: counters of a running runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kyoto {

/// One worker's counters, in a runtime_metrics snapshot.
struct worker_metrics {
  std::uint64_t polls = 0;            ///< task runs on this worker
  std::uint64_t steals = 0;           ///< tasks it stole from other workers
  std::uint64_t parks = 0;            ///< times it went to sleep for want of work
  std::size_t local_queue_depth = 0;  ///< tasks in its run queue now
};

/// A snapshot of a runtime's counters (tokio's RuntimeMetrics), from
/// runtime::metrics(). Counters run since the runtime was built; depths and
/// counts are as of the snapshot, which is taken while the runtime runs, so
/// they are approximate. Blocking tasks (spawn_blocking) are counted only
/// in blocking_threads.
struct runtime_metrics {
  std::size_t workers = 0;             ///< worker threads (1 for current_thread)
  std::size_t alive_tasks = 0;         ///< spawned and not finished
  std::uint64_t spawned_tasks = 0;     ///< spawned since the runtime was built
  std::size_t global_queue_depth = 0;  ///< tasks in the injection queue
  std::size_t blocking_threads = 0;    ///< threads of the blocking pool now
  std::vector<worker_metrics> worker;  ///< one per worker
};

}  // namespace kyoto
