// The multi_thread scheduler: work-stealing workers, tokio's design
// (runtime/scheduler/multi_thread/worker.rs).
//
// # Queues
//
// Each worker has a local run queue (local_queue.hpp: a ring its owner
// pushes and pops, other workers steal half of) and a LIFO slot: a task
// spawned or woken by the task the worker is running goes there and runs
// next (the message-passing fast path, and a chain of spawns stays on one
// worker), at most `max_lifo_runs` times in a row; the task it displaces
// goes to the local queue, and then a parked worker may be woken to help.
// A task woken from the driver (a timer) or re-queued (a yield) goes to the
// back of the local queue. Spawns and wakes from threads that are not this
// runtime's workers go to the injection queue (`inject_`, inject.hpp), as
// does local-queue overflow (half the ring at once).
//
// A worker takes its next task from the LIFO slot, then its local queue,
// then the injection queue — except every `global_queue_interval` ticks,
// when it looks at the injection queue first, so injected tasks cannot
// starve. With nothing to do it searches: steals half of a random victim's
// queue, then tries the injection queue.
//
// # Searching and parking (idle.hpp)
//
// At most half of the workers search at once. A worker that makes work for
// others (a push to its local queue, an injection) wakes a parked worker
// only if nobody is searching. A searcher that finds work and was the last
// searcher wakes another to keep searching; a searcher that parks as the
// last one re-checks every queue first. Before parking, a worker spins a
// little (`spin_before_park`): waking a parked vCPU costs ~2 µs each way on
// this hardware (bench/limits), a spin ~0.1 µs. Unless its threads are
// waiting for a CPU (another process keeps the cores busy): then the spin
// backs off (worker::park).
//
// # Concentrating on worker 0 when the CPUs are contended
//
// Each worker owns its ring: a task's I/O completes on the ring of the
// worker it ran on, and only that worker reaps it. Two tasks that feed
// each other from two workers (a stream's writer and reader) thus wake the
// other worker at every hand-off, which costs nothing much while each
// worker has a core, and a sleep, a wake-up and a wait for a CPU each
// while another process keeps a core busy: beside a busy loop, 2-worker
// tcp_stream ran at 1.9 GB/s against 7 GB/s on one worker (issue 14).
// So when a parking worker finds our threads waiting for a CPU (the sign
// worker::park() checks, from /proc/thread-self/schedstat), the scheduler
// concentrates for a while (`concentrate_until_`): 16 ms, doubled at each
// new sign up to 1 s, back to 16 ms once 4 periods passed without one
// (then the workers also check 4 times less often):
//   - the other workers take no task: whatever becomes runnable on them
//     (their completions, their timers) goes to the injection queue, and
//     they neither steal nor search;
//   - a notification (notify_parked()) wakes worker 0, if it is parked,
//     instead of any sleeper; worker 0, parking while concentrated, looks
//     at every queue once more (the push/park Dekker with its wake-up,
//     over the sleepers' mutex);
//   - so the tasks gather on worker 0 and their I/O on its ring, and the
//     others sleep.
// When the deadline passes, the next notification wakes a sleeper as
// usual and the work spreads again; a sign found again concentrates again,
// for twice as long. Never while worker 0 is stuck in one task: once the
// watchdog marks its poll as a tick long (`stale_tick`), concentrated()
// is false and the watchdog wakes a sleeper for the queued work, so
// nothing waits for worker 0 longer than a watchdog tick or two.
// KYOTO_CONCENTRATE (read by build()): `auto` (the default) as above, `on`
// concentrated for the runtime's whole life, `off` never (the tests that
// need their tasks spread over the workers).
//
// A worker parks in its own io_uring ring (its driver), with its next timer
// deadline as the timeout; it is woken through its driver's eventfd. Every
// `event_interval` ticks a busy worker polls its driver anyway (timers, I/O).
//
// # Live tasks
//
// A task that has gone idle at least once is on one of `shards_` (a list
// per worker), each under its own mutex: what shutdown cancels. A task
// remembers its shard. A task that never went idle is always in a queue or
// running: shutdown finds it in the queues. So a task that runs to
// completion without suspending never takes a lock.
//
// # Shutdown
//
// shutdown() closes the injection queue (later foreign spawns are
// cancelled on the spot, later foreign wakes dropped), tells the workers,
// and joins them. Each worker leaves its loop after its current task and
// stops being a worker (current_worker() is null), so from then on its
// spawns and wakes also go to the closed injection queue: spawns are
// cancelled, wakes dropped. The last one to leave cancels the tasks left in
// the queues that never went idle, then every task on the shards, so
// destructors run on a runtime thread.
#pragma once

#include "blocking/pool.hpp"
#include "driver.hpp"
#include "metrics/stats.hpp"
#include "scheduler/inject.hpp"
#include "scheduler/multi_thread/idle.hpp"
#include "scheduler/multi_thread/local_queue.hpp"
#include "scheduler/multi_thread/watchdog.hpp"
#include "scheduler/task_list.hpp"

#include <kyoto/runtime/concentration.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

// The queue's capacity sets the layout of the scheduler and its workers: a
// source that sees it must be compiled again for the 4-slot stress library,
// which takes every other object from libkyoto (tests/meson.build). Such a
// source defines KYOTO_DETAIL_QUEUE_SOURCE first and is listed in
// runtime_queue_sources (runtime/meson.build).
#ifndef KYOTO_DETAIL_QUEUE_SOURCE
#error \
    "scheduler/multi_thread/scheduler.hpp: include it only from a source in runtime_queue_sources (runtime/meson.build) that defines KYOTO_DETAIL_QUEUE_SOURCE"
#endif
#ifndef KYOTO_LOCAL_QUEUE_CAPACITY
#define KYOTO_LOCAL_QUEUE_CAPACITY 256
#endif

namespace kyoto::detail {

/// What a multi_thread runtime is built with (runtime::builder).
struct multi_thread_config {
  std::size_t workers = 1;
  std::uint32_t event_interval = 61;
  std::uint32_t global_queue_interval = 31;
  /// Consecutive runs from the LIFO slot before it yields to the queue.
  std::uint32_t max_lifo_runs = 64;
  /// Rounds of looking for work before parking (see the file comment).
  std::uint32_t spin_before_park = 64;
  std::function<void()> on_thread_start;
  std::function<void()> on_thread_stop;
  /// builder::rng_seed: worker i's steal-victim generator is seeded with
  /// derive_seed(seed, 2i + 1) and its thread's generator (select's
  /// choices) with derive_seed(seed, 2i).
  std::optional<std::uint64_t> rng_seed;
  /// builder's metrics histograms (metrics/stats.hpp).
  metrics_options metrics;
  /// builder::stall_threshold: a poll longer than this is reported
  /// (watchdog.hpp); zero for no reports.
  std::chrono::milliseconds stall_threshold{100};
  kyoto::io_backend io_backend = kyoto::io_backend::automatic;  ///< builder::io_backend
  /// builder::concentration (automatic: KYOTO_CONCENTRATE decides).
  kyoto::concentration concentration = kyoto::concentration::automatic;
};

class multi_thread_scheduler final : public scheduler, private overflow_sink {
 public:
  using queue = local_queue<KYOTO_LOCAL_QUEUE_CAPACITY>;
  using queue_stealer = stealer<KYOTO_LOCAL_QUEUE_CAPACITY>;

  multi_thread_scheduler(const multi_thread_config& config, const blocking_config& blocking);
  ~multi_thread_scheduler() override;
  scheduler& blocking_pool() noexcept override { return *blocking_; }

  void spawn(task_header* task) noexcept override;
  void schedule(task_header* task) noexcept override;
  void track(task_header* task) noexcept override;
  void release(task_header* task) noexcept override;
  void begin_block_on() override;
  void block_on(task_header* root) override;
  void end_block_on() noexcept override;
  void shutdown() noexcept override;
  runtime_metrics metrics() const override;
  void visit_live_tasks(live_task_visitor visit, void* ctx) override;

  struct worker;

 private:
  /// Where the workers report their rings' creation before build()
  /// returns (see the constructor). Shared by the constructor and the
  /// worker threads; every field is guarded by `lock`.
  struct start_gate {
    enum state : std::uint8_t { pending, go, stop };
    std::mutex lock;
    std::condition_variable changed;
    std::size_t reported = 0;        ///< workers done creating their ring
    std::exception_ptr first_error;  ///< the first worker's failure
    state verdict = pending;         ///< set once by decide()
    /// A worker's thread: creates its ring, reports, waits for the
    /// verdict; true to start its loop.
    bool bind(driver& drv) noexcept;
    /// The constructor: waits for `workers` reports; the first failure.
    std::exception_ptr wait_for(std::size_t workers);
    /// The constructor: lets the workers start or stop.
    void decide(bool start) noexcept;
  };
  /// After a failed start: closes the injection queue, joins the threads.
  void join_after_failed_start() noexcept;

  friend struct worker;
  friend class watchdog;

  /// One list of live tasks, under its own lock.
  struct shard {
    mutex lock;
    owned_tasks tasks;  ///< guarded by lock
  };

  void push_batch(task_queue batch) noexcept override;  // overflow_sink
  bool push_remote(task_header* t) noexcept;            // false once closed
  void notify_parked() noexcept;
  void notify_if_work_pending() noexcept;
  /// Whether a run queue or the injection queue holds a task.
  bool work_pending() const noexcept;
  /// Whether the tasks gather on worker 0 now (see the file comment):
  /// one relaxed load while spread.
  bool concentrated() const noexcept;
  /// A parking worker's contention check at `now_ns` (steady_clock): found
  /// the sign or not. Concentrates, or ends an episode.
  void on_contention_check(bool contended, std::int64_t now_ns) noexcept;
  /// Worker 0 only, parking (worker::park() has the reason): clears
  /// `until`, the deadline it read, once it has passed.
  void end_concentration_if_over(std::int64_t until) noexcept;
  /// Whether a concentration was extended lately (its period is above the
  /// minimum): the workers then check for the sign more often.
  bool recently_contended() const noexcept;
  /// Wakes worker 0 if it is parked (a notification while concentrated).
  void wake_home() noexcept;
  void transition_worker_from_searching() noexcept;
  void worker_left(worker& w) noexcept;  // the last one cancels every live task
  void cancel_all(worker& last) noexcept;

  const multi_thread_config config_;
  /// spawn_blocking's threads (shut down by the runtime, after us).
  std::shared_ptr<kyoto::detail::blocking_pool> blocking_;
  std::vector<std::unique_ptr<worker>> workers_;
  /// stealers_[i] steals from workers_[i]'s run queue: how other threads
  /// reach a queue (the worker alone holds its owner handle).
  std::vector<queue_stealer> stealers_;
  /// Spawns and wakes from other threads, and local-queue overflow;
  /// closed by shutdown() (which returns at once if it was closed).
  alignas(destructive_interference) inject inject_;
  alignas(destructive_interference) idle idle_;
  std::vector<std::unique_ptr<shard>> shards_;  ///< one per worker
  /// Set by shutdown(); read by workers at every tick.
  alignas(destructive_interference) atomic<bool> shutting_down_{false};
  /// Workers that left their loop.
  alignas(destructive_interference) atomic<std::size_t> workers_left_{0};
  /// Until when the tasks gather on worker 0 (steady_clock ns; 0: spread;
  /// see the file comment). Relaxed everywhere: a placement hint, read on
  /// hot paths; every decision it feeds is re-checked by the queues'
  /// protocol (a stale value costs one hand-off or one spread too many).
  alignas(destructive_interference) atomic<std::int64_t> concentrate_until_{0};
  /// The next concentration's length (ns), and the end of the last one
  /// set. Relaxed: hints, as above.
  atomic<std::int64_t> concentrate_for_{0};
  atomic<std::int64_t> concentrated_till_{0};
  /// KYOTO_CONCENTRATE=off: never concentrate. Set by the constructor.
  bool concentrate_never_ = false;
  /// Reports stalls, fires the timers of workers stuck in a task
  /// (watchdog.hpp); started once the workers are, stopped before them.
  std::unique_ptr<watchdog> watchdog_;
  /// Spawns and completions made off the workers (metrics; relaxed RMWs).
  atomic<std::uint64_t> remote_spawned_{0};
  atomic<std::uint64_t> remote_completed_{0};
  /// The schedule-latency sample slot (metrics/stats.hpp); null unless
  /// that histogram is enabled. Set before the workers start; read by
  /// every schedule(), so kept off the line remote spawns write.
  alignas(destructive_interference) std::unique_ptr<latency_sampler> latency_;
};

}  // namespace kyoto::detail
