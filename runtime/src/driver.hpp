// A runtime thread's driver: its io_uring reactor, its timer wheel, and the
// eventfd other threads write to wake it.
//
// Ticks are milliseconds since the driver was made. A deadline becomes the
// first tick at or after it (rounded up, so a timer never fires early);
// the wheel fires an entry once the current tick reaches it.
//
// Threads: the reactor belongs to the thread that bound the driver
// (bind()). The wheel is guarded by `wheel_lock_`: timers are added and
// fired by that thread, but a timer may be cancelled from another (its task
// moved to another worker), and fired by another (fire_due_timers(): the
// multi_thread watchdog, while that thread is stuck in a task). A timer fires (its waiter is woken)
// under the lock, and cancel takes it: the wake rule of task_header.hpp. wake() is for any thread.
//
// I/O requests (io_op.hpp) are started on the calling thread's driver,
// which becomes their owner. Another thread that must cancel one posts it
// on the owner's *cancel queue*: a lock-free stack (pushers CAS the head;
// the owner takes the whole stack with one exchange) that the owner turns
// into cancel SQEs at every poll() and park(). Once the driver is drained
// (shutdown) the head holds `closed_queue` and pushes are refused: nothing
// is in flight any more.
//
// # Assists: a busy owner's I/O
//
// A multi_thread worker stuck in one task (a loop that does not yield,
// block_in_place) does not poll its ring. With SINGLE_ISSUER |
// DEFER_TASKRUN the kernel posts its completions only when that thread
// enters the ring, and only that thread may submit a cancel — so a read on
// its ring, or a cancel of one from another worker, waited for the task's
// end (issue 14: a 20 ms read took 1 s). Dropping the flags costs ~3x on
// multi_thread bulk transfer (tcp_stream) and ~60% on echo without
// COOP_TASKRUN (docs/architecture.md), so the owner keeps them and is
// *assisted* instead:
//
// 1. assist() (any thread) sets `assist_requested_` and sends the owner's
//    thread the assist signal (SIGURG, whose default action is to ignore
//    it; Go preempts goroutines with it for the same reason). Its handler
//    (assist_here(), on the owner's thread, between two instructions of
//    whatever it runs) only makes system calls. Unless it interrupted the
//    owner inside its ring (reactor::owner_in_ring(): the owner may be
//    filling an SQE; then it only posts, and the asker asks again), it
//    submits the SQEs the owner queued before its long task, then cancels
//    each op on the cancel queue with IORING_REGISTER_SYNC_CANCEL (Linux
//    6.0; the handler runs on the ring's single issuer), then enters with
//    IORING_ENTER_GETEVENTS, which posts the deferred completions into the
//    CQ. It allocates nothing, takes no lock, and touches no structure of
//    the owner's but the SQ's tail and the cancel queue, that only if the
//    owner is not popping it itself (`in_cancels_`, a flag of the same
//    thread: signal fences suffice).
// 2. Another thread then reaps the CQ: reap_foreign() (reactor.hpp,
//    "Foreign reaping"), a try-lock that fails while the owner is in its
//    ring; the woken tasks are foreign wakes, run by idle workers.
//
// Who assists: the watchdog, at every tick that finds a worker in the same
// task as at the last one with requests in flight (it reaps, then
// signals: a completion waits at most about two ticks); and a thread
// waiting for a cancel it posted (io_op.cpp), which reaps while it waits
// and signals the owner once its wake-up has gone unanswered for
// `assist_delay`. Assists are enabled by the worker at start
// (enable_assist()) and disabled by its drain, under `assist_mutex_`, so
// no signal targets a thread that has left its loop. KYOTO_ASSIST_SIGNAL=off
// turns them off, for programs whose blocking calls inside tasks cannot
// take an EINTR (most restart under SA_RESTART; nanosleep, poll,
// epoll_wait and timed socket reads do not).
//
// On the readiness backend (reactor.hpp, readiness.hpp) the owner defers
// nothing to its own thread: another thread reaps its readiness events
// under the same reap lock, and a canceller cancels a parked request itself
// (cancel_foreign()), so assist() sends no signal.
//
// Paused time (time/detail/virtual_clock.hpp): the driver owns its
// runtime's virtual clock and reads time through now(). Until time is first
// paused, now() is steady_clock::now() behind one flag test; the timer
// wheel, add_timer() and the fast path of time::clock::now() are unchanged.
// Only a current_thread runtime's driver is ever paused.
#pragma once

#include "io/reactor.hpp"
#include "metrics/stats.hpp"
#include "time/wheel.hpp"

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/time/detail/timer_entry.hpp>
#include <kyoto/time/detail/virtual_clock.hpp>

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace kyoto::detail {

class driver {
 public:
  using clock = std::chrono::steady_clock;

  /// Creates the wake-up eventfd; the ring is created by bind(). The clock
  /// starts frozen if `start_paused` (builder::start_paused). Throws
  /// std::system_error.
  explicit driver(bool start_paused = false);
  ~driver();
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;

  /// Makes the calling thread the driver's thread, creating the ring on the
  /// first call. Throws std::logic_error if another thread already owns it.
  void bind(const char* operation);
  /// The backend bind() will make the reactor on (builder::io_backend;
  /// automatic by default). Before bind(), by the thread that made the
  /// driver.
  void prefer_backend(kyoto::io_backend b) noexcept { backend_ = b; }

  /// Registers `e` to wake e->waiter at `deadline`. Returns false (and
  /// registers nothing) if that tick has already been processed.
  bool add_timer(timer_entry* e, clock::time_point deadline) noexcept;
  /// Unregisters `e` if it has not fired. Returns false if it fired (its
  /// waiter was woken). Any thread.
  bool remove_timer(timer_entry* e) noexcept;

  /// Fires due timers and reaps I/O completions. Never blocks.
  void poll();
  /// Sets the calling thread's state_tick (detail/await_point.hpp) from
  /// this driver's clock, as every driver turn does; for a thread about to
  /// run tasks before its first turn (a current_thread block_on).
  void refresh_state_tick() noexcept { state_tick = state_tick_at(now()); }
  /// Fires the due timers, waking their tasks on the calling thread. Any
  /// thread: the multi_thread watchdog fires a busy worker's timers with it
  /// (scheduler/multi_thread/watchdog.hpp).
  void fire_due_timers() noexcept { fire_timers(); }
  /// Blocks until a completion, a wake(), or the next timer; then polls.
  void park();
  /// Blocks until a completion, a wake(), or `d` of real time (timers
  /// ignored); then polls. The deterministic scheduler's deadlock grace.
  void park_for(std::chrono::nanoseconds d);
  /// Wakes the thread blocked in park() (or makes its next park() return at
  /// once). Any thread.
  void wake() noexcept;

  /// Drains (see drain()) and closes the ring (shutdown). Timers must all
  /// be gone.
  void close() noexcept;

  // ---- paused time (the driver's thread) ----

  /// The runtime's virtual clock (time::pause(), resume(), advance()).
  virtual_clock& time() noexcept { return clock_; }
  const virtual_clock& time() const noexcept { return clock_; }
  /// Whether time is paused: the park path's one test for auto-advance.
  bool time_paused() const noexcept { return clock_.paused(); }
  /// Moves the paused clock forward by `d` and fires the timers now due.
  void advance_time(clock::duration d);
  /// Auto-advance: moves the paused clock to the next timer's tick and
  /// fires what is due then. False, doing nothing, if no timer is set.
  bool advance_to_next_timer();

  // ---- I/O requests (io_op.hpp) ----

  /// Whether I/O requests are in flight (a snapshot off the driver's
  /// thread).
  bool has_io() const noexcept { return reactor_ != nullptr && reactor_->in_flight() != 0; }
  /// Whether the calling thread drives this driver.
  bool on_driver_thread() const noexcept { return thread_ == std::this_thread::get_id(); }
  /// Starts `op` on this driver's ring (the driver's thread).
  void start_op(io_op* op, const op_args& args) { reactor_->start(op, args); }
  /// Cancels `op` and submits the request at once (the driver's thread).
  void cancel_here(io_op* op);
  /// Blocks until some completion arrives, then reaps (the driver's
  /// thread; a cancel waiting for its request).
  void wait_completion() { reactor_->wait(std::nullopt); }
  /// Queues `op` for the driver's thread to cancel and wakes it. Returns
  /// false if the driver is drained (the op has completed). Any thread.
  bool post_cancel(io_op* op) noexcept;
  /// Submits cancels posted by other threads and reaps completions, never
  /// blocking (the driver's thread, waiting on another driver's cancel).
  void service();
  /// How long a shutdown's drain waits, in all, for the requests in flight
  /// to end once cancelled. A request the kernel cannot cancel (a read on a
  /// hung device) may never end; the drain then gives up on it rather than
  /// hang the shutdown.
  static constexpr std::chrono::seconds drain_bound{1};
  /// Cancels every request in flight and waits for all of them, at most
  /// drain_bound, then closes the cancel queue (shutdown). What is still in
  /// flight then, or every request if called on another thread than the
  /// driver's (which cannot cancel them), is *abandoned*: said on stderr
  /// (through the logger, or directly if logging is off), left to the
  /// ring's teardown in close(), and the cancels waiting for those requests
  /// return without them (io_op::cancel()).
  void drain() noexcept;
  /// Whether close() gave up on requests in flight (see close()).
  bool abandoned() const noexcept { return abandoned_.load(std::memory_order_acquire); }
  /// The tasks that wait for a request drain() abandoned, sorted: the
  /// kernel may still write into their frames (an io-wq worker finishing a
  /// file read or a statx, a socket read racing the ring's teardown), so
  /// their scheduler's shutdown *keeps* them — never runs, cancels or frees
  /// them (keep_held()) — instead of cancelling them. Empty unless drain()
  /// abandoned requests. The shutting-down thread, after drain().
  const std::vector<task_header*>& held() const noexcept { return held_; }
  /// Whether `t` is in held().
  bool holds(const task_header* t) const noexcept;
  /// Adds the ring's request counts to a metrics snapshot. Any thread.
  void io_snapshot(worker_metrics& into) const noexcept {
    into.io_submitted = io_counters_.submitted.get();
    into.io_completed = io_counters_.completed.get();
  }
  /// See reactor::reap_seq().
  const atomic<std::uint64_t>& reap_seq() const noexcept { return reactor_->reap_seq(); }
  /// See reactor::owner_reaping().
  bool owner_reaping() const noexcept { return reactor_->owner_reaping(); }

  // ---- assists (see "Assists" above) ----

  /// How long a thread waiting for a cancel it posted lets the owner answer
  /// its wake-up before it signals it.
  static constexpr std::chrono::microseconds assist_delay{100};
  /// Makes the calling thread, which drives this driver, assistable:
  /// installs the process's assist signal handler (once), unblocks the
  /// signal on this thread. A multi_thread worker, after bind(). Throws
  /// std::system_error if the handler cannot be installed.
  void enable_assist();
  /// No more assists (drain(): before the cancel queue closes and the ring
  /// may go). Any thread; idempotent.
  void disable_assist() noexcept;
  /// Reaps, on the calling thread (not the driver's), what the kernel has
  /// posted to the ring, unless the owner is in its ring right now; the
  /// woken tasks are foreign wakes. Returns the CQEs consumed; 0 unless
  /// assists are enabled. Any thread.
  unsigned reap_foreign() noexcept;
  /// On the readiness backend, cancels `op` (one of this driver's
  /// requests) on the calling thread, which is not the driver's, unless the
  /// owner is in its reactor (reactor::cancel_foreign()): what the assist
  /// signal's IORING_REGISTER_SYNC_CANCEL does for a ring. False if it did
  /// not (io_uring, assists off, the lock taken). Any thread.
  bool cancel_foreign(io_op* op) noexcept {
    // Acquire: as reap_foreign()'s.
    return assist_on_.load(std::memory_order_acquire) && reactor_->cancel_foreign(op);
  }
  /// Signals the driver's thread to cancel what is posted and flush its
  /// completions (see "Assists"); nothing unless assists are enabled.
  /// Any thread.
  void assist() noexcept;
  /// The watchdog's rescue of a worker stuck in one task: reaps what is
  /// posted, then, if requests are still in flight, assist(). Any thread.
  void rescue_io() noexcept {
    (void)reap_foreign();
    if (has_io()) assist();
  }
  /// The assist signal handler's work (on the driver's thread, in the
  /// handler): async-signal-safe. False if no assist was requested (the
  /// signal is someone else's).
  bool assist_here() noexcept;

 private:
  /// The driver's now: the virtual clock once time was ever paused.
  clock::time_point now() const noexcept {
    if (clock_.shifted()) [[unlikely]]
      return clock_.now();
    return clock::now();
  }
  std::uint64_t tick_ceil(clock::time_point t) const noexcept;
  std::uint64_t tick_floor(clock::time_point t) const noexcept;
  void fire_timers() noexcept;
  void process_cancels();
  /// Pops the whole cancel queue (never the closed marker); null if empty.
  io_op* take_cancels() noexcept;

  /// The cancel queue's head once drained.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): a sentinel address, never dereferenced
  static inline io_op* const closed_queue = reinterpret_cast<io_op*>(alignof(std::max_align_t));

  const clock::time_point epoch_ = clock::now();
  /// Paused time's clock; reads as the steady clock until first paused.
  virtual_clock clock_;
  int wake_fd_ = -1;
  std::thread::id thread_;
  std::unique_ptr<reactor> reactor_;
  kyoto::io_backend backend_ = kyoto::io_backend::automatic;  ///< see prefer_backend()
  mutex wheel_lock_;
  timer_wheel wheel_;  ///< guarded by wheel_lock_
  atomic<io_op*> cancel_head_{nullptr};
  atomic<bool> abandoned_{false};
  /// See held(); written by drain() before abandoned_ is set.
  std::vector<task_header*> held_;
  /// The reactor's request counts (metrics), bumped on the driver's thread.
  io_counters io_counters_;

  /// Assists (see "Assists"). assist_on_ and native_ change under
  /// assist_mutex_; the handler reads assist_on_ on the driver's own thread.
  std::mutex assist_mutex_;
  atomic<bool> assist_on_{false};
  pthread_t native_{};
  atomic<bool> assist_requested_{false};
  /// Set by the driver's thread while it pops the cancel queue itself.
  atomic<bool> in_cancels_{false};
  /// Cleared by the handler if the kernel refuses IORING_REGISTER_SYNC_CANCEL.
  atomic<bool> sync_cancel_{true};
};

/// Keeps the tasks of `d.held()` forever, for a scheduler's shutdown
/// (driver::held()): calls `unlink(task)` for each (the scheduler takes it
/// off its list of live tasks, so that it is not cancelled), then freezes
/// it — an idle task is claimed as a dump claims it and never given back,
/// so a later wake only pushes onto its ready stack and an abort() only
/// marks it; a queued one is simply never run — and says on stderr how
/// many tasks, and so how much memory, are leaked. Under LeakSanitizer the
/// leak is declared (it is deliberate). Returns how many were kept.
template <class Unlink>
std::size_t keep_held(const driver& d, Unlink unlink) noexcept;

/// The loud part of keep_held() (driver.cpp).
void say_kept(std::size_t tasks) noexcept;
/// Freezes one held task (driver.cpp).
void freeze_held(task_header* t) noexcept;

template <class Unlink>
std::size_t keep_held(const driver& d, Unlink unlink) noexcept {
  for (task_header* t : d.held()) {
    unlink(t);
    freeze_held(t);
  }
  if (!d.held().empty()) say_kept(d.held().size());
  return d.held().size();
}

}  // namespace kyoto::detail

namespace kyoto::detail {

/// Points the calling thread's shifted_clock (virtual_clock.hpp) at a
/// driver's clock for a scope, if that clock was ever paused, and restores
/// it afterwards. Taken by the current_thread scheduler's block_on.
class clock_scope {
 public:
  explicit clock_scope(const driver& d) noexcept : saved_(shifted_clock) {
    if (d.time().shifted()) [[unlikely]]
      shifted_clock = &d.time();
  }
  ~clock_scope() { shifted_clock = saved_; }
  clock_scope(const clock_scope&) = delete;
  clock_scope& operator=(const clock_scope&) = delete;

 private:
  const virtual_clock* saved_;
};

}  // namespace kyoto::detail
