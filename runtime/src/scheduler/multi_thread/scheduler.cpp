// The protocol (queues, searching, parking, shutdown) is described in
// scheduler.hpp.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "scheduler/multi_thread/scheduler.hpp"

#include "log.hpp"
#include "scheduler/multi_thread/worker.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kyoto::detail {

namespace {
/// KYOTO_CONCENTRATE's value for "concentrated for the runtime's life".
constexpr std::int64_t concentrate_forever = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t concentrate_min =
    std::chrono::nanoseconds(std::chrono::milliseconds(16)).count();
constexpr std::int64_t concentrate_max =
    std::chrono::nanoseconds(std::chrono::milliseconds(1024)).count();

std::int64_t steady_now_ns() noexcept {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

/// The builder's choice, or KYOTO_CONCENTRATE's where it left it to the
/// variable (unset or auto: when_contended). Throws std::invalid_argument
/// for another value of the variable.
kyoto::concentration resolve_concentration(kyoto::concentration chosen) {
  if (chosen != kyoto::concentration::automatic) return chosen;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv
  const char* env = std::getenv("KYOTO_CONCENTRATE");
  const std::string_view value = env != nullptr ? env : "";
  if (value.empty() || value == "auto") return kyoto::concentration::when_contended;
  if (value == "on") return kyoto::concentration::always;
  if (value == "off") return kyoto::concentration::never;
  throw std::invalid_argument(
      "kyoto::runtime::builder::build: KYOTO_CONCENTRATE: expected auto, on or off (whether "
      "the tasks gather on kyoto-worker-0 when the CPUs are contended, always or never), "
      "got \"" +
      std::string(value) + "\"");
}
}  // namespace

multi_thread_scheduler::multi_thread_scheduler(const multi_thread_config& config,
                                               const blocking_config& blocking)
    : config_(config),
      blocking_(std::make_shared<kyoto::detail::blocking_pool>(blocking)),
      idle_(config.workers) {
  if (config_.metrics.schedule_latency) latency_ = std::make_unique<latency_sampler>();
  if (config_.stall_threshold.count() < 0) {
    throw std::invalid_argument(
        "kyoto::runtime::builder::build: stall_threshold must not be negative (zero turns the "
        "stall reports off)");
  }
  for (std::size_t i = 0; i < config_.workers; ++i)
    shards_.push_back(std::make_unique<shard>());
  for (std::size_t i = 0; i < config_.workers; ++i) {
    workers_.push_back(std::make_unique<worker>(*this, i));
    workers_.back()->drv.prefer_backend(config_.io_backend);
    workers_.back()->stats.configure(config_.metrics);
    stealers_.push_back(workers_.back()->make_stealer());
  }
  switch (resolve_concentration(config_.concentration)) {
    case kyoto::concentration::always:
      concentrate_until_.store(concentrate_forever, std::memory_order_relaxed);
      break;
    case kyoto::concentration::never:
      concentrate_never_ = true;
      break;
    default:
      break;
  }
  watchdog_ = std::make_unique<watchdog>(*this, config_.stall_threshold);
  // Each worker creates its ring on its own thread (the ring's single
  // issuer) and reports back before build() returns: a refused ring is
  // build()'s std::system_error, never a worker's std::terminate. Only on a
  // go from here does a worker start its loop (and on_thread_start).
  auto gate = std::make_shared<start_gate>();
  try {
    for (auto& w : workers_) {
      worker* self = w.get();
      w->thread = std::thread([self, gate] {
        if (gate->bind(self->drv)) self->run();
      });
    }
  } catch (...) {
    gate->decide(false);  // a thread could not be created
    join_after_failed_start();
    throw;
  }
  if (std::exception_ptr error = gate->wait_for(workers_.size())) {
    gate->decide(false);
    join_after_failed_start();
    std::rethrow_exception(error);
  }
  gate->decide(true);
  // After the workers: it reads their records and drivers. A failure to
  // start it is build()'s error, as a worker's would be.
  try {
    watchdog_->start();
  } catch (...) {
    shutdown();
    throw;
  }
}

bool multi_thread_scheduler::start_gate::bind(driver& drv) noexcept {
  std::exception_ptr error;
  try {
    drv.bind("kyoto worker");
    drv.enable_assist();  // the watchdog and cancellers may assist it (driver.hpp)
  } catch (...) {
    error = std::current_exception();
  }
  std::unique_lock<std::mutex> guard(lock);
  if (error && !first_error) first_error = error;
  ++reported;
  changed.notify_all();
  changed.wait(guard, [this] { return verdict != pending; });
  return verdict == go;
}

std::exception_ptr multi_thread_scheduler::start_gate::wait_for(std::size_t workers) {
  std::unique_lock<std::mutex> guard(lock);
  changed.wait(guard, [&] { return reported == workers; });
  return first_error;
}

void multi_thread_scheduler::start_gate::decide(bool start) noexcept {
  const std::lock_guard<std::mutex> guard(lock);
  verdict = start ? go : stop;
  changed.notify_all();
}

void multi_thread_scheduler::join_after_failed_start() noexcept {
  // No task can exist yet: the workers stop at the gate, and their
  // drivers are closed by their destructors (nothing is in flight).
  inject_.close();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

multi_thread_scheduler::~multi_thread_scheduler() {
  shutdown();
}

void multi_thread_scheduler::spawn(task_header* task) noexcept {
  worker* w = current_worker();
  if (w == nullptr || &w->sched != this) {
    // Relaxed: a metric.
    remote_spawned_.fetch_add(1, std::memory_order_relaxed);
    // Not queued: the runtime is shut down. Cancelled on the spot.
    if (!push_remote(task)) task->shutdown();
    return;
  }
  // On a worker in its loop. A destructor run by cancel_all() is not: the
  // last worker cleared current_worker() before, so its spawns take the
  // remote path above and the closed injection queue cancels them.
  w->spawned.bump();
  w->schedule_local(task);
}

void multi_thread_scheduler::schedule(task_header* task) noexcept {
  if (latency_ != nullptr) [[unlikely]]
    latency_->on_schedule(task);  // metrics: a sampled wake (metrics/stats.hpp)
  worker* w = current_worker();
  if (w == nullptr || &w->sched != this) {
    push_remote(task);  // refused only once closed: shutdown cancels it
    return;
  }
  w->schedule_local(task);  // on a worker in its loop: see spawn()
}

bool multi_thread_scheduler::push_remote(task_header* t) noexcept {
  // Like the current_thread scheduler, the wake of a parked worker happens
  // under the injection lock: the task cannot be taken (and run, and let the
  // runtime be destroyed) before we are done with the scheduler.
  return inject_.push(t, [this] { notify_parked(); });
}

void multi_thread_scheduler::push_batch(task_queue batch) noexcept {
  inject_.push_batch(std::move(batch));
  notify_parked();
}

void multi_thread_scheduler::notify_parked() noexcept {
  if (concentrated()) [[unlikely]] {
    wake_home();
    return;
  }
  if (std::optional<std::size_t> w = idle_.worker_to_notify()) workers_[*w]->drv.wake();
}

bool multi_thread_scheduler::concentrated() const noexcept {
  // Relaxed: see concentrate_until_.
  const std::int64_t until = concentrate_until_.load(std::memory_order_relaxed);
  if (until == 0) [[likely]]
    return false;
  // Relaxed: a hint (poll_record::stale_tick), set by the watchdog while
  // worker 0 is stuck in one task: its queue is no place for more.
  if (workers_[0]->watch.stale_tick.load(std::memory_order_relaxed)) return false;
  return until == concentrate_forever || steady_now_ns() < until;
}

void multi_thread_scheduler::end_concentration_if_over(std::int64_t until) noexcept {
  if (until == concentrate_forever || steady_now_ns() < until) return;
  // Over: later checks cost one load. Relaxed: see concentrate_until_; a
  // newer deadline stored meanwhile stays (the exchange fails).
  concentrate_until_.compare_exchange_strong(until, 0, std::memory_order_relaxed);
}

bool multi_thread_scheduler::recently_contended() const noexcept {
  // Relaxed: see concentrate_until_.
  return concentrate_for_.load(std::memory_order_relaxed) > concentrate_min;
}

void multi_thread_scheduler::on_contention_check(bool contended, std::int64_t now_ns) noexcept {
  if (workers_.size() < 2 || concentrate_never_) return;
  // Relaxed (all): see concentrate_until_. Two workers checking at once
  // may lose one's doubling: one period shorter.
  std::int64_t period = std::max(concentrate_for_.load(std::memory_order_relaxed), concentrate_min);
  const std::int64_t till = concentrated_till_.load(std::memory_order_relaxed);
  // No concentration for 4 periods: what comes is a new episode. (A check
  // that finds no sign soon after one says little: the other workers slept
  // through most of its window.)
  const bool over = till == 0 || now_ns - till > 4 * period;
  if (!contended) {
    if (over && period > concentrate_min)
      concentrate_for_.store(concentrate_min, std::memory_order_relaxed);
    return;
  }
  if (over) period = concentrate_min;
  concentrate_for_.store(std::min(period * 2, concentrate_max), std::memory_order_relaxed);
  concentrated_till_.store(now_ns + period, std::memory_order_relaxed);
  if (concentrate_until_.load(std::memory_order_relaxed) == concentrate_forever) return;
  concentrate_until_.store(now_ns + period, std::memory_order_relaxed);
  log_debug("kyoto: the CPUs are contended: tasks gather on kyoto-worker-0 for {} ms",
            period / 1'000'000);
}

void multi_thread_scheduler::wake_home() noexcept {
  worker* home = workers_[0].get();
  if (current_worker() == home) return;  // running: it finds its queues
  if (idle_.notify_worker(0)) home->drv.wake();
}

bool multi_thread_scheduler::work_pending() const noexcept {
  for (const queue_stealer& s : stealers_) {
    if (!s.empty()) return true;
  }
  return !inject_.empty();
}

void multi_thread_scheduler::notify_if_work_pending() noexcept {
  if (work_pending()) notify_parked();
}

void multi_thread_scheduler::transition_worker_from_searching() noexcept {
  if (idle_.transition_worker_from_searching()) notify_parked();
}

void multi_thread_scheduler::track(task_header* task) noexcept {
  worker* w = current_worker();
  const std::size_t s = w != nullptr ? w->index : 0;
  lock_guard guard(shards_[s]->lock);
  task->owned_shard = static_cast<std::uint16_t>(s);
  shards_[s]->tasks.insert(task);
}

void multi_thread_scheduler::release(task_header* task) noexcept {
  worker* w = current_worker();
  if (w != nullptr && &w->sched == this) {
    w->completed.bump();
  } else {
    remote_completed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a metric
  }
  if (task->owned_linked) {
    shard& s = *shards_[task->owned_shard];
    lock_guard guard(s.lock);
    s.tasks.remove(task);
  }
  task->unref();
}

void multi_thread_scheduler::visit_live_tasks(live_task_visitor visit, void* ctx) {
  // One shard at a time, in batches (task_list.hpp). Closed inject_ =
  // shutdown has begun (cancel_all() may be cancelling a task it took off
  // a shard).
  for (auto& s : shards_) {
    walk_for_dump(
        s->lock, s->tasks, [this] { return !inject_.is_closed(); },
        [&](task_header& t, bool claimable) { visit(ctx, t, claimable); });
  }
}

void multi_thread_scheduler::begin_block_on() {
  check_may_block("kyoto::runtime::block_on");
  if (inject_.is_closed()) {
    throw std::logic_error("kyoto::runtime::block_on: the runtime is shut down");
  }
}

void multi_thread_scheduler::block_on(task_header* root) {
  root->wait_blocking();
}

void multi_thread_scheduler::end_block_on() noexcept {}

void multi_thread_scheduler::worker_left(worker& w) noexcept {
  // Acq_rel: the last one to leave sees every other worker's work.
  if (workers_left_.fetch_add(1, std::memory_order_acq_rel) + 1 == workers_.size()) {
    cancel_all(w);
  }
}

void multi_thread_scheduler::cancel_all(worker& last) noexcept {
  // We are no longer a worker (current_worker() is null): spawns and wakes
  // that the cancellations below cause go to the closed injection queue,
  // which cancels the spawns on the spot and drops the wakes (their tasks
  // are cancelled here). Every worker has left its loop, so their queues are ours now. A queued
  // task that never went idle is on no shard: cancel it here; the others
  // are cancelled through their shard below.
  context_guard guard(context{this, &last.drv, nullptr});
  // The tasks of requests a worker's drain abandoned (the kernel could not
  // cancel them within the bound) are kept, never cancelled: the kernel may
  // still write into their frames (driver::held()). Off their shards first.
  // Each worker's drain wrote its held() list before that worker's
  // worker_left() increment, which our acq_rel increment read (directly or
  // through the release sequence): we see every list.
  for (auto& w : workers_) {
    keep_held(w->drv, [this](task_header* t) {
      if (!t->owned_linked) return;
      shard& s = *shards_[t->owned_shard];
      lock_guard g(s.lock);
      s.tasks.remove(t);
    });
  }
  auto held = [&](const task_header* t) {
    for (auto& w : workers_) {
      if (w->drv.holds(t)) return true;
    }
    return false;
  };
  std::size_t cancelled = 0;
  auto cancel_untracked = [&](task_header* t) {
    if (!t->owned_linked && !held(t)) {
      t->shutdown();
      ++cancelled;
    }
  };
  for (auto& w : workers_)
    w->drain_after_exit(cancel_untracked);
  while (task_header* t = inject_.pop())
    cancel_untracked(t);
  for (auto& s : shards_) {
    for (;;) {
      task_header* t;
      {
        lock_guard g(s->lock);
        t = s->tasks.front();
      }
      if (t == nullptr) break;
      t->shutdown();  // cancels; release() unlinks it
      ++cancelled;
    }
  }
  if (cancelled != 0) log_debug("runtime shut down; cancelled {} live tasks", cancelled);
}

void multi_thread_scheduler::shutdown() noexcept {
  if (!inject_.close()) return;  // idempotent
  if (current_context.sched == this) {
    log_error("a runtime was destroyed from one of its own tasks; aborting");
    std::terminate();
  }
  // First: it fires the workers' timers and reads their records.
  if (watchdog_) watchdog_->stop();
  // Relaxed: the workers also get a wake-up, and join() orders the rest.
  shutting_down_.store(true, std::memory_order_relaxed);
  for (auto& w : workers_)
    w->drv.wake();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : workers_)
    w->drv.close();
}

runtime_metrics multi_thread_scheduler::metrics() const {
  runtime_metrics m;
  m.workers = workers_.size();
  std::uint64_t spawned = remote_spawned_.load(std::memory_order_relaxed);
  std::uint64_t completed = remote_completed_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const worker& w = *workers_[i];
    spawned += w.spawned.get();
    completed += w.completed.get();
    m.worker.push_back(
        worker_metrics{w.polls.get(), w.steals.get(), w.parks.get(), stealers_[i].len()});
    w.stats.snapshot(m.worker.back());
    w.drv.io_snapshot(m.worker.back());
  }
  m.spawned_tasks = spawned;
  m.alive_tasks = spawned > completed ? static_cast<std::size_t>(spawned - completed) : 0;
  m.global_queue_depth = inject_.size();
  m.blocking_threads = blocking_->threads();
  return m;
}

}  // namespace kyoto::detail
