// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "blocking/pool.hpp"
#include "dump/dump_signal.hpp"
#include "metrics/endpoint.hpp"
#include "scheduler/current_thread/scheduler.hpp"
#include "scheduler/deterministic/scheduler.hpp"
#include "scheduler/multi_thread/scheduler.hpp"
#include "unhandled_panic.hpp"

#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/runtime.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace kyoto {

runtime::runtime() : runtime(builder::multi_thread().build()) {}

namespace {

/// Aborts, saying why on stderr whatever KYOTO_LOG says, if the calling
/// thread runs `s`'s tasks: the shutdown would destroy the task that is
/// running it (and, on a worker, join its own thread). The schedulers check
/// too, but through the logger, which KYOTO_LOG=off silences.
void check_not_own_task(detail::scheduler& s) noexcept {
  detail::scheduler* running = detail::current_context.sched;
  // Compared by blocking pool: a runtime's scheduler may be wrapped
  // (unhandled_panic::shutdown_runtime), and its tasks then see the inner
  // one; both answer with the same pool.
  if (running == nullptr || &running->blocking_pool() != &s.blocking_pool()) return;
  std::fprintf(stderr,
               "kyoto: a runtime was destroyed from one of its own tasks (on its thread %d: the "
               "runtime's destructor, shutdown_timeout or move assignment would cancel the very "
               "task that is running it); aborting\n",
               static_cast<int>(::gettid()));
  std::fflush(stderr);
  std::terminate();
}

/// Stops the scheduler (cancelling its tasks), then the blocking pool.
bool shut_down(detail::scheduler& s, std::optional<std::chrono::nanoseconds> timeout) noexcept {
  check_not_own_task(s);
  s.shutdown();
  // A deterministic runtime has no pool: its blocking functions run inline.
  auto* pool = dynamic_cast<detail::blocking_pool*>(&s.blocking_pool());
  return pool == nullptr || pool->shutdown_for(timeout);
}

}  // namespace

runtime& runtime::operator=(runtime&& other) noexcept {
  if (this != &other) {
    if (sched_) shut_down(*sched_, std::nullopt);
    sched_ = std::move(other.sched_);
    endpoint_ = std::move(other.endpoint_);
  }
  return *this;
}

runtime::~runtime() {
  if (sched_) shut_down(*sched_, std::nullopt);
}

bool runtime::shutdown_timeout(std::chrono::nanoseconds timeout) && {
  if (!sched_) detail::throw_moved_from_runtime("kyoto::runtime::shutdown_timeout");
  const bool all = shut_down(*sched_, timeout);
  sched_.reset();
  return all;
}

runtime runtime::builder::build() const {
  if (unhandled_panic_ == kyoto::unhandled_panic::shutdown_runtime) {
    return build_shutting_down_on_exception();
  }
  if (event_interval_ == 0 || global_queue_interval_ == 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: event_interval and global_queue_interval must be at "
        "least 1");
  }
  if (max_blocking_threads_ == 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: max_blocking_threads must be at least 1");
  }
  detail::blocking_config blocking;
  blocking.max_threads = max_blocking_threads_;
  blocking.keep_alive = thread_keep_alive_;
  if (flavor_ == flavor::deterministic) {
    detail::deterministic_config config;
    config.seed = rng_seed_.value_or(0);
    return with_hooks(runtime(std::make_shared<detail::deterministic_scheduler>(config)));
  }
  if (flavor_ == flavor::current_thread) {
    detail::current_thread_config config;
    config.io_backend = io_backend_;
    config.start_paused = start_paused_;
    config.rng_seed = rng_seed_;
    config.metrics = {poll_time_histogram_, schedule_latency_histogram_};
    config.stall_threshold = stall_threshold_;
    return with_hooks(
        runtime(std::make_shared<detail::current_thread_scheduler>(blocking, config)));
  }
  if (start_paused_) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: start_paused(true) requires the current_thread runtime "
        "(paused time needs the one clock of a single driver)");
  }
  detail::multi_thread_config config;
  if (worker_threads_ && *worker_threads_ == 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: worker_threads must be at least 1");
  }
  config.workers = worker_threads_.value_or(std::max(1u, std::thread::hardware_concurrency()));
  config.event_interval = event_interval_;
  config.global_queue_interval = global_queue_interval_;
  config.on_thread_start = on_thread_start_;
  config.rng_seed = rng_seed_;
  config.on_thread_stop = on_thread_stop_;
  config.metrics = {poll_time_histogram_, schedule_latency_histogram_};
  config.stall_threshold = stall_threshold_;
  config.io_backend = io_backend_;
  config.concentration = concentration_;
  return with_hooks(runtime(std::make_shared<detail::multi_thread_scheduler>(config, blocking)));
}

runtime runtime::builder::with_hooks(runtime rt) const {
  if (hooks_ && hooks_->any()) rt.sched_->set_task_hooks(hooks_);
  std::optional<int> signum = dump_signal_;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once per build, as KYOTO_LOG is
  if (const char* env = std::getenv("KYOTO_DUMP_SIGNAL"); !signum && env != nullptr && *env != 0) {
    signum = detail::parse_dump_signal(env);
  }
  if (signum) detail::enable_dump_on_signal(rt.sched_, *signum);
  // And the metrics endpoint (once: build_shutting_down_on_exception comes
  // here twice).
  if (metrics_endpoint_ && !rt.endpoint_) {
    rt.endpoint_ = std::make_shared<detail::metrics_endpoint>(*metrics_endpoint_, rt.sched_);
  }
  return rt;
}

runtime runtime::builder::build_shutting_down_on_exception() const {
  builder plain = *this;
  plain.unhandled_panic_ = kyoto::unhandled_panic::ignore;
  runtime rt = plain.build();
  rt.sched_ = detail::shut_down_on_task_exception(std::move(rt.sched_));
  return with_hooks(std::move(rt));  // spawn calls them on the wrapper
}

handle handle::current() {
  detail::scheduler* s = detail::current_context.sched;
  if (s == nullptr) detail::throw_outside_runtime("kyoto::handle::current");
  return handle(s->shared_from_this());
}

}  // namespace kyoto
