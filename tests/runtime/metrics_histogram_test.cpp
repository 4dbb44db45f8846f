// runtime_metrics' busy time, poll-time and schedule-latency histograms,
// I/O ring counts and Prometheus text: ports of tokio's tests/rt_metrics.rs
// (worker_total_busy_duration, and the poll-count histogram tests of later
// tokio: enabled, disabled without an explicit enable, bucket ranges), plus
// the I/O counts (tokio's io_driver_ready_count counts readiness events;
// kyoto counts io_uring requests) and the rendering.
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

using namespace std::chrono_literals;

namespace {

using kyoto::histogram_configuration;

kyoto::task<> spawn_and_await(int n) {
  for (int i = 0; i < n; ++i)
    co_await kyoto::spawn([]() -> kyoto::task<> { co_await kyoto::yield_now(); });
}

TEST(MetricsHistogram, BusyDurationIsPositiveOnTheCurrentThreadWorker) {
  auto rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on(spawn_and_await(5));
  EXPECT_GT(rt.metrics().worker.at(0).busy_duration, 0ns);
}

TEST(MetricsHistogram, BusyDurationIsPositiveOnEveryMultiThreadWorker) {
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on(spawn_and_await(5));
  // Every worker was busy from its start until it first parked, whether or
  // not it ran one of the tasks: once each has parked, each was busy.
  auto all_parked = [&rt] {
    for (const kyoto::worker_metrics& w : rt.metrics().worker) {
      if (w.parks == 0) return false;
    }
    return true;
  };
  while (!all_parked())
    std::this_thread::yield();
  for (const kyoto::worker_metrics& w : rt.metrics().worker)
    EXPECT_GT(w.busy_duration, 0ns);
}

TEST(MetricsHistogram, BusyDurationDoesNotGrowWhileParked) {
  auto rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on(kyoto::yield_now());
  const std::chrono::nanoseconds before = rt.metrics().worker.at(0).busy_duration;
  // Not driven: the worker is not busy, however long this takes.
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rt.metrics().worker.at(0).busy_duration, before);
}

TEST(MetricsHistogram, PollTimeHistogramIsEmptyUnlessEnabled) {
  auto rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on(spawn_and_await(3));
  const kyoto::worker_metrics w = rt.metrics().worker.at(0);
  EXPECT_FALSE(w.poll_time.enabled());
  EXPECT_FALSE(w.schedule_latency.enabled());
  EXPECT_EQ(rt.metrics().to_prometheus().find("poll_time"), std::string::npos);
}

TEST(MetricsHistogram, PollTimeHistogramCountsEveryPollOnCurrentThread) {
  auto rt = kyoto::runtime::builder::current_thread().enable_metrics_poll_time_histogram().build();
  rt.block_on(spawn_and_await(5));
  const kyoto::worker_metrics w = rt.metrics().worker.at(0);
  ASSERT_TRUE(w.poll_time.enabled());
  EXPECT_EQ(w.poll_time.counts.size(), 20u);  // the default: log(1 µs, 20)
  EXPECT_EQ(w.poll_time.count(), w.polls);
  EXPECT_GE(w.polls, 11u);  // the root, and each task twice (it yields once)
  EXPECT_GT(w.poll_time.sum, 0ns);
}

TEST(MetricsHistogram, PollTimeHistogramCountsEveryPollOnMultiThread) {
  auto rt = kyoto::runtime::builder::multi_thread()
                .worker_threads(2)
                .metrics_poll_time_histogram_configuration(histogram_configuration::linear(1ms, 4))
                .build();
  rt.block_on(spawn_and_await(20));
  std::uint64_t polls = 0;
  std::uint64_t recorded = 0;
  for (const kyoto::worker_metrics& w : rt.metrics().worker) {
    ASSERT_EQ(w.poll_time.counts.size(), 4u);
    polls += w.polls;
    recorded += w.poll_time.count();
  }
  EXPECT_EQ(recorded, polls);
  EXPECT_GE(polls, 41u);
}

TEST(MetricsHistogram, PollTimeHistogramPutsALongPollInItsBucket) {
  auto rt = kyoto::runtime::builder::current_thread()
                .metrics_poll_time_histogram_configuration(histogram_configuration::linear(5ms, 3))
                .build();
  rt.block_on(rt.spawn([]() -> kyoto::task<> {
    std::this_thread::sleep_for(12ms);  // the poll being measured, not synchronisation
    co_return;
  }));
  const kyoto::histogram h = rt.metrics().worker.at(0).poll_time;
  EXPECT_EQ(h.counts.at(2), 1u);  // [10 ms, +inf)
  EXPECT_GE(h.sum, 12ms);
}

TEST(MetricsHistogram, LinearConfigurationBucketsByWidth) {
  const histogram_configuration c = histogram_configuration::linear(100us, 10);
  EXPECT_FALSE(c.is_log());
  EXPECT_EQ(c.bucket_of(0ns), 0u);
  EXPECT_EQ(c.bucket_of(99us), 0u);
  EXPECT_EQ(c.bucket_of(100us), 1u);
  EXPECT_EQ(c.bucket_of(899us), 8u);
  EXPECT_EQ(c.bucket_of(10s), 9u);
  EXPECT_EQ(c.upper_bound(0), 100us);
  EXPECT_EQ(c.upper_bound(8), 900us);
  EXPECT_EQ(c.upper_bound(9), std::chrono::nanoseconds::max());
}

TEST(MetricsHistogram, LogConfigurationDoublesTheBounds) {
  const histogram_configuration c = histogram_configuration::log(1us, 5);
  EXPECT_TRUE(c.is_log());
  EXPECT_EQ(c.bucket_of(-5ns), 0u);
  EXPECT_EQ(c.bucket_of(999ns), 0u);
  EXPECT_EQ(c.bucket_of(1us), 1u);
  EXPECT_EQ(c.bucket_of(1999ns), 1u);
  EXPECT_EQ(c.bucket_of(2us), 2u);
  EXPECT_EQ(c.bucket_of(7us), 3u);
  EXPECT_EQ(c.bucket_of(8us), 4u);
  EXPECT_EQ(c.bucket_of(1s), 4u);
  EXPECT_EQ(c.upper_bound(0), 1us);
  EXPECT_EQ(c.upper_bound(3), 8us);
  EXPECT_EQ(c.upper_bound(4), std::chrono::nanoseconds::max());
}

TEST(MetricsHistogram, BadConfigurationsThrowNamingTheOperation) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return histogram_configuration::linear(0ns, 4); },
      "kyoto::histogram_configuration::linear: the bucket width must be positive");
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return histogram_configuration::linear(1us, 1); },
      "kyoto::histogram_configuration::linear: the number of buckets must be 2 to 1024, not 1");
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return histogram_configuration::log(-1ns, 4); },
      "kyoto::histogram_configuration::log: the first bucket's bound must be positive");
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return histogram_configuration::log(1us, 65); },
      "kyoto::histogram_configuration::log: the number of buckets must be 2 to 64, not 65");
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return histogram_configuration::log(1s, 40); },
      "kyoto::histogram_configuration::log: the last bound overflows nanoseconds");
}

/// Ping-pong between two tasks over channels: every message is a wake.
kyoto::task<> ping_pong(int rounds) {
  auto [to_tx, to_rx] = kyoto::sync::mpsc::channel<int>(1);
  auto [back_tx, back_rx] = kyoto::sync::mpsc::channel<int>(1);
  auto echo = kyoto::spawn(
      [](kyoto::sync::mpsc::receiver<int> rx, kyoto::sync::mpsc::sender<int> tx) -> kyoto::task<> {
        while (std::optional<int> v = co_await rx.recv())
          (co_await tx.send(*v)).value();
      },
      std::move(to_rx), std::move(back_tx));
  for (int i = 0; i < rounds; ++i) {
    (co_await to_tx.send(i)).value();
    const std::optional<int> echoed = co_await back_rx.recv();
    EXPECT_EQ(echoed, i);
  }
  {
    auto drop = std::move(to_tx);
  }
  co_await echo;
}

TEST(MetricsHistogram, ScheduleLatencyRecordsSampledWakesOnCurrentThread) {
  auto rt =
      kyoto::runtime::builder::current_thread().enable_metrics_schedule_latency_histogram().build();
  rt.block_on(ping_pong(200));
  const kyoto::worker_metrics w = rt.metrics().worker.at(0);
  ASSERT_TRUE(w.schedule_latency.enabled());
  EXPECT_FALSE(w.poll_time.enabled());
  // On one thread a sampled wake always runs before the next wake can be
  // sampled... except when the next wake comes first; most are sampled.
  EXPECT_GE(w.schedule_latency.count(), 100u);
  EXPECT_LE(w.schedule_latency.count(), w.polls);
}

TEST(MetricsHistogram, ScheduleLatencyRecordsSampledWakesOnMultiThread) {
  auto rt = kyoto::runtime::builder::multi_thread()
                .worker_threads(2)
                .enable_metrics_schedule_latency_histogram()
                .build();
  rt.block_on(ping_pong(200));
  std::uint64_t samples = 0;
  std::uint64_t polls = 0;
  for (const kyoto::worker_metrics& w : rt.metrics().worker) {
    ASSERT_TRUE(w.schedule_latency.enabled());
    samples += w.schedule_latency.count();
    polls += w.polls;
  }
  EXPECT_GE(samples, 1u);
  EXPECT_LE(samples, polls);
}

TEST(MetricsHistogram, IoCountsShowRequestsInFlightAndCompleted) {
  auto rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on([&rt]() -> kyoto::task<> {
    auto listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
    const std::uint64_t before = rt.metrics().worker.at(0).io_submitted;
    auto accept =
        kyoto::spawn([&listener]() -> kyoto::task<> { (void)co_await listener.accept(); });
    co_await kyoto::yield_now();  // the accept is started and waits
    const kyoto::worker_metrics waiting = rt.metrics().worker.at(0);
    EXPECT_GT(waiting.io_submitted, before);
    EXPECT_GE(waiting.io_in_flight(), 1u);
    auto client = co_await kyoto::net::tcp_stream::connect(listener.local_addr());
    co_await accept;
  }());
  const kyoto::worker_metrics done = rt.metrics().worker.at(0);
  EXPECT_EQ(done.io_in_flight(), 0u);
  EXPECT_EQ(done.io_completed, done.io_submitted);
  EXPECT_GE(done.io_completed, 2u);  // the accept and the connect
}

TEST(MetricsHistogram, ToPrometheusRendersHelpTypeAndHistogramSeries) {
  auto rt = kyoto::runtime::builder::current_thread()
                .metrics_poll_time_histogram_configuration(histogram_configuration::linear(1s, 2))
                .build();
  rt.block_on(spawn_and_await(2));
  const kyoto::runtime_metrics m = rt.metrics();
  const std::string text = m.to_prometheus();
  auto has = [&text](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  };
  has("# HELP kyoto_workers Worker threads of the runtime.");
  has("# TYPE kyoto_workers gauge");
  has("kyoto_workers 1");
  has("# TYPE kyoto_spawned_tasks_total counter");
  has(std::string("kyoto_spawned_tasks_total ") + std::to_string(m.spawned_tasks));
  has(std::string("kyoto_worker_polls_total{worker=\"0\"} ") + std::to_string(m.worker[0].polls));
  has("# TYPE kyoto_worker_busy_seconds_total counter");
  has("# TYPE kyoto_worker_io_in_flight gauge");
  has("# TYPE kyoto_worker_poll_time_seconds histogram");
  const std::string polls = std::to_string(m.worker[0].poll_time.count());
  has(std::string("kyoto_worker_poll_time_seconds_bucket{worker=\"0\",le=\"1\"} ") +
      polls);  // all under 1 s
  has(std::string("kyoto_worker_poll_time_seconds_bucket{worker=\"0\",le=\"+Inf\"} ") + polls);
  has(std::string("kyoto_worker_poll_time_seconds_count{worker=\"0\"} ") + polls);
  EXPECT_NE(text.find("kyoto_worker_poll_time_seconds_sum{worker=\"0\"} "), std::string::npos);
  EXPECT_EQ(text.find("schedule_latency"), std::string::npos);  // not enabled
}

}  // namespace
