// kyoto::runtime_dump: every live task of a runtime, with what each one is
// waiting on (tokio's unstable Handle::dump()).
//
// # How a dump is taken
//
// A scheduler keeps every task that went idle at least once on a live-task
// list (tokio's OwnedTasks: what shutdown cancels): one list per worker on
// a multi_thread runtime, one for a current_thread runtime, each guarded by
// a lock that a task takes twice in its life (when it first goes idle, and
// when it ends). runtime::dump() takes one list at a time: under its lock it
// takes a reference on each task (so none is freed), then looks at the
// tasks in batches of 256, each batch under the lock, skipping those that
// ended meanwhile: no task can end while it is looked at, and a worker that
// ends a task of that list waits for at most one batch (or the reference
// taking, about 1 ms per 100,000 tasks). Workers are never stopped
// otherwise: the rest of the runtime keeps running during the dump.
//
// Per task, the dump reads the task's state word (and with it since when
// the task is scheduled or running: the state word's top bits). An idle task (suspended,
// not queued) is *claimed* for the read, exactly as a worker claims it to
// run it (idle -> RUNNING, one compare-and-swap): while claimed its frames
// hold still, a wake only records itself, and the claim's end re-queues the
// task if it was woken meanwhile — so a task's await chain is always a state
// the task really was in. A task that is queued or running is listed with
// its state only: its frames belong to the thread about to run or running
// it. A task that never suspended yet (queued for its first poll, or in it)
// is on no list: the dump counts it (`unlisted`) but cannot name it.
//
// The dump is consistent per task, not across tasks: tasks keep running
// while other lists are walked (as a thread dump of a running JVM).
//
// # What it costs
//
// Taking the dump: a reference and a CAS pair per idle task and a walk of
// its frames, then the strings: 100,000 parked tasks take about 30 ms, and
// to_text() about 45 ms more (docs/observability.md). Always on: every co_await in a kyoto::task
// stores its call site's static record (source location, awaiter type) in
// its frame's promise, and a suspension adds where the awaiter is, in the
// same word: no byte of frame (detail/await_point.hpp).
#pragma once

#include <kyoto/runtime/task_id.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

namespace kyoto {

/// Where a listed task stands.
enum class task_state : unsigned char {
  idle,       ///< suspended, waiting for a wake: its await chain is listed
  scheduled,  ///< in a run queue (woken, or yielded)
  running,    ///< a worker is running it now
  /// a spawn_blocking task whose function a blocking-pool thread runs now,
  /// or a task inside block_in_place
  blocking,
};

/// "idle", "scheduled", "running" or "blocking".
KYOTO_EXPORT const char* to_string(task_state s) noexcept;

/// One co_await of a suspended task, from its root coroutine inwards.
///
/// Thread safety: a value.
struct await_frame {
  /// The `co_await` the frame is suspended at (file, line, and the
  /// coroutine's function).
  std::source_location location;
  /// What it waits on: the operation ("mpsc recv", "mutex lock", "sleep",
  /// "tcp read", "join", "task" for a child task...), or the awaiter's
  /// type when the awaiter does not say.
  std::string waits_on;
  /// The operation's detail: "fd 7", "until +1.250 s", "task 12", or empty.
  std::string detail;
  /// The primitive waited on (a channel's, lock's, ... state), or null:
  /// tasks waiting on one object show the same address.
  const void* object = nullptr;
};

/// One live task of a dump.
///
/// Thread safety: a value.
struct task_dump {
  task_id id{0};                        ///< the task's id
  std::string name;                     ///< task_builder::name, or empty
  std::source_location spawned_at;      ///< the spawn call (line 0 when unknown)
  task_state state = task_state::idle;  ///< idle, scheduled, running or blocking, when listed
  /// For an idle task: the co_await of its root coroutine, then the one
  /// of the task that awaits, and so on to the innermost awaiter. Empty
  /// for a queued or running task (its frames are not read).
  std::vector<await_frame> await_chain;
  /// How long the task has been in `state`, in milliseconds, as of the
  /// dump (docs/observability.md, "Time in state"):
  ///
  /// - idle: since its innermost frame suspended;
  /// - scheduled: since the wake, yield or abort() that queued it (or,
  ///   woken while running, since that run ended; a spawn_blocking
  ///   function not started yet: since its spawn);
  /// - running: since its current poll began (a multi_thread worker's
  ///   poll, a current_thread runtime's: the task calling dump() on its own
  ///   runtime shows how long its poll has lasted so far);
  /// - blocking: since it entered block_in_place, or since its
  ///   spawn_blocking function began.
  ///
  /// Read on its runtime's clock (paused time included) as stamped by the
  /// thread that made the change: a runtime thread stamps its tick of its
  /// last driver turn (a tick up to that turn old: a long poll's stamps
  /// are old by up to that poll; a multi_thread worker refreshes its tick
  /// after a poll its watchdog saw last a millisecond), any other thread
  /// reads its clock. A scheduled or running time (and a spawn_blocking
  /// function's) is kept modulo 65.536 s: a task in that state longer
  /// than that reads short by a multiple of 65.536 s. -1 when not known:
  /// an idle task whose innermost frame returns more than 56 bytes, a task
  /// looked at while its runtime shuts down.
  std::int64_t state_ms = -1;
};

/// Every live task of a runtime at the time of the dump (see the file
/// comment for how it is taken). Made by runtime::dump() and
/// handle::dump().
///
/// Thread safety: a value.
struct KYOTO_EXPORT runtime_dump {
  /// The listed tasks, one list (worker) after another, most recently
  /// suspended first within a list.
  std::vector<task_dump> tasks;
  /// Live tasks that never suspended yet (queued for their first poll, or
  /// in it): counted, not listed.
  std::size_t unlisted = 0;

  /// The task with this id, or null.
  const task_dump* find(task_id id) const noexcept;

  /// One block per task, a Java thread dump's shape:
  ///
  ///   task 12 "accept loop" idle for 1250 ms, spawned at server.cpp:40
  ///     at serve() server.cpp:18  tcp accept fd 6
  ///     at main_loop() server.cpp:31  task
  ///
  /// The other states read `scheduled for N ms`, `running for N ms`,
  /// `blocking for N ms` (state_ms); no `for` when state_ms is -1.
  std::string to_text() const;

  /// The same as JSON: {"tasks":[{"id":12,"name":"accept loop","state":
  /// "idle","state_ms":1250,"spawned_at":{"file":..,"line":..,"function":..},
  /// "await_chain":[{"file":..,"line":..,"function":..,"waits_on":..,
  /// "detail":..}]}],"unlisted":0}.
  std::string to_json() const;
};

/// Writes `d.to_text()`.
KYOTO_EXPORT std::ostream& operator<<(std::ostream& os, const runtime_dump& d);

namespace detail {
class scheduler;
/// Takes a dump of `s` (runtime::dump, handle::dump). Any thread.
KYOTO_EXPORT runtime_dump dump_scheduler(scheduler& s);
}  // namespace detail

}  // namespace kyoto
