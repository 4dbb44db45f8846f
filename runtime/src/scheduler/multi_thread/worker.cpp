// A worker's loop; the protocol is described in scheduler.hpp.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "scheduler/multi_thread/worker.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>

namespace kyoto::detail {

namespace {
thread_local constinit multi_thread_scheduler::worker* this_worker = nullptr;
}  // namespace

multi_thread_scheduler::worker* current_worker() noexcept {
  return this_worker;
}

multi_thread_scheduler::worker* exchange_current_worker(
    multi_thread_scheduler::worker* w) noexcept {
  return std::exchange(this_worker, w);
}

void multi_thread_scheduler::worker::run() noexcept {
  const std::string name = "kyoto-worker-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  // The ring was created by the start gate (scheduler.cpp), on this thread.
  this_worker = this;
  context_guard guard(context{&sched, &drv, nullptr});
  if (const std::optional<std::uint64_t> seed = sched.config_.rng_seed) {
    rng = fast_rand(derive_seed(*seed, 2 * index + 1));
    thread_rand() = fast_rand(derive_seed(*seed, 2 * index));
  }
  if (sched.config_.on_thread_start) sched.config_.on_thread_start();
  stats.start_busy();
  log_debug("{} started", name);
  // Relaxed: a plain flag checked every tick; shutdown() also wakes us, and
  // the join in shutdown() orders everything after.
  while (!sched.shutting_down_.load(std::memory_order_relaxed)) {
    // Relaxed: see concentrate_until_ (scheduler.hpp); one load while
    // spread.
    if (index != 0 && sched.concentrate_until_.load(std::memory_order_relaxed) != 0 &&
        sched.concentrated()) [[unlikely]] {
      hand_over();  // to worker 0, through the injection queue
      park();
      continue;
    }
    if (--ticks_to_event_poll == 0) {
      ticks_to_event_poll = sched.config_.event_interval;
      poll_driver();
    }
    if (task_header* t = next_task()) {
      run_task(t);
      continue;
    }
    if (task_header* t = steal_work()) {
      run_task(t);
      continue;
    }
    park();
  }
  if (searching) {
    searching = false;
    sched.idle_.transition_worker_from_searching();
  }
  log_debug("{} stopping", name);
  // Our ring's requests end here, on the only thread that may cancel them:
  // their tasks are woken (into our queue, which cancel_all() empties) and
  // a cancel from another thread never waits for a thread that is gone.
  drv.drain();
  stats.stop_busy();
  this_worker = nullptr;
  sched.worker_left(*this);
  if (sched.config_.on_thread_stop) sched.config_.on_thread_stop();
}

task_header* multi_thread_scheduler::worker::next_task() noexcept {
  if (--ticks_to_global_check == 0) {
    ticks_to_global_check = sched.config_.global_queue_interval;
    if (task_header* t = sched.inject_.pop()) return t;
  }
  if (lifo_slot != nullptr) return std::exchange(lifo_slot, nullptr);
  if (task_header* t = run_queue.pop()) return t;
  return sched.inject_.pop();
}

task_header* multi_thread_scheduler::worker::steal_work() noexcept {
  if (!transition_to_searching()) return nullptr;
  const std::size_t n = sched.workers_.size();
  const std::size_t start = rng.next_below(static_cast<std::uint32_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t victim = (start + i) % n;
    if (victim == index) continue;
    const std::uint32_t before = run_queue.len();
    if (task_header* t = sched.stealers_[victim].steal_into(run_queue)) {
      steals.bump(run_queue.len() - before + 1);
      return t;
    }
  }
  return sched.inject_.pop();
}

bool multi_thread_scheduler::worker::transition_to_searching() noexcept {
  if (!searching) searching = sched.idle_.transition_worker_to_searching();
  return searching;
}

void multi_thread_scheduler::worker::transition_from_searching() noexcept {
  if (!searching) return;
  searching = false;
  sched.transition_worker_from_searching();
}

void multi_thread_scheduler::worker::schedule_local(task_header* task) noexcept {
  if (current_context.task != nullptr) {
    // Spawned or woken by the task this worker runs: it runs next (LIFO
    // slot); the one it displaces goes to the queue, for others to steal.
    task_header* prev = std::exchange(lifo_slot, task);
    if (prev == nullptr) return;
    run_queue.push_back(prev, sched);
  } else {
    run_queue.push_back(task, sched);
    // Woken by the driver's completions or timers: the worker notifies
    // once for the whole batch (notify_if_surplus()), not per task (each
    // notification may cost a wake-up syscall).
    if (in_driver) return;
  }
  sched.notify_parked();
}

void multi_thread_scheduler::worker::run_one(task_header* t) noexcept {
  // A task that must run again (it yielded, or was woken while running)
  // goes to the back of our queue.
  polls.bump();
  watch.begin(*t);
  bool again;
  if (stats.timed()) [[unlikely]] {
    again = stats.run_timed(t, sched.latency_.get(), [t] { return t->run(); });
  } else {
    again = t->run();
  }
  watch.end();
  // Relaxed: a hint (poll_record::stale_tick). After a long poll, a fresh
  // tick for the states stamped next (task dumps' time in state).
  if (watch.stale_tick.load(std::memory_order_relaxed)) [[unlikely]] {
    watch.stale_tick.store(false, std::memory_order_relaxed);
    drv.refresh_state_tick();
  }
  if (again) run_queue.push_back(t, sched);
}

void multi_thread_scheduler::worker::enter_blocking() noexcept {
  // Everything queued here would wait for the blocking call: another
  // worker takes it (tokio hands the whole core over; our ring stays ours,
  // its timers are fired by the watchdog meanwhile).
  hand_over();
  watch.blocking.store(true, std::memory_order_relaxed);
}

void multi_thread_scheduler::worker::hand_over() noexcept {
  task_queue handed;
  if (task_header* t = std::exchange(lifo_slot, nullptr)) handed.push_back(t);
  while (task_header* t = run_queue.pop())
    handed.push_back(t);
  // Wakes a worker for them: worker 0 while concentrated (notify_parked()).
  if (!handed.empty()) sched.push_batch(std::move(handed));
}

void multi_thread_scheduler::worker::exit_blocking() noexcept {
  // The rest of this poll is a new one to the watchdog (a stall is counted
  // from here): seq moves on by a whole poll, staying "a task runs".
  // Release: pairs with the watchdog's acquire load of seq (tick()).
  watch.seq.store(watch.seq.load(std::memory_order_relaxed) + 4, std::memory_order_release);
  // The blocking call may have lasted long: the states this poll stamps
  // from now on (wakes, a suspension) get a fresh tick. A clock read, once
  // per block_in_place.
  drv.refresh_state_tick();
  // Release: a watchdog that sees `false` here (acquire, loaded before seq)
  // also sees the seq above, so it never takes the blocking section's
  // length for a stall.
  watch.blocking.store(false, std::memory_order_release);
}

void multi_thread_scheduler::worker::run_task(task_header* t) noexcept {
  // We found work: if we were the last searcher, someone else searches now.
  transition_from_searching();
  run_one(t);
  // The task it woke runs next, a bounded number of times in a row.
  for (std::uint32_t runs = 0; lifo_slot != nullptr; ++runs) {
    task_header* next = std::exchange(lifo_slot, nullptr);
    if (runs == sched.config_.max_lifo_runs) {
      run_queue.push_back(next, sched);
      sched.notify_parked();
      return;
    }
    run_one(next);
  }
}

bool multi_thread_scheduler::worker::poll_driver() noexcept {
  in_driver = true;
  try {
    drv.poll();
  } catch (const std::exception& e) {
    log_error("kyoto-worker-{}: polling its io_uring ring failed: {}", index, e.what());
    std::terminate();
  }
  in_driver = false;
  if (!has_local_work()) return false;
  notify_if_surplus();
  return true;
}

void multi_thread_scheduler::worker::notify_if_surplus() noexcept {
  if (searching) return;  // a searcher finding work notifies for us
  if (run_queue.len() + (lifo_slot != nullptr ? 1 : 0) > 1) sched.notify_parked();
}

void multi_thread_scheduler::worker::park() noexcept {
  // Hand this tick's submissions to the kernel and take what completed:
  // I/O woken tasks run without parking (one io_uring_enter per tick).
  if (poll_driver()) return;
  // Spin first: work often arrives within microseconds, and a parked vCPU
  // costs ~2 µs each way to wake. With requests in flight, every few spins
  // also poll the ring (with DEFER_TASKRUN completions are only posted
  // when we enter the kernel).
  //
  // Unless the CPUs are contended: when our threads wait for a CPU, a spin
  // burns the time that the other side of our I/O (another worker) or
  // another process needs, and each of its polls is a syscall. The sign is
  // a worker's time runnable but waiting for a CPU (the 2nd field of
  // /proc/thread-self/schedstat; the waits that count are the other
  // workers', since a spinning thread holds its CPU), checked by each
  // worker every `check_every` parks (a pread, ~1 µs): above 1/4 of the
  // time since its last check, every worker of the process parks without
  // spinning for `backoff`, doubled at each new sign (up to `max_backoff`)
  // and halved by a check that finds none. Threads that other processes do
  // not delay (a SCHED_FIFO run, an idle machine) keep spinning. (Issue 14:
  // beside a busy loop, spinning 2-worker tcp_stream made ~20 io_uring_enter
  // calls per 64 KiB write and ran at half of Asio's speed.)
  using clock = std::chrono::steady_clock;
  constexpr std::uint32_t check_every = 64;
  /// Until when no worker spins (steady_clock ns; 0: spin).
  static constinit atomic<std::int64_t> no_spin_until{0};
  struct spin_policy {
    clock::duration min_backoff = std::chrono::milliseconds(2);
    clock::duration max_backoff = std::chrono::milliseconds(64);
    int schedstat = -2;           ///< opened at the first check; -1 if unreadable
    std::uint64_t waited_ns = 0;  ///< the wait time at the last check
    clock::time_point checked_at{};
    std::uint32_t parks = 0;
    clock::duration backoff = min_backoff;
    spin_policy() = default;
    spin_policy(const spin_policy&) = delete;
    spin_policy& operator=(const spin_policy&) = delete;
    ~spin_policy() {
      if (schedstat >= 0) ::close(schedstat);
    }
    /// Whether this thread waited for a CPU for more than 1/4 of the time
    /// since the last check; adjusts the backoff. `now` is the time.
    bool contended(clock::time_point now) noexcept {
      if (schedstat == -2) schedstat = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
      if (schedstat < 0) return false;
      char text[96];
      const ssize_t n = ::pread(schedstat, text, sizeof text - 1, 0);
      if (n <= 0) return false;
      text[n] = '\0';
      // "<ns on a CPU> <ns waiting on a runqueue> <timeslices>"
      const char* field = std::strchr(text, ' ');
      if (field == nullptr) return false;
      const std::uint64_t waited = std::strtoull(field + 1, nullptr, 10);
      const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - checked_at);
      const bool first = checked_at == clock::time_point{};
      const std::uint64_t delta = waited - waited_ns;
      waited_ns = waited;
      checked_at = now;
      if (first || delta * 4 <= static_cast<std::uint64_t>(elapsed.count())) {
        backoff = std::max(backoff / 2, min_backoff);
        return false;
      }
      const clock::duration d = backoff;
      backoff = std::min<clock::duration>(backoff * 2, max_backoff);
      // Relaxed: a hint; a stale value costs one spin or one early park.
      no_spin_until.store((now + d).time_since_epoch().count(), std::memory_order_relaxed);
      return true;
    }
  };
  thread_local constinit spin_policy policy{};
  // While the tasks gather on worker 0, the others wait for hand-offs and
  // worker 0 has its CPUs contended: nobody spins.
  bool spin = !sched.concentrated();
  // Relaxed: see contended().
  const std::int64_t until = no_spin_until.load(std::memory_order_relaxed);
  // After a recent concentration, the sign is looked for 4 times as often:
  // spread again, the workers find a lasting contention sooner.
  const bool check =
      ++policy.parks % (sched.recently_contended() ? check_every / 4 : check_every) == 0;
  if (check || until != 0) {
    const clock::time_point now = clock::now();
    bool contended = false;
    if (check) {
      contended = policy.contended(now);
      sched.on_contention_check(contended, now.time_since_epoch().count());
    }
    if (contended || (until != 0 && now.time_since_epoch().count() < until)) {
      spin = false;
    } else if (until != 0) {
      // Over: later parks skip the clock. Relaxed: see contended(); a
      // newer deadline stored meanwhile stays.
      std::int64_t expected = until;
      no_spin_until.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
    }
  }
  if (spin) {
    const std::uint32_t spins = sched.config_.spin_before_park * (drv.has_io() ? 4 : 1);
    for (std::uint32_t i = 0; i < spins; ++i) {
      if (has_local_work() || !sched.inject_.empty()) return;
      if (drv.has_io() && poll_driver()) return;
      for (std::size_t w = 0; w < sched.stealers_.size(); ++w) {
        if (w != index && !sched.stealers_[w].empty()) return;  // go steal it
      }
      if (sched.shutting_down_.load(std::memory_order_relaxed)) return;
      for (int k = 0; k < 16; ++k)
        spin_pause();
    }
  }
  if (has_local_work()) return;
  const bool last_searcher = sched.idle_.transition_worker_to_parked(index, searching);
  searching = false;
  if (index == 0) {
    // Relaxed: see concentrate_until_. Read after we joined the sleepers
    // (under their mutex): a worker that handed us work while it saw a
    // concentration pushed first, then looked for us among the sleepers
    // (wake_home()); if it looked too early, its push is visible here and
    // the value it saw is still set (only we clear it, below, through
    // end_concentration_if_over()). Its wake-up cannot be ours (wake_home()
    // skips the caller), so we take ourselves off the sleepers, as a
    // searcher.
    const std::int64_t gather = sched.concentrate_until_.load(std::memory_order_relaxed);
    if (gather != 0) {
      if (sched.work_pending() && sched.idle_.notify_worker(index)) {
        searching = true;
        return;
      }
      sched.end_concentration_if_over(gather);
    }
  }
  if (last_searcher) sched.notify_if_work_pending();
  parks.bump();
  log_debug("kyoto-worker-{} parks", index);
  const busy_pause not_busy(stats);  // metrics: parked time is not busy
  while (!sched.shutting_down_.load(std::memory_order_relaxed)) {
    in_driver = true;
    try {
      drv.park();  // returns on a wake(), a timer, or an I/O completion
    } catch (const std::exception& e) {
      log_error("kyoto-worker-{}: waiting on its io_uring ring failed: {}", index, e.what());
      std::terminate();
    }
    in_driver = false;
    if (has_local_work()) {
      // The driver woke tasks here (timers): run them. If nobody unparked
      // us meanwhile, we unpark ourselves, not searching.
      searching = !sched.idle_.unpark_worker_by_id(index);
      notify_if_surplus();
      return;
    }
    if (!sched.idle_.is_parked(index)) {
      // worker_to_notify() took us off the sleepers and counted us as a
      // searcher.
      searching = true;
      return;
    }
  }
  // Shutting down: leave the sleepers so the counts stay consistent.
  if (!sched.idle_.unpark_worker_by_id(index)) searching = true;
}

}  // namespace kyoto::detail
