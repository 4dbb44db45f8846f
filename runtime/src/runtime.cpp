#include "scheduler/current_thread/scheduler.hpp"

#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/runtime.hpp>

#include <kyoto/runtime/detail/context.hpp>

#include <memory>
#include <utility>

namespace kyoto {

runtime::runtime() : runtime(builder::current_thread().build()) {}

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
  return runtime(std::make_shared<detail::current_thread_scheduler>());
}

handle handle::current() {
  detail::scheduler* s = detail::current_context.sched;
  if (s == nullptr) detail::throw_outside_runtime("kyoto::handle::current");
  return handle(s->shared_from_this());
}

}  // namespace kyoto
