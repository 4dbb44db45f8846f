// kyoto::block_in_place (<kyoto/runtime/block_in_place.hpp>): a worker
// steps out of its runtime for a blocking call.
//
// Entering: the worker hands its LIFO slot and run queue to the injection
// queue (worker::enter_blocking(), which wakes a parked worker for them)
// and flags its poll record `blocking`, so the watchdog fires its timers at
// every tick and reports no stall; then the thread stops being a worker
// (current_worker() is null: spawns and wakes made by `f` go to the
// injection queue) and its context is cleared (kyoto::spawn throws, and
// block_on of another runtime passes check_may_block). Leaving undoes both
// in reverse order; the task's poll then goes on.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "dump/block_in_place_since.hpp"
#include "scheduler/multi_thread/worker.hpp"

#include <kyoto/runtime/block_in_place.hpp>
#include <kyoto/time/clock.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/context.hpp>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace kyoto::detail {

namespace {

/// A task inside block_in_place, and the state tick of its entry.
struct blocking_entry {
  const task_header* task;
  std::uint32_t since;
};

/// The tasks inside block_in_place now, which task dumps list as blocking
/// (a worker's task state says running), with since when. block_in_place
/// is rare and costs a hand-over of the worker's queue already: a lock
/// and a clock read here are nothing.
struct blocking_tasks {
  std::mutex lock;
  std::vector<blocking_entry> tasks;  ///< guarded by lock

  auto find(const task_header* t) {
    return std::find_if(tasks.begin(), tasks.end(),
                        [t](const blocking_entry& e) { return e.task == t; });
  }
};

blocking_tasks& the_blocking_tasks() {
  // Never destroyed: a block_in_place may run during static destruction.
  static auto* b = new blocking_tasks();
  return *b;
}

}  // namespace

bool in_block_in_place(const task_header* task) noexcept {
  blocking_tasks& b = the_blocking_tasks();
  const std::lock_guard<std::mutex> g(b.lock);
  return b.find(task) != b.tasks.end();
}

bool block_in_place_since(const task_header* task, std::uint32_t& since) noexcept {
  blocking_tasks& b = the_blocking_tasks();
  const std::lock_guard<std::mutex> g(b.lock);
  const auto at = b.find(task);
  if (at == b.tasks.end()) return false;
  since = at->since;
  return true;
}

blocking_section::blocking_section(const char* operation) {
  multi_thread_scheduler::worker* w = current_worker();
  if (w == nullptr || current_context.task == nullptr) {
    if (current_context.sched != nullptr && current_context.task != nullptr) {
      throw std::logic_error(
          std::string(operation) +
          ": called on a current_thread runtime, whose one thread runs every task (it would "
          "block them all); use kyoto::spawn_blocking, or a multi_thread runtime");
    }
    return;  // a plain thread, a blocking-pool thread, a nested call
  }
  {
    // First, so that a failure leaves nothing to undo.
    blocking_tasks& b = the_blocking_tasks();
    const std::lock_guard<std::mutex> g(b.lock);
    // The runtime's clock (this is a worker): the dump's, when taken on a
    // runtime thread.
    b.tasks.push_back({current_context.task, state_tick_at(kyoto::time::clock::now())});
  }
  w->enter_blocking();
  saved_ = current_context;
  current_context = context{};
  exchange_current_worker(nullptr);
  worker_ = w;
}

blocking_section::~blocking_section() {
  if (worker_ == nullptr) return;
  auto* w = static_cast<multi_thread_scheduler::worker*>(worker_);
  exchange_current_worker(w);
  current_context = saved_;
  w->exit_blocking();
  blocking_tasks& b = the_blocking_tasks();
  const std::lock_guard<std::mutex> g(b.lock);
  const auto at = b.find(current_context.task);
  if (at != b.tasks.end()) b.tasks.erase(at);
}

}  // namespace kyoto::detail
