#include "scheduler/current_thread/scheduler.hpp"
#include "scheduler/multi_thread/scheduler.hpp"

#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/runtime.hpp>

#include <kyoto/runtime/detail/context.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

namespace kyoto {

runtime::runtime() : runtime(builder::multi_thread().build()) {}

runtime& runtime::operator=(runtime&& other) noexcept {
  if (this != &other) {
    if (sched_) sched_->shutdown();
    sched_ = std::move(other.sched_);
  }
  return *this;
}

runtime::~runtime() {
  if (sched_) sched_->shutdown();
}

runtime runtime::builder::build() const {
  if (event_interval_ == 0 || global_queue_interval_ == 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: event_interval and global_queue_interval must be at "
        "least 1");
  }
  if (flavor_ == flavor::current_thread) {
    return runtime(std::make_shared<detail::current_thread_scheduler>());
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
  config.on_thread_stop = on_thread_stop_;
  return runtime(std::make_shared<detail::multi_thread_scheduler>(config));
}

handle handle::current() {
  detail::scheduler* s = detail::current_context.sched;
  if (s == nullptr) detail::throw_outside_runtime("kyoto::handle::current");
  return handle(s->shared_from_this());
}

}  // namespace kyoto
