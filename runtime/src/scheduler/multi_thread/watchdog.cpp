// The watchdog's loop; the protocol is described in watchdog.hpp.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "scheduler/multi_thread/watchdog.hpp"

#include "scheduler/multi_thread/worker.hpp"
#include "scheduler/stall_report.hpp"

#include <pthread.h>

#include <atomic>
#include <optional>
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
    // Work queued behind it (or handed to worker 0 while the scheduler
    // concentrated, which stale_tick now stops) goes to a sleeper.
    sched_.notify_if_work_pending();
    if (threshold_.count() > 0 && last.reported != seq && now - last.since >= threshold_ &&
        !blocking) {
      last.reported = seq;
      report(i, seq, now - last.since);
    }
  }
  return busy;
}

void watchdog::report(std::size_t index, std::uint64_t seq, clock::duration ran) noexcept {
  if (!stall_reports_logged()) return;
  // The fields of the poll whose seq tick() read (stall_report.hpp).
  const std::optional<poll_identity> poll = read_poll(sched_.workers_[index]->watch, seq);
  if (!poll) return;  // it yielded meanwhile
  std::string thread = "kyoto-worker-";
  thread += std::to_string(index);
  log_stall(*poll, ran, threshold_, thread, "worker");
}

}  // namespace kyoto::detail
