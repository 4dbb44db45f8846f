// The watchdog's loop; the protocol is described in watchdog.hpp.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "scheduler/multi_thread/watchdog.hpp"

#include "log.hpp"
#include "scheduler/multi_thread/worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace kyoto::detail {

watchdog::watchdog(multi_thread_scheduler& sched, std::chrono::milliseconds stall_threshold)
    : sched_(sched), threshold_(stall_threshold), samples_(sched.workers_.size()) {}

watchdog::~watchdog() {
  stop();
}

void watchdog::start() {
  thread_ = std::thread([this] { run(); });
}

void watchdog::stop() noexcept {
  {
    const std::lock_guard<std::mutex> guard(lock_);
    stop_ = true;
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void watchdog::run() noexcept {
  pthread_setname_np(pthread_self(), "kyoto-watchdog");
  bool busy = true;
  std::unique_lock<std::mutex> guard(lock_);
  for (;;) {
    const std::chrono::milliseconds wait = busy ? busy_tick : idle_tick;
    if (stop_requested_.wait_for(guard, wait, [this] { return stop_; })) return;
    guard.unlock();
    busy = tick(clock::now());
    guard.lock();
  }
}

bool watchdog::tick(clock::time_point now) noexcept {
  bool busy = false;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    multi_thread_scheduler::worker& w = *sched_.workers_[i];
    sample& last = samples_[i];
    // Acquire, and before seq: pairs with the release store in
    // worker::exit_blocking() (false here means we see the seq after it).
    const bool blocking = w.watch.blocking.load(std::memory_order_acquire);
    // Acquire: pairs with the worker's release stores of seq (poll_record's
    // begin() and end(), exit_blocking()).
    const std::uint64_t seq = w.watch.seq.load(std::memory_order_acquire);
    if (seq != last.seq) {
      last.seq = seq;
      last.since = now;
      busy = true;
      if (seq % 4 != 2 || !blocking) continue;
    }
    if (seq % 4 != 2) continue;  // no task runs there
    busy = true;
    // The same task for a tick or more (or a blocking section): its
    // worker is neither firing its timers nor reaping its ring; fire the
    // due timers here, reap what its ring has posted and have it post the
    // rest (driver.hpp, "Assists").
    w.drv.fire_due_timers();
    w.drv.rescue_io();
    // Relaxed: a hint; the worker refreshes its state tick after this poll.
    w.watch.stale_tick.store(true, std::memory_order_relaxed);
    if (threshold_.count() > 0 && last.reported != seq && now - last.since >= threshold_ &&
        !blocking) {
      last.reported = seq;
      report(i, seq, now - last.since);
    }
  }
  return busy;
}

void watchdog::report(std::size_t index, std::uint64_t seq, clock::duration ran) noexcept {
  if (!logger().should_log(spdlog::level::warn)) return;
  const multi_thread_scheduler::worker::poll_record& r = sched_.workers_[index]->watch;
  // The seqlock's read side (watchdog.hpp): the fields, then check that
  // the poll they describe is still the one whose seq we read. Acquire
  // loads: each pairs with the release store of that field in
  // poll_record::begin(), so a value from a later poll shows in seq below.
  const std::uint64_t id = r.task_id.load(std::memory_order_acquire);
  const char* file = r.file.load(std::memory_order_acquire);
  const std::uint32_t line = r.line.load(std::memory_order_acquire);
  std::string name(
      std::min<std::size_t>(r.name_size.load(std::memory_order_acquire), r.name.size()), '\0');
  for (std::size_t i = 0; i < name.size(); ++i)
    name[i] = r.name[i].load(std::memory_order_acquire);
  if (r.seq.load(std::memory_order_relaxed) != seq) return;  // it yielded meanwhile
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ran).count();
  const std::string named = name.empty() ? std::string() : std::string(" '") + name + "'";
  const std::string where = file == nullptr || line == 0
                                ? std::string("an unknown location")
                                : std::string(file) + ":" + std::to_string(line);
  log_warn(
      "stall: task {}{} (spawned at {}) has run for {} ms on kyoto-worker-{} without yielding "
      "(stall threshold {} ms); every task waiting on that worker waits with it",
      id, named, where, ms, index, threshold_.count());
}

}  // namespace kyoto::detail
