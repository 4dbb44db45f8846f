// What the schedulers record for runtime_metrics beyond their plain
// counters: busy time, the opt-in histograms, the schedule-latency sampler
// and the I/O ring's request counts.
//
// # Cost
//
// - Busy time is always on: a clock read when a worker is about to block
//   in its driver and one when it returns (a park is a syscall anyway),
//   nothing per task.
// - I/O counts are always on: one single-writer counter bump per request
//   started and per completion reaped.
// - The histograms are off unless the builder enables them: a worker tests
//   one pointer of its own per task run (`timed`), the scheduler one
//   pointer per wake. When on, a run costs two clock reads and a bucket
//   bump; a sampled wake one clock read and two atomic stores.
//
// # Schedule latency without a timestamp in the task
//
// The task header has no room for a wake time (and must not grow), so
// latency is sampled: the runtime has one `latency_sampler` slot. A wake
// (scheduler::schedule()) that finds the slot free claims it, notes the
// time and the task; the worker that next runs that task (any worker: the
// task may have been stolen or gone through the injection queue) frees
// the slot and records now - then. At most one wake is in flight, so a busy
// runtime records one sample per wake-to-run interval (thousands per
// second), not every wake; which wakes are sampled does not depend on how
// long they wait, so the distribution is not biased by the sampling.
#pragma once

#include "metrics/counter.hpp"

#include <kyoto/runtime/metrics.hpp>

#include <kyoto/runtime/detail/config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace kyoto::detail {

/// The metrics options of runtime::builder, passed to the schedulers.
struct metrics_options {
  std::optional<histogram_configuration> poll_time;         ///< unset: off
  std::optional<histogram_configuration> schedule_latency;  ///< unset: off
};

/// Nanoseconds on the steady clock (never 0 in practice: the epoch is boot).
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// A histogram written by one thread, read by any (counter.hpp).
class histogram_recorder {
 public:
  explicit histogram_recorder(const histogram_configuration& config);

  /// Records one duration. The owning thread only.
  void record(std::chrono::nanoseconds d) noexcept {
    buckets_[config_.bucket_of(d)].bump();
    sum_ns_.bump(d.count() > 0 ? static_cast<std::uint64_t>(d.count()) : 0);
  }
  /// The counts as of now. Any thread.
  histogram snapshot() const;

 private:
  histogram_configuration config_;
  std::unique_ptr<counter[]> buckets_;  // NOLINT(*-avoid-c-arrays): fixed at construction
  counter sum_ns_;
};

/// The single sampled wake of a runtime; see the file comment.
class latency_sampler {
 public:
  /// A wake of `task`: claims the slot if it is free. Any thread.
  void on_schedule(const void* task) noexcept {
    if (task_.load(std::memory_order_relaxed) != nullptr) return;
    const void* expected = nullptr;
    // Relaxed: the claim only keeps other wakes out; the task is published
    // by the release store below.
    if (!task_.compare_exchange_strong(expected, claiming, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
      return;
    }
    since_.store(steady_ns(), std::memory_order_relaxed);
    // Release: publishes since_ to the worker that acquires the task in
    // on_run().
    task_.store(task, std::memory_order_release);
  }

  /// `task` is about to run at `now` (steady_ns()): if it is the sampled
  /// one, frees the slot and records the latency in `into`. The worker
  /// running the task (a task runs on one worker at a time, so only one
  /// thread can match it).
  void on_run(const void* task, std::int64_t now, histogram_recorder& into) noexcept {
    // Acquire: pairs with the release store in on_schedule(), so since_
    // is the one written for this task.
    if (task_.load(std::memory_order_acquire) != task) return;
    const std::int64_t since = since_.load(std::memory_order_relaxed);
    // Relaxed: the slot is ours (only the running worker can match the
    // task); the store lets the next wake claim it.
    task_.store(nullptr, std::memory_order_relaxed);
    into.record(std::chrono::nanoseconds(now - since));
  }

 private:
  /// The slot's value while a wake fills it in.
  static inline const char claiming_tag = 0;
  static constexpr const void* claiming = &claiming_tag;

  /// The sampled task, `claiming`, or null (free). Written by wakes (any
  /// thread) and by the worker that runs the sampled task.
  alignas(destructive_interference) atomic<const void*> task_{nullptr};
  /// When the sampled wake happened (steady_ns()).
  atomic<std::int64_t> since_{0};
};

/// A worker's busy time and histograms. Written by the worker only;
/// snapshot() from any thread.
class worker_stats {
 public:
  /// Enables the histograms `options` asks for. Before the worker starts.
  void configure(const metrics_options& options);

  /// The worker leaves its driver's park (or starts): busy from now.
  void start_busy() noexcept { busy_since_.store(steady_ns(), std::memory_order_relaxed); }
  /// The worker is about to block in its driver (or stops).
  void stop_busy() noexcept {
    const std::int64_t since = busy_since_.load(std::memory_order_relaxed);
    if (since == 0) return;
    busy_ns_.bump(static_cast<std::uint64_t>(steady_ns() - since));
    busy_since_.store(0, std::memory_order_relaxed);
  }

  /// Whether runs must be timed (a histogram is on): the one test per run.
  bool timed() const noexcept { return timed_; }

  /// Runs `run()` (a task's run, returning bool), recording its poll time
  /// and, through `sampler`, its schedule latency. Only when timed().
  template <class Run>
  bool run_timed(const void* task, latency_sampler* sampler, Run&& run) noexcept {
    const std::int64_t start = steady_ns();
    if (sampler != nullptr && schedule_latency_) sampler->on_run(task, start, *schedule_latency_);
    const bool again = run();
    if (poll_time_) poll_time_->record(std::chrono::nanoseconds(steady_ns() - start));
    return again;
  }

  /// Fills the busy time and histograms of `into`. Any thread.
  void snapshot(worker_metrics& into) const;

 private:
  counter busy_ns_;
  /// steady_ns() when the current busy stretch began; 0 while parked.
  /// Written by the worker, read by snapshot() (relaxed: approximate).
  atomic<std::int64_t> busy_since_{0};
  bool timed_ = false;
  std::unique_ptr<histogram_recorder> poll_time_;
  std::unique_ptr<histogram_recorder> schedule_latency_;
};

/// A reactor's request counts: bumped by the driver's thread, read by
/// metrics() on any thread.
struct io_counters {
  counter submitted;  ///< requests started (reactor::start())
  counter completed;  ///< their completions reaped
};

/// Counts a worker's busy time for a scope (a current_thread block_on).
class busy_scope {
 public:
  explicit busy_scope(worker_stats& s) noexcept : stats_(s) { stats_.start_busy(); }
  ~busy_scope() { stats_.stop_busy(); }
  busy_scope(const busy_scope&) = delete;
  busy_scope& operator=(const busy_scope&) = delete;

 private:
  worker_stats& stats_;
};

/// Stops a worker's busy time for a scope (around a blocking park).
class busy_pause {
 public:
  explicit busy_pause(worker_stats& s) noexcept : stats_(s) { stats_.stop_busy(); }
  ~busy_pause() { stats_.start_busy(); }
  busy_pause(const busy_pause&) = delete;
  busy_pause& operator=(const busy_pause&) = delete;

 private:
  worker_stats& stats_;
};

}  // namespace kyoto::detail
