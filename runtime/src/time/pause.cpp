// kyoto::time::pause, resume, advance (<kyoto/time/pause.hpp>): the
// calling thread's runtime must be a current_thread one, whose single
// driver owns the clock (driver.hpp); the auto-advance is in that
// scheduler's park (scheduler/current_thread/scheduler.cpp).
#include "driver.hpp"
#include "scheduler/current_thread/scheduler.hpp"
#include "scheduler/deterministic/scheduler.hpp"

#include <kyoto/time/pause.hpp>

#include <kyoto/runtime/detail/context.hpp>

#include <stdexcept>
#include <string>

namespace kyoto::detail {

namespace {

/// The calling thread's current_thread (or deterministic) runtime's driver; throws
/// std::logic_error naming `operation` otherwise.
driver& pausable_driver(const char* operation) {
  driver* d = current_context.drv;
  if (d == nullptr || current_context.sched == nullptr) throw_outside_runtime(operation);
  if (dynamic_cast<current_thread_scheduler*>(current_context.sched) == nullptr &&
      dynamic_cast<deterministic_scheduler*>(current_context.sched) == nullptr) {
    throw std::logic_error(
        std::string(operation) +
        ": paused time requires the current_thread runtime "
        "(runtime::builder::current_thread()) or a deterministic one; a multi_thread runtime's "
        "workers each have their own clock");
  }
  return *d;
}

}  // namespace

void advance_clock(time::clock::duration d) {
  driver& drv = pausable_driver("kyoto::time::advance");
  if (!drv.time_paused()) {
    throw std::logic_error(
        "kyoto::time::advance: time is not paused (call kyoto::time::pause() first, or build "
        "the runtime with start_paused(true))");
  }
  if (d < time::clock::duration::zero()) {
    throw std::invalid_argument("kyoto::time::advance: the duration must not be negative");
  }
  drv.advance_time(d);
}

}  // namespace kyoto::detail

namespace kyoto::time {

void pause() {
  detail::driver& drv = detail::pausable_driver("kyoto::time::pause");
  if (drv.time_paused()) throw std::logic_error("kyoto::time::pause: time is already paused");
  drv.time().pause();
  // From now on this thread's clock reads go to the runtime's clock; the
  // block_on's clock_scope restores the pointer when it returns, and the
  // next block_on sets it again (the clock is shifted for good).
  detail::shifted_clock = &drv.time();
}

void resume() {
  detail::driver& drv = detail::pausable_driver("kyoto::time::resume");
  if (!drv.time_paused()) throw std::logic_error("kyoto::time::resume: time is not paused");
  drv.time().resume();
}

}  // namespace kyoto::time
