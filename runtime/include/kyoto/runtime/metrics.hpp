// kyoto::runtime_metrics: counters of a running runtime, its optional
// histograms (poll time, schedule latency) and their Prometheus rendering.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kyoto {

/// How a runtime histogram splits durations into buckets (tokio's
/// HistogramConfiguration), for builder::metrics_poll_time_histogram_configuration
/// and metrics_schedule_latency_histogram_configuration. A value; build it
/// with linear() or log().
///
/// Thread safety: a plain value.
class KYOTO_EXPORT histogram_configuration {
 public:
  /// `buckets` buckets `width` wide: [0, w), [w, 2w), ..., and the last
  /// one from (buckets - 1) * w up. Throws std::invalid_argument (naming
  /// kyoto::histogram_configuration::linear) unless width > 0 and
  /// 2 <= buckets <= 1024.
  static histogram_configuration linear(std::chrono::nanoseconds width, std::size_t buckets);

  /// `buckets` buckets whose bounds double: [0, first), [first, 2 first),
  /// [2 first, 4 first), ..., the last one unbounded (tokio's log scale).
  /// Throws std::invalid_argument (naming kyoto::histogram_configuration::log)
  /// unless first > 0, 2 <= buckets <= 64 and the last bound fits in
  /// nanoseconds.
  static histogram_configuration log(std::chrono::nanoseconds first, std::size_t buckets);

  /// The default: log(1 µs, 20), from under a microsecond to over 262 ms.
  histogram_configuration() noexcept = default;

  /// Whether the bounds double (log()) rather than grow linearly.
  bool is_log() const noexcept { return log_; }
  /// linear(): each bucket's width; log(): the first bucket's upper bound.
  std::chrono::nanoseconds resolution() const noexcept { return resolution_; }
  /// How many buckets, the last one unbounded.
  std::size_t buckets() const noexcept { return buckets_; }
  /// The bucket a duration falls in (0 for a negative one).
  std::size_t bucket_of(std::chrono::nanoseconds d) const noexcept;
  /// Bucket i's upper bound (exclusive); nanoseconds::max() for the last.
  std::chrono::nanoseconds upper_bound(std::size_t i) const noexcept;

 private:
  histogram_configuration(bool log, std::chrono::nanoseconds resolution,
                          std::size_t buckets) noexcept
      : log_(log), resolution_(resolution), buckets_(buckets) {}

  bool log_ = true;
  std::chrono::nanoseconds resolution_{1000};
  std::size_t buckets_ = 20;
};

/// A snapshot of one histogram: how many durations fell in each bucket,
/// and their sum. Empty (no buckets) when the histogram is not enabled.
///
/// Thread safety: a plain value.
struct KYOTO_EXPORT histogram {
  histogram_configuration config;     ///< the bucket bounds
  std::vector<std::uint64_t> counts;  ///< one per bucket; empty if not enabled
  std::chrono::nanoseconds sum{0};    ///< of every recorded duration

  /// Whether the histogram is enabled (has buckets).
  bool enabled() const noexcept { return !counts.empty(); }
  /// Durations recorded, in all.
  std::uint64_t count() const noexcept;
};

/// One worker's counters, in a runtime_metrics snapshot.
struct worker_metrics {
  std::uint64_t polls = 0;            ///< task runs on this worker
  std::uint64_t steals = 0;           ///< tasks it stole from other workers
  std::uint64_t parks = 0;            ///< times it went to sleep for want of work
  std::size_t local_queue_depth = 0;  ///< tasks in its run queue now
  /// Time it was not parked (running tasks, polling its ring, looking for
  /// work), since the runtime was built (tokio's worker_total_busy_duration).
  std::chrono::nanoseconds busy_duration{0};
  /// I/O requests it started on its io_uring ring (reads, writes, accepts,
  /// timeouts of kyoto's I/O operations; not cancels or wake-ups).
  std::uint64_t io_submitted = 0;
  std::uint64_t io_completed = 0;  ///< of those, the ones whose completion it reaped
  /// Requests started and not yet completed, as of the snapshot.
  std::uint64_t io_in_flight() const noexcept {
    return io_submitted > io_completed ? io_submitted - io_completed : 0;
  }
  /// How long each poll (run) of a task took on this worker
  /// (builder::enable_metrics_poll_time_histogram; tokio's
  /// poll_time_histogram). Empty if not enabled.
  histogram poll_time{};
  /// Time from a task's wake to the start of its run, for a sample of the
  /// wakes, recorded by the worker that ran the task
  /// (builder::enable_metrics_schedule_latency_histogram). Empty if not
  /// enabled.
  histogram schedule_latency{};
};

/// A snapshot of a runtime's counters (tokio's RuntimeMetrics), from
/// runtime::metrics(). Counters run since the runtime was built; depths and
/// counts are as of the snapshot, which is taken while the runtime runs, so
/// they are approximate. Blocking tasks (spawn_blocking) are counted only
/// in blocking_threads. docs/observability.md describes each.
///
/// Thread safety: a plain value.
struct KYOTO_EXPORT runtime_metrics {
  std::size_t workers = 0;             ///< worker threads (1 for current_thread)
  std::size_t alive_tasks = 0;         ///< spawned and not finished
  std::uint64_t spawned_tasks = 0;     ///< spawned since the runtime was built
  std::size_t global_queue_depth = 0;  ///< tasks in the injection queue
  std::size_t blocking_threads = 0;    ///< threads of the blocking pool now
  std::vector<worker_metrics> worker;  ///< one per worker

  /// The snapshot in the Prometheus text exposition format (version
  /// 0.0.4): a `# HELP` and a `# TYPE` line per metric, named `kyoto_...`,
  /// per-worker metrics labelled `worker="i"`, durations in seconds,
  /// histograms as `_bucket{le="..."}` (cumulative, ending with
  /// le="+Inf"), `_sum` and `_count`. Histograms that are not enabled are
  /// left out. Allocates; throws std::bad_alloc only.
  std::string to_prometheus() const;
};

}  // namespace kyoto
