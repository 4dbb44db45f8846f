// kyoto::runtime and kyoto::runtime::builder.
#pragma once

#include <kyoto/runtime/concentration.hpp>
#include <kyoto/runtime/dump.hpp>
#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/io_backend.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/metrics.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/task_id.hpp>
#include <kyoto/runtime/unhandled_panic.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_hooks.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace kyoto {

namespace detail {
[[noreturn]] KYOTO_EXPORT void throw_moved_from_runtime(const char* operation);
}  // namespace detail

/// The kyoto runtime: a scheduler that runs tasks, and the io_uring drivers
/// (timers, and I/O as it lands) its threads park in (tokio's Runtime).
///
/// Two flavours (runtime::builder):
/// - multi_thread (the default): work-stealing worker threads, one per core
///   unless worker_threads() says otherwise, each parking in its own
///   io_uring ring; block_on() blocks the calling thread until the task it
///   runs (on a worker) is done.
/// - current_thread: every task runs on the thread that calls block_on,
///   which parks in the runtime's ring when no task is ready.
/// - deterministic (tests): as current_thread, but the next task to run is
///   chosen by a seeded generator and time is paused (builder::deterministic).
/// Other threads may spawn onto either and wake their tasks (through a
/// handle, a channel, ...): they wake the ring.
///
/// Destroying the runtime cancels every task that has not finished (their
/// destructors run on a worker thread, or on the destroying thread for a
/// current_thread runtime), stops the workers and closes the rings. It must
/// not be destroyed from one of its own tasks.
/// Nor from one of its spawn_blocking functions: either aborts, saying so.
///
/// Thread safety: spawn() and handle() from any thread. block_on() from any
/// number of threads at once on a multi_thread runtime; from one thread at a
/// time on a current_thread runtime, and always the same thread (the one
/// that first calls it owns the ring).
class KYOTO_EXPORT runtime {
 public:
  class builder;

  /// A multi_thread runtime with one worker per core (tokio's default).
  runtime();
  /// Takes over `other`'s runtime; the moved-from object owns none (only
  /// assigning to it or destroying it is valid).
  runtime(runtime&&) noexcept = default;
  /// Shuts this runtime down (as the destructor does), then takes over
  /// `other`'s; `other` is left owning none.
  runtime& operator=(runtime&& other) noexcept;
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Shuts the runtime down; see the class comment. Waits for running
  /// blocking tasks (spawn_blocking) to finish.
  ~runtime();

  /// Shuts the runtime down as the destructor does, but waits at most
  /// `timeout` for running blocking tasks; those still running are left to
  /// finish on their own threads (tokio's shutdown_timeout). Returns
  /// whether every blocking task finished in time.
  bool shutdown_timeout(std::chrono::nanoseconds timeout) &&;

  /// Runs `a` (a task, a join_handle, any awaitable) as a task on this
  /// runtime and blocks the calling thread until it finishes, running the
  /// runtime's tasks meanwhile. Returns its value or rethrows its
  /// exception. Throws std::logic_error when called from a runtime thread
  /// (block_on inside a task would block the thread that runs tasks).
  template <class A>
    requires detail::awaitable<A>
  detail::await_result_t<A> block_on(A&& a) {
    return detail::block_on(scheduler("kyoto::runtime::block_on"), static_cast<A&&>(a));
  }

  /// Spawns a task onto this runtime from any thread; see kyoto::spawn.
  template <class T>
  join_handle<T> spawn(task<T> t) {
    return detail::spawn_on(scheduler("kyoto::runtime::spawn"), std::move(t));
  }

  /// Spawns `f(args...)` onto this runtime from any thread; see kyoto::spawn.
  template <class F, class... Args>
    requires detail::task_factory<F, Args...>
  auto spawn(F&& f, Args&&... args) {
    return detail::spawn_on(scheduler("kyoto::runtime::spawn"), std::forward<F>(f),
                            std::forward<Args>(args)...);
  }

  /// Runs `f(args...)` on this runtime's blocking pool, from any thread;
  /// see kyoto::spawn_blocking.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
  auto spawn_blocking(F&& f, Args&&... args) {
    return detail::spawn_blocking_on(scheduler("kyoto::runtime::spawn_blocking"),
                                     std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// A snapshot of the runtime's counters (workers, tasks, polls, steals,
  /// parks, queue depths). Any thread.
  runtime_metrics metrics() const { return scheduler("kyoto::runtime::metrics").metrics(); }

  /// Every live task with its state and, for a suspended one, its await
  /// chain (tokio's Handle::dump(); see <kyoto/runtime/dump.hpp> for how
  /// it is taken while the workers keep running). Any thread, also from
  /// inside one of the runtime's tasks (which lists itself as running).
  runtime_dump dump() const { return detail::dump_scheduler(scheduler("kyoto::runtime::dump")); }

  /// A handle to this runtime, usable from any thread.
  kyoto::handle handle() const {
    scheduler("kyoto::runtime::handle");
    return kyoto::handle(sched_);
  }

 private:
  explicit runtime(std::shared_ptr<detail::scheduler> s) noexcept : sched_(std::move(s)) {}

  /// The scheduler; throws std::logic_error naming `op` if moved from.
  detail::scheduler& scheduler(const char* op) const {
    if (!sched_) detail::throw_moved_from_runtime(op);
    return *sched_;
  }

  std::shared_ptr<detail::scheduler> sched_;
  /// builder::metrics_endpoint's server (runtime/src/metrics/endpoint.hpp),
  /// or null; destroyed (its thread joined) before sched_.
  std::shared_ptr<void> endpoint_;
};

/// Configures and builds a runtime (tokio::runtime::Builder).
///
///   runtime::builder::multi_thread().worker_threads(4).build()
///   runtime::builder::current_thread().enable_all().build()
///
/// Thread safety: a builder is a value; build() may be called many times.
class KYOTO_EXPORT runtime::builder {
 public:
  /// A runtime whose tasks all run on the thread that calls block_on.
  static builder current_thread() noexcept { return builder(flavor::current_thread); }

  /// A work-stealing runtime with `worker_threads` threads (default: the
  /// number of cores).
  static builder multi_thread() noexcept { return builder(flavor::multi_thread); }

  /// A runtime for tests whose tasks all run on the thread that calls
  /// block_on, in an order chosen by a generator seeded with `seed`, with
  /// time paused and auto-advancing (docs/testing.md, "Deterministic
  /// mode"). A program whose only events are its tasks, timers and
  /// in-process synchronisation runs the same way for the same seed, byte
  /// for byte; different seeds explore different interleavings (any
  /// runnable task may run next). Used like a multi_thread runtime: spawn,
  /// spawn_blocking (the function runs inline, on the driving thread, when
  /// the seed picks it), handles, select, time, I/O (completions arrive as
  /// the kernel delivers them: the one input the seed does not decide). As
  /// on a current_thread runtime, tasks run only inside block_on, which one
  /// thread at a time may call (always the same thread). worker_threads()
  /// and start_paused() are ignored. block_on throws std::logic_error
  /// naming the seed if the program deadlocks (no task runnable, no timer,
  /// no I/O, no wake from another thread within 5 s).
  static builder deterministic(std::uint64_t seed) noexcept {
    builder b(flavor::deterministic);
    b.rng_seed_ = seed;
    return b;
  }

  /// Sets the number of worker threads of a multi_thread runtime (at least
  /// one; build() throws std::invalid_argument for 0).
  builder& worker_threads(std::size_t n) noexcept {
    worker_threads_ = n;
    return *this;
  }

  /// Ticks between two polls of the driver (timers, I/O) by a busy worker;
  /// tokio's default, 61.
  builder& event_interval(std::uint32_t ticks) noexcept {
    event_interval_ = ticks;
    return *this;
  }

  /// Ticks between two looks at the injection queue before the local queue;
  /// tokio's default, 31.
  builder& global_queue_interval(std::uint32_t ticks) noexcept {
    global_queue_interval_ = ticks;
    return *this;
  }

  /// Called on each worker thread of a multi_thread runtime when it starts,
  /// before it runs any task (tokio's on_thread_start). Must not throw.
  builder& on_thread_start(std::function<void()> f) {
    on_thread_start_ = std::move(f);
    return *this;
  }

  /// Called on each worker thread of a multi_thread runtime as it stops,
  /// after its last task (tokio's on_thread_stop). Must not throw.
  builder& on_thread_stop(std::function<void()> f) {
    on_thread_stop_ = std::move(f);
    return *this;
  }

  /// The most threads the blocking pool (spawn_blocking) starts; tokio's
  /// default, 512. At least 1.
  builder& max_blocking_threads(std::size_t n) noexcept {
    max_blocking_threads_ = n;
    return *this;
  }

  /// How long an idle blocking-pool thread waits for work before it exits;
  /// tokio's default, 10 s.
  builder& thread_keep_alive(std::chrono::nanoseconds d) noexcept {
    thread_keep_alive_ = d;
    return *this;
  }

  /// Starts the runtime with its clock paused, as if its first task called
  /// time::pause() (tokio's start_paused; docs/testing.md): timers then
  /// fire by time::advance() and by auto-advance when every task is idle.
  /// Only for current_thread runtimes: build() throws
  /// std::invalid_argument for a multi_thread one.
  builder& start_paused(bool paused) noexcept {
    start_paused_ = paused;
    return *this;
  }

  /// Seeds every random choice the runtime makes (tokio's RngSeed;
  /// docs/testing.md): select's first branch, and on a multi_thread runtime
  /// each worker thread's generator. A current_thread runtime built with a
  /// given seed makes the same choices on every run (the n-th block_on
  /// draws from a generator derived from the seed and n). On a
  /// multi_thread runtime the seeds are reproducible but which worker gets
  /// which, and what runs where, is not.
  builder& rng_seed(std::uint64_t seed) noexcept {
    rng_seed_ = seed;
    return *this;
  }

  /// The I/O backend of the runtime's threads (docs/io.md, "Where io_uring
  /// is refused"): io_backend::automatic (the default) leaves the choice to
  /// KYOTO_IO_BACKEND, then falls back to epoll only where io_uring is
  /// refused; io_uring or epoll override the variable. With io_uring
  /// where it is refused, build() throws std::system_error saying why and
  /// how to allow it. The deterministic runtime runs no real I/O and
  /// ignores it.
  builder& io_backend(kyoto::io_backend backend) noexcept {
    io_backend_ = backend;
    return *this;
  }

  /// Whether a multi_thread runtime's tasks gather on kyoto-worker-0 while
  /// other processes keep the CPUs busy (kyoto::concentration; docs/
  /// architecture.md, "Scheduler"): concentration::automatic (the default)
  /// leaves the choice to KYOTO_CONCENTRATE (auto, on, off; unset:
  /// when_contended), and build() throws std::invalid_argument naming the
  /// variable for another value; the other values override the variable.
  /// current_thread and deterministic runtimes ignore it.
  builder& concentration(kyoto::concentration when) noexcept {
    concentration_ = when;
    return *this;
  }

  /// The stall detector (docs/architecture.md, "The watchdog"): a task
  /// that runs longer than `threshold` without yielding is reported once
  /// per such poll, at warn level through kyoto's log (KYOTO_LOG=warn),
  /// with its id, name and spawn location while it still runs (Seastar's
  /// reactor-stall report). 100 ms by default; zero turns the reports off;
  /// build() throws std::invalid_argument for a negative one. Real time:
  /// paused time never counts. On a multi_thread runtime the watchdog
  /// thread reports it (the time spent inside kyoto::block_in_place is not
  /// a stall); on a current_thread runtime a monitor thread does, started
  /// by the first block_on and joined by the shutdown (none for a zero
  /// threshold), and block_on's own future is watched too. The
  /// deterministic runtime ignores it (no thread may touch its runs).
  builder& stall_threshold(std::chrono::milliseconds threshold) noexcept {
    stall_threshold_ = threshold;
    return *this;
  }

  /// Enables the I/O and time drivers. They are always enabled in kyoto;
  /// kept so tokio code ports line by line.
  builder& enable_all() noexcept { return *this; }

  /// Called on the spawning thread for every task spawned on the runtime
  /// (kyoto::spawn, handle/runtime::spawn, join_set, task_builder; not
  /// spawn_blocking nor local_set tasks), before it is queued (tokio's
  /// on_task_spawn). `f` gets the task's task_meta (id, name, spawn
  /// location), valid during the call. Must not throw (a throw
  /// terminates). Unset hooks cost one branch per spawn and run.
  builder& on_task_spawn(std::function<void(const task_meta&)> f) {
    hooks().on_spawn = std::move(f);
    return *this;
  }
  /// Called once per task when it completes, throws or is cancelled
  /// (including by the runtime's shutdown), on the thread that ends it,
  /// before its join_handle sees the outcome (tokio's on_task_terminate).
  /// As on_task_spawn otherwise.
  builder& on_task_terminate(std::function<void(const task_meta&)> f) {
    hooks().on_terminate = std::move(f);
    return *this;
  }
  /// Called on the worker right before each poll (run) of a task (tokio's
  /// on_before_task_poll); task_id::current() gives the task's id there.
  /// As on_task_spawn otherwise; keep it short, it runs on every poll.
  builder& on_before_task_poll(std::function<void(const task_meta&)> f) {
    hooks().on_before_poll = std::move(f);
    return *this;
  }
  /// Called on the worker right after each poll of a task, before it is
  /// completed or parked (tokio's on_after_task_poll). As
  /// on_before_task_poll otherwise.
  builder& on_after_task_poll(std::function<void(const task_meta&)> f) {
    hooks().on_after_poll = std::move(f);
    return *this;
  }
  /// Prints a task dump (runtime::dump(), as text) to stderr whenever the
  /// process receives `signum` (e.g. SIGQUIT, as a JVM prints its thread
  /// dump), from a thread of its own, so it works while every worker is
  /// stuck. kyoto's handler replaces the signal's previous handler for the
  /// rest of the process. Without this call, the environment variable
  /// KYOTO_DUMP_SIGNAL (a name, "SIGQUIT", or a number) does the same.
  /// build() throws std::invalid_argument for SIGKILL, SIGSTOP, SIGSEGV,
  /// SIGBUS, SIGILL, SIGFPE or a number that is no signal.
  builder& dump_on_signal(int signum) noexcept {
    dump_signal_ = signum;
    return *this;
  }

  /// Records how long each poll (run) of a task takes, per worker, in
  /// runtime_metrics' worker_metrics::poll_time (tokio's
  /// enable_metrics_poll_time_histogram). Off by default; when off it
  /// costs one well-predicted branch per run, when on two clock reads.
  /// Not recorded by the deterministic runtime.
  builder& enable_metrics_poll_time_histogram() {
    if (!poll_time_histogram_) poll_time_histogram_.emplace();
    return *this;
  }
  /// The poll-time histogram's buckets (tokio's
  /// metrics_poll_time_histogram_configuration); enables it too. Default
  /// histogram_configuration{}: log(1 µs, 20).
  builder& metrics_poll_time_histogram_configuration(const histogram_configuration& config) {
    poll_time_histogram_ = config;
    return *this;
  }
  /// Records, for a sample of task wakes, the time from the wake to the
  /// start of the task's run, per worker that ran it, in
  /// worker_metrics::schedule_latency. Off by default (a branch per wake
  /// and per run); when on, at most one wake is sampled at a time
  /// (docs/observability.md). Not recorded by the deterministic runtime.
  builder& enable_metrics_schedule_latency_histogram() {
    if (!schedule_latency_histogram_) schedule_latency_histogram_.emplace();
    return *this;
  }
  /// Serves the runtime's metrics (runtime_metrics::to_prometheus()) on a
  /// Unix socket at `path`, from a thread of its own, while the runtime
  /// lives: each connection is one HTTP/1.0 scrape
  /// (`curl --unix-socket PATH http://localhost/metrics`), as
  /// samples/kyoto_top reads it. An existing socket file nobody listens on
  /// is replaced; the file is removed when the runtime is destroyed. build()
  /// throws std::invalid_argument for an empty or too long path (over 107
  /// bytes) and std::system_error if the path is in use or cannot be bound
  /// (both naming kyoto::runtime::builder::metrics_endpoint).
  builder& metrics_endpoint(std::string path) {
    metrics_endpoint_ = std::move(path);
    return *this;
  }
  /// The schedule-latency histogram's buckets; enables it too.
  builder& metrics_schedule_latency_histogram_configuration(const histogram_configuration& config) {
    schedule_latency_histogram_ = config;
    return *this;
  }
  /// Builds the runtime (starting its worker threads). Throws
  /// std::system_error if an io_uring ring or eventfd cannot be created,
  /// including where io_uring is refused (a seccomp profile,
  /// kernel.io_uring_disabled, gVisor): the message says why and how to
  /// allow it (docs/io.md); std::invalid_argument for a bad setting.
  runtime build() const;

  /// What the runtime does when a spawned task ends with an exception
  /// (tokio's Builder::unhandled_panic): unhandled_panic::ignore (the
  /// default) or unhandled_panic::shutdown_runtime; see kyoto::unhandled_panic.
  builder& unhandled_panic(kyoto::unhandled_panic policy) noexcept {
    unhandled_panic_ = policy;
    return *this;
  }

 private:
  /// build() for unhandled_panic::shutdown_runtime: the runtime's scheduler
  /// wrapped to shut down on a task's exception.
  runtime build_shutting_down_on_exception() const;
  /// Installs the task hooks, if any is set, on `rt`'s scheduler.
  runtime with_hooks(runtime rt) const;

  enum class flavor : unsigned char { current_thread, multi_thread, deterministic };
  explicit builder(flavor f) noexcept : flavor_(f) {}
  /// The hooks, copied first if another builder shares them (a builder
  /// is a value).
  detail::task_hooks& hooks() {
    if (!hooks_) {
      hooks_ = std::make_shared<detail::task_hooks>();
    } else if (hooks_.use_count() > 1) {
      hooks_ = std::make_shared<detail::task_hooks>(*hooks_);
    }
    return *hooks_;
  }

  flavor flavor_;
  std::optional<int> dump_signal_;             ///< dump_on_signal; unset: KYOTO_DUMP_SIGNAL
  std::optional<std::size_t> worker_threads_;  ///< unset: the number of cores
  std::uint32_t event_interval_ = 61;
  std::uint32_t global_queue_interval_ = 31;
  std::function<void()> on_thread_start_;
  std::function<void()> on_thread_stop_;
  std::size_t max_blocking_threads_ = 512;
  std::chrono::nanoseconds thread_keep_alive_ = std::chrono::seconds(10);
  bool start_paused_ = false;
  std::optional<std::uint64_t> rng_seed_;  ///< unset: unseeded generators
  kyoto::unhandled_panic unhandled_panic_ = kyoto::unhandled_panic::ignore;
  std::shared_ptr<detail::task_hooks> hooks_;       ///< null: no hook set
  std::chrono::milliseconds stall_threshold_{100};  ///< zero: no stall reports
  kyoto::io_backend io_backend_ = kyoto::io_backend::automatic;
  kyoto::concentration concentration_ = kyoto::concentration::automatic;

  // Metrics options (runtime/src/metrics/): unset means off.
  std::optional<histogram_configuration> poll_time_histogram_;
  std::optional<histogram_configuration> schedule_latency_histogram_;
  std::optional<std::string> metrics_endpoint_;
};

}  // namespace kyoto
