// runtime_metrics: histogram bounds, the recorders, the Prometheus text.
#include "metrics/stats.hpp"

#include <kyoto/runtime/metrics.hpp>

#include <bit>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace kyoto {

histogram_configuration histogram_configuration::linear(std::chrono::nanoseconds width,
                                                        std::size_t buckets) {
  if (width.count() <= 0) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::linear: the bucket width must be positive");
  }
  if (buckets < 2 || buckets > 1024) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::linear: the number of buckets must be 2 to 1024, not " +
        std::to_string(buckets));
  }
  if (width.count() >
      std::numeric_limits<std::int64_t>::max() / static_cast<std::int64_t>(buckets)) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::linear: the last bound overflows nanoseconds");
  }
  return {false, width, buckets};
}

histogram_configuration histogram_configuration::log(std::chrono::nanoseconds first,
                                                     std::size_t buckets) {
  if (first.count() <= 0) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::log: the first bucket's bound must be positive");
  }
  if (buckets < 2 || buckets > 64) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::log: the number of buckets must be 2 to 64, not " +
        std::to_string(buckets));
  }
  // The last finite bound is first * 2^(buckets - 2).
  if (std::bit_width(static_cast<std::uint64_t>(first.count())) + (buckets - 2) > 62) {
    throw std::invalid_argument(
        "kyoto::histogram_configuration::log: the last bound overflows nanoseconds");
  }
  return {true, first, buckets};
}

std::size_t histogram_configuration::bucket_of(std::chrono::nanoseconds d) const noexcept {
  if (d.count() <= 0) return 0;
  const auto q = static_cast<std::uint64_t>(d.count() / resolution_.count());
  // log: bucket i >= 1 holds [first * 2^(i-1), first * 2^i), i.e. the q
  // whose bit width is i.
  const std::size_t i = log_ ? static_cast<std::size_t>(std::bit_width(q)) : q;
  return i < buckets_ ? i : buckets_ - 1;
}

std::chrono::nanoseconds histogram_configuration::upper_bound(std::size_t i) const noexcept {
  if (i + 1 >= buckets_) return std::chrono::nanoseconds::max();
  if (log_) return resolution_ * (std::int64_t{1} << i);
  return resolution_ * static_cast<std::int64_t>(i + 1);
}

std::uint64_t histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (const std::uint64_t c : counts)
    n += c;
  return n;
}

namespace {

/// A duration in seconds, as Prometheus wants it.
std::string seconds(std::chrono::nanoseconds d) {
  char text[40];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(d.count()) / 1e9);
  return text;
}

/// Writes one metric family of the exposition format.
class exposition {
 public:
  explicit exposition(std::string& out) : out_(out) {}

  void family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + ' ' + help + '\n';
    out_ += std::string("# TYPE ") + name + ' ' + type + '\n';
  }
  void sample(const char* name, const std::string& labels, const std::string& value) {
    out_ += name;
    if (!labels.empty()) out_ += '{' + labels + '}';
    out_ += ' ' + value + '\n';
  }
  template <class Int>
  void sample(const char* name, const std::string& labels, Int value) {
    sample(name, labels, std::to_string(value));
  }

  /// A histogram family: _bucket (cumulative), _sum, _count per worker.
  void histograms(const char* name, const char* help, const runtime_metrics& m,
                  const histogram worker_metrics::* which) {
    bool any = false;
    for (const worker_metrics& w : m.worker)
      any = any || (w.*which).enabled();
    if (!any) return;
    family(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    const std::string sum = std::string(name) + "_sum";
    const std::string count = std::string(name) + "_count";
    for (std::size_t i = 0; i < m.worker.size(); ++i) {
      const histogram& h = m.worker[i].*which;
      if (!h.enabled()) continue;
      const std::string worker = std::string("worker=\"") + std::to_string(i) + '"';
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < h.counts.size(); ++b) {
        cumulative += h.counts[b];
        const std::string le =
            b + 1 == h.counts.size() ? std::string("+Inf") : seconds(h.config.upper_bound(b));
        std::string labels = worker;
        labels += ",le=\"";
        labels += le;
        labels += '"';
        sample(bucket.c_str(), labels, cumulative);
      }
      sample(sum.c_str(), worker, seconds(h.sum));
      sample(count.c_str(), worker, cumulative);
    }
  }

  /// A per-worker family from one field.
  template <class Get>
  void per_worker(const char* name, const char* type, const char* help, const runtime_metrics& m,
                  Get get) {
    family(name, type, help);
    for (std::size_t i = 0; i < m.worker.size(); ++i)
      sample(name, std::string("worker=\"") + std::to_string(i) + '"', get(m.worker[i]));
  }

 private:
  std::string& out_;
};

}  // namespace

std::string runtime_metrics::to_prometheus() const {
  std::string out;
  exposition e(out);
  e.family("kyoto_workers", "gauge", "Worker threads of the runtime.");
  e.sample("kyoto_workers", "", workers);
  e.family("kyoto_alive_tasks", "gauge", "Tasks spawned and not finished.");
  e.sample("kyoto_alive_tasks", "", alive_tasks);
  e.family("kyoto_spawned_tasks_total", "counter", "Tasks spawned since the runtime was built.");
  e.sample("kyoto_spawned_tasks_total", "", spawned_tasks);
  e.family("kyoto_global_queue_depth", "gauge", "Tasks in the injection queue.");
  e.sample("kyoto_global_queue_depth", "", global_queue_depth);
  e.family("kyoto_blocking_threads", "gauge", "Threads of the blocking pool.");
  e.sample("kyoto_blocking_threads", "", blocking_threads);
  e.per_worker("kyoto_worker_polls_total", "counter", "Task runs on the worker.", *this,
               [](const worker_metrics& w) { return std::to_string(w.polls); });
  e.per_worker("kyoto_worker_steals_total", "counter", "Tasks the worker stole from others.", *this,
               [](const worker_metrics& w) { return std::to_string(w.steals); });
  e.per_worker("kyoto_worker_parks_total", "counter",
               "Times the worker went to sleep for want of work.", *this,
               [](const worker_metrics& w) { return std::to_string(w.parks); });
  e.per_worker("kyoto_worker_local_queue_depth", "gauge", "Tasks in the worker's run queue.", *this,
               [](const worker_metrics& w) { return std::to_string(w.local_queue_depth); });
  e.per_worker("kyoto_worker_busy_seconds_total", "counter",
               "Time the worker was not parked, in seconds.", *this,
               [](const worker_metrics& w) { return seconds(w.busy_duration); });
  e.per_worker("kyoto_worker_io_submitted_total", "counter",
               "I/O requests the worker started on its io_uring ring.", *this,
               [](const worker_metrics& w) { return std::to_string(w.io_submitted); });
  e.per_worker("kyoto_worker_io_completed_total", "counter",
               "I/O requests whose completion the worker reaped.", *this,
               [](const worker_metrics& w) { return std::to_string(w.io_completed); });
  e.per_worker("kyoto_worker_io_in_flight", "gauge",
               "I/O requests started on the worker's ring and not completed.", *this,
               [](const worker_metrics& w) { return std::to_string(w.io_in_flight()); });
  e.histograms("kyoto_worker_poll_time_seconds", "Duration of each task run on the worker.", *this,
               &worker_metrics::poll_time);
  e.histograms("kyoto_worker_schedule_latency_seconds",
               "Time from a sampled task wake to the start of its run.", *this,
               &worker_metrics::schedule_latency);
  return out;
}

namespace detail {

histogram_recorder::histogram_recorder(const histogram_configuration& config)
    : config_(config),
      buckets_(std::make_unique<counter[]>(config.buckets())) {}  // NOLINT(*-avoid-c-arrays)

histogram histogram_recorder::snapshot() const {
  histogram h;
  h.config = config_;
  h.counts.reserve(config_.buckets());
  for (std::size_t i = 0; i < config_.buckets(); ++i)
    h.counts.push_back(buckets_[i].get());
  h.sum = std::chrono::nanoseconds(static_cast<std::int64_t>(sum_ns_.get()));
  return h;
}

void worker_stats::configure(const metrics_options& options) {
  if (options.poll_time) poll_time_ = std::make_unique<histogram_recorder>(*options.poll_time);
  if (options.schedule_latency) {
    schedule_latency_ = std::make_unique<histogram_recorder>(*options.schedule_latency);
  }
  timed_ = poll_time_ != nullptr || schedule_latency_ != nullptr;
}

void worker_stats::snapshot(worker_metrics& into) const {
  std::uint64_t busy = busy_ns_.get();
  const std::int64_t since = busy_since_.load(std::memory_order_relaxed);
  if (since != 0) {
    const std::int64_t now = steady_ns();
    if (now > since) busy += static_cast<std::uint64_t>(now - since);
  }
  into.busy_duration = std::chrono::nanoseconds(static_cast<std::int64_t>(busy));
  if (poll_time_) into.poll_time = poll_time_->snapshot();
  if (schedule_latency_) into.schedule_latency = schedule_latency_->snapshot();
}

}  // namespace detail

}  // namespace kyoto
