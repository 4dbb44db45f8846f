// The deterministic scheduler (runtime::builder::deterministic(seed)): every
// task of the runtime runs on the thread that calls block_on, in an order
// chosen by one seeded generator, with the clock paused and auto-advancing,
// so that a program whose only events are its own tasks, timers and
// in-process synchronisation runs the same way, byte for byte, for a given
// seed; and different seeds explore different interleavings. The testing
// counterpart of FoundationDB's and TigerBeetle's simulators, for the
// scheduling part (docs/testing.md, "Deterministic mode").
//
// # Why a scheduler of its own
//
// The multi_thread runtime's interleavings come from the OS; the
// current_thread one's FIFO queue explores one interleaving only. This one
// keeps current_thread's shape (one driving thread, one driver, one clock)
// and replaces its FIFO with a *random pick*: any runnable task may run
// next, which includes every order a multi_thread runtime could produce for
// the tasks' runs (each run is atomic here, as a task's run is on a worker:
// no two runs of one task overlap, and a run's effects are all visible to
// the next).
//
// # The generator
//
// One fast_rand: the driving thread's own (thread_rand()), replaced for
// each block_on by one seeded with derive_seed(seed, n) for the n-th
// block_on (thread_rand_scope, as current_thread's rng_seed does). Select's
// start branch draws from it too, so every random choice of the run comes
// from one sequence, in the order the run makes them.
//
// # Queues (driving thread only, except `inject_`)
//
// - `runnable_`: the runnable tasks, unordered. next_task() takes one (by
//   the strategy below) and fills its place with the last.
// - `lifo_`: tokio's LIFO slot, perturbed. A task woken or spawned by the
//   running task goes there with probability 1/2 (a coin flip per wake),
//   displacing the previous occupant into `runnable_`; otherwise it goes to
//   `runnable_`. next_task() takes the slot's task with probability 3/4 (a
//   worker runs its LIFO slot first, but not always: the slot is skipped
//   after 3 LIFO polls in a tick, and a thief can take the task).
// - `priority_` (the *priority* strategy only, see below): each task's
//   priority, drawn the first time it is a candidate of a pick, erased at
//   release().
// - `inject_`: spawns and wakes from other threads (scheduler/inject.hpp),
//   moved into `runnable_` in queue order at every tick. Those are the
//   nondeterministic inputs: their timing is the other thread's.
// - `owned_`: every task that went idle once (what shutdown cancels).
//
// # Two strategies, chosen by the seed at each block_on
//
// - *uniform*: next_task() picks a uniformly random runnable task, the LIFO
//   slot perturbed as above. Explores "anything may run next".
// - *priority* (PCT, Burckhardt et al., ASPLOS 2010): every task has a
//   random priority; next_task() picks the runnable task with the highest
//   one, and 1 tick in `change_one_in` re-draws the picked task's priority
//   (a change point). A task keeps its priority across wakes, so one task
//   can run far ahead of another: the long, lopsided schedules uniform
//   picks almost never make. A task that yields (or is woken while it
//   runs) goes below every other task, behind the ones that yielded
//   before it: a yield-polling loop must not starve the task it waits for.
//   Fresh priorities are drawn from the upper half of the range, demoted
//   ones count down from its middle. No LIFO slot under this strategy.
//   With more than `priority_max_tasks` runnable tasks the pick is uniform
//   (the scan is linear).
//
// # The loop (block_on)
//
//   until the root task completes:
//     drain inject_ into runnable_
//     with probability 1/16: poll the driver (I/O completions, timers due)
//     t = next_task()            by the block_on's strategy, see above
//     if t: run it; re-queue it (into runnable_) if it yielded or was
//           woken while running
//     else: idle()
//
//   idle(): poll the driver without blocking; if that made a task runnable,
//   run it. Otherwise auto-advance: move the paused clock to the next
//   timer and fire it. No timer: if I/O is in flight, park until a
//   completion (the kernel's timing decides when). Nothing at all (no task,
//   timer or I/O): only another thread could wake a task; wait up to
//   `deadlock_grace` of real time for one, then throw std::logic_error from
//   block_on ("deadlock"), naming the seed. A lost wake-up in a sync
//   primitive shows up here, with the seed that replays it.
//
// # Parking: the Dekker of current_thread/scheduler.hpp, unchanged.
//
// # spawn_blocking
//
// blocking_pool() is this scheduler itself (the default): a blocking task
// is an ordinary task whose one run calls the function, inline on the
// driving thread, when the random pick chooses it. So its start is
// reproducible and its end is ordered before everything that runs after
// it. The function blocks the whole runtime while it runs (no other task
// can run meanwhile); a blocking_* call inside it throws std::logic_error
// (it is on a runtime thread, and would wait for tasks that cannot run).
// A queued blocking task that has not started when the runtime is dropped
// is cancelled (tokio's pool would still run it).
//
// # Shutdown: as current_thread's (its file comment).
#pragma once

#include "driver.hpp"
#include "scheduler/inject.hpp"
#include "scheduler/task_list.hpp"

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/counter.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace kyoto::detail {

/// A deterministic runtime's settings.
struct deterministic_config {
  std::uint64_t seed = 0;  ///< builder::deterministic(seed)
  /// How long idle() waits for another thread's wake when nothing else can
  /// make progress, before block_on reports a deadlock.
  std::chrono::nanoseconds deadlock_grace = std::chrono::seconds(5);
};

class deterministic_scheduler final : public scheduler {
 public:
  /// 1 in this many ticks polls the driver while tasks are runnable.
  static constexpr std::uint32_t poll_one_in = 16;
  /// Priority strategy: 1 pick in this many re-draws the picked task's
  /// priority.
  static constexpr std::uint32_t change_one_in = 32;
  /// Priority strategy: above this many runnable tasks, the pick is uniform.
  static constexpr std::size_t priority_max_tasks = 256;

  explicit deterministic_scheduler(const deterministic_config& config);
  ~deterministic_scheduler() override;

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
  bool runs_tasks_on_one_thread() const noexcept override { return true; }

  /// The seed this runtime was built with (error messages, tests).
  std::uint64_t seed() const noexcept { return config_.seed; }

 private:
  bool on_driver_thread() const noexcept { return current_context.sched == this; }
  bool push_remote(task_header* task) noexcept;    // inject + unpark; false if closed
  void enqueue_local(task_header* task) noexcept;  // a wake or spawn on the driving thread
  void drain_inject() noexcept;
  task_header* next_task() noexcept;
  task_header* take_highest_priority() noexcept;  // the priority strategy's pick
  void idle();  // nothing runnable: poll, auto-advance, park, or report a deadlock
  bool has_runnable() const noexcept { return lifo_ != nullptr || !runnable_.empty(); }

  const deterministic_config config_;

  // ---- driving thread only ----
  driver driver_;
  std::vector<task_header*> runnable_;
  /// How next_task() picks; drawn from the seed at each block_on.
  enum class strategy : unsigned char { uniform, priority } strategy_ = strategy::uniform;
  /// The priority strategy's priorities (empty under the uniform one).
  std::unordered_map<const task_header*, std::uint32_t> priority_;
  /// The last priority given to a re-queued task: each one goes below all
  /// others (fresh priorities are in the upper half).
  std::uint32_t demoted_ = 0x8000'0000u;
  task_header* lifo_ = nullptr;
  owned_tasks owned_;
  /// Taken by owned_'s writers (track, release) and by task dumps, which
  /// read it from any thread (visit_live_tasks); the driving thread reads
  /// it without the lock.
  mutex owned_lock_;
  std::uint64_t block_ons_ = 0;
  bool closing_ = false;  ///< shutdown() has started

  // ---- metrics: written by the driving thread (counter.hpp) ----
  counter polls_, parks_, spawned_, completed_;
  /// runnable_.size() as of the last tick, for readers on other threads.
  atomic<std::size_t> local_depth_{0};
  /// Spawns and completions made off the driving thread (relaxed RMWs).
  atomic<std::uint64_t> remote_spawned_{0};
  atomic<std::uint64_t> remote_completed_{0};

  // ---- shared ----
  /// Spawns and wakes from other threads; closed by shutdown().
  inject inject_;
  /// The driver is parked or about to park (current_thread's Dekker).
  atomic<bool> parked_{false};
  /// A thread is in block_on (one at a time, as current_thread).
  atomic<bool> driving_{false};
};

}  // namespace kyoto::detail
