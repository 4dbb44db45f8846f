// The spawned task: its header, its two state words and the wake protocol.
//
// # What a spawned task is
//
// `spawn` turns a `task<T>` (a chain of coroutine frames) into a unit the
// scheduler can run: a *cell* (`spawned_cell`, see task_cell.hpp) that
// starts with this header and also holds the callable that made the task,
// the result slot the join_handle reads, and the root coroutine.
//
// A task can be suspended at several points at once: `join(a, b)` runs both
// branches inside one task, so while `a` waits on a channel `b` may wait on
// a timer. Each suspension point owns a `wake_node`; waking it means "resume
// this coroutine, on this task's thread, when the task next runs". Woken
// nodes collect on the task's *ready stack*; a run takes the whole stack
// and resumes the nodes in the order they were woken (after a purge(), the
// nodes it put back resume after those woken meanwhile: fairness only).
//
// # run_state_: who runs the task
//
// One word holds the ready stack's head (a wake_node*, 16-byte aligned) and
// four flags in its low bits:
//
//   RUNNING    a thread owns the task's frames and is resuming them; only
//              that thread touches the frames, `started_` and the run's batch.
//   NOTIFIED   the task is in a run queue, or the thread that set the flag
//              is about to put it there. Set by a waker only while not
//              RUNNING; set by the runner itself when the task yields
//              (RUNNING|NOTIFIED: the run's end re-queues it, and it stays
//              RUNNING|NOTIFIED in the queue — its thread still owns it).
//   COMPLETE   the root coroutine finished or was cancelled and the result
//              slot is written. Never unset.
//   CANCELLED  abort() was called. Never unset.
//
// Transitions (each one CAS; `stack` is the ready stack):
//
//   wake(node)       push node; if neither RUNNING nor NOTIFIED also set
//                    NOTIFIED and the waker submits the task to its
//                    scheduler. A wake while RUNNING (even one made from
//                    inside the run, or from another thread while the task
//                    is still in await_suspend on its way to sleep) only
//                    pushes: the run's end sees the stack and re-queues.
//   yield(node)      (the runner, RUNNING) push node and set NOTIFIED.
//   begin_run()      NOTIFIED or RUNNING|NOTIFIED -> RUNNING, takes the
//                    stack (one CAS).
//   end_run()        RUNNING|NOTIFIED (it yielded): no change, the runner
//                    re-queues the task; RUNNING -> idle; or, if the stack
//                    is non-empty or CANCELLED was set meanwhile, RUNNING ->
//                    NOTIFIED and the runner re-queues the task.
//   abort()          set CANCELLED; if idle also set NOTIFIED and submit.
//   finish()         RUNNING -> COMPLETE.
//
// The word's top 16 bits (above the ready stack's 48-bit address: the
// user-space addresses of x86-64 and AArch64) say *since when* the task is
// in its state, for task dumps: the low 16 bits of the state tick
// (detail/await_point.hpp; current_state_tick() below) of its last move to
// NOTIFIED or RUNNING, in milliseconds. Stamped by the CAS that makes the
// move, so it costs no store: at spawn (the initial NOTIFIED), by the wake
// or abort() that submits the task, by yield(), by begin_run(), and by an
// end_run() that re-queues the task. Every other transition keeps them.
// An idle task's own time is in its innermost frame (await_point.hpp).
//
// Hence **a task is never resumed by two threads at once**: only the thread
// that moved it NOTIFIED -> RUNNING resumes its frames, and a wake can never
// put a RUNNING task in a queue.
//
// # join_state_: who owns the cell
//
// A second word serves the join_handle and the reference count:
//
//   JOIN_INTEREST  a join_handle exists (cleared when it is dropped).
//   JOIN_WAKER     the join_handle's awaiter stored its node in `join_node_`;
//                  while set, only the completing thread may read it.
//   JOIN_COMPLETE  the result slot is written (release); the handle may
//                  read it (acquire). Never unset.
//   pins           abort() calls in progress (see below); at most 255
//                  at once (a 256th aborter waits for one to leave).
//   refs           one for the scheduler (dropped after completion), one
//                  for the join_handle (or the join_set entry owning it),
//                  one per abort_handle. The cell is freed at zero.
//
// # The wake rule (what makes cancellation safe without refcounting wakes)
//
// A wake_node lives in an awaiter, inside a coroutine frame that may be
// destroyed (cancelled) at any suspension. Every primitive therefore wakes a
// node **while still holding the synchronisation that the awaiter's
// destructor must also take** (the primitive's lock, or for the join handle
// the JOIN_WAKER bit). A destructor that finds its node already woken knows
// the wake is over, and removes the node from its task's ready stack
// (`purge`). So the frame, the task and its scheduler all outlive every wake
// that targets them.
//
// After the wake's CAS the waker touches the task again only if it set
// NOTIFIED; such a task cannot run (it is in no queue yet), and shutdown
// cannot cancel it before the wake ends (its awaiter's destructor waits for
// the primitive's lock), so it cannot be freed before the waker has
// submitted it.
//
// abort() is not a wake: it holds no primitive's lock. It *pins* the task
// (the pin count in join_state_) around its CAS and submission, and shutdown, having taken
// a task, waits for its pins to drop before cancelling it: so an abort()
// racing the runtime's destruction never submits to a freed scheduler.
#pragma once

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>

namespace kyoto::detail {

class task_header;
class task_promise_base;
class thread_parker;

/// The calling thread's state tick for stamping a task's state change
/// (run_state_'s top bits, see the file comment): on a thread that drives
/// a runtime (its context has a driver, whose turns refresh state_tick:
/// detail/await_point.hpp) state_tick, as of its last driver turn; on any
/// other thread (a plain thread waking a task, a blocking-pool thread, a
/// worker inside block_in_place, a thread whose block_on returned and left
/// its tick behind) a clock read. Two thread-local loads and a
/// well-predicted branch on a runtime thread. Any thread.
inline std::uint32_t current_state_tick() noexcept {
  if (current_context.drv != nullptr) [[likely]]
    return state_tick;
  return state_tick_from_clock();
}

/// A suspended coroutine (or a blocked thread) waiting for an event.
///
/// Embedded in awaiters. `prepare()` is called in await_suspend, before the
/// node is published; after publishing, the awaiter touches none of its
/// members until it is resumed. wake() follows the wake rule above.
struct alignas(16) KYOTO_EXPORT wake_node {
  wake_node* next = nullptr;        ///< link in the owner's ready stack / batch
  std::coroutine_handle<> handle;   ///< the coroutine to resume
  task_header* task = nullptr;      ///< the task that runs `handle`, or null
  thread_parker* parker = nullptr;  ///< for a blocked thread (task == null)

  /// Records the coroutine to resume and the task running it (the calling
  /// thread's current task). Throws std::logic_error outside a runtime task.
  void prepare(std::coroutine_handle<> h);

  /// Records the calling thread as the waiter (blocking_* operations).
  void prepare_thread() noexcept;

  /// Resumes the waiter: pushes onto its task's ready stack (see the wake
  /// rule), unparks its thread, or calls a callback_node's function. Any
  /// thread.
  void wake() noexcept;

 private:
  static void wake_other(wake_node* n) noexcept;  // thread or callback
};

/// A wake_node whose wake() calls `fn` instead of resuming a coroutine
/// (`task` and `parker` stay null): how a join_set entry learns that its
/// task completed. `fn` runs on the waking thread, inside the waker's
/// synchronisation (the wake rule), so it must be short, must not block on
/// anything the waker may hold, and must not free the node: whoever owns
/// the node waits for the wake to end before freeing it (for the join
/// waker: unset_join_waker()).
struct callback_node : wake_node {
  void (*fn)(callback_node*) noexcept = nullptr;  ///< set before publishing
};

/// What a spawned cell knows how to do; one static table per cell type.
struct task_vtable {
  /// The root coroutine returned: move its result into the cell and destroy
  /// the frame and the callable. Runs on the task's thread.
  void (*complete)(task_header*) noexcept = nullptr;
  /// Destroy the (suspended or unstarted) root frame and the callable,
  /// recording cancellation. Runs on a thread that owns the task.
  void (*cancel)(task_header*) noexcept = nullptr;
  /// Whether the result slot holds an exception (for logging).
  bool (*failed)(const task_header*) noexcept = nullptr;
  /// The exception in the result slot, to log when nobody will join.
  void (*log_unobserved)(const task_header*) noexcept = nullptr;
  /// Free the cell (refs reached zero).
  void (*deallocate)(task_header*) noexcept = nullptr;
  /// The root coroutine's promise, where a dump starts the await chain;
  /// null for cells whose root is not a task<T>. Only by a thread owning
  /// the frames (the runner, or a dump's claim).
  const task_promise_base* (*root_promise)(const task_header*) noexcept = nullptr;
};

/// A named task's name and spawn location, allocated only when a name is
/// given (task_builder::name); see task_header::site_.
struct named_site {
  std::string name;               ///< as given
  std::source_location location;  ///< the spawn call
};

/// Hands out a task id no other task of the process gets (never 0): from
/// a block of ids reserved per thread, so one relaxed RMW on the shared
/// counter per 1024 spawns. Any thread.
KYOTO_EXPORT std::uint64_t next_task_id() noexcept;

/// The type-erased part of every spawned task. See the file comment.
class KYOTO_EXPORT task_header {
 public:
  // run_state_ flags.
  static constexpr std::uintptr_t running = 1;    ///< a thread owns the frames
  static constexpr std::uintptr_t notified = 2;   ///< queued or about to be
  static constexpr std::uintptr_t complete = 4;   ///< finished; never unset
  static constexpr std::uintptr_t cancelled = 8;  ///< abort() called; never unset
  static constexpr std::uintptr_t flag_mask = 15;
  /// run_state_'s top bits: the state tick of the last move to NOTIFIED
  /// or RUNNING, modulo 2^16 ms (see the file comment).
  static constexpr unsigned since_shift = 48;
  static constexpr std::uintptr_t since_mask = ~std::uintptr_t{0} << since_shift;
  /// run_state_'s ready stack head (a wake_node*).
  static constexpr std::uintptr_t stack_mask = ~since_mask & ~flag_mask;
  /// The since bits of state tick `tick` (its low 16 bits).
  static constexpr std::uintptr_t since_bits(std::uint32_t tick) noexcept {
    return std::uintptr_t{tick} << since_shift;
  }

  // join_state_ flags and counts.
  static constexpr std::uint32_t join_interest = 1;  ///< a join_handle exists
  static constexpr std::uint32_t join_waker = 2;     ///< join_node_ is set
  static constexpr std::uint32_t join_complete = 4;  ///< result readable
  static constexpr std::uint32_t pin_one = 8;        ///< one abort() in progress
  /// Bits 3..10: the pin count (one per thread inside abort(); abort()
  /// waits while all 255 are taken, so it never overflows); bits 11..31:
  /// the reference count (2^21 - 1 at most; add_ref() refuses past
  /// `ref_limit`, leaving room for racing increments).
  static constexpr std::uint32_t pin_mask = 0x000007f8;
  static constexpr std::uint32_t ref_one = 1u << 11;  ///< one reference
  /// add_ref() throws once this many references exist (abort_handle copies).
  static constexpr std::uint32_t ref_limit = 1u << 20;

  /// A new task, NOTIFIED (queued for its first run) since now.
  task_header(const task_vtable* vt, std::coroutine_handle<> root) noexcept
      : vtable_(vt), root_(root), run_state_(notified | since_bits(current_state_tick())) {}
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;
  ~task_header() {
    if ((id_bits_ & named_bit) != 0) delete site_.named;
  }

  // ---- identity (kyoto::task_id, task_meta) ----

  /// The task's id (kyoto::task_id's number); 0 until spawn assigns one. A
  /// nested task (nested_run.hpp, a stream's producer) takes the id of the
  /// task its run is nested in, at every run. Any thread, once published.
  std::uint64_t id() const noexcept { return id_bits_ & ~named_bit; }
  /// The spawn call (line 0 if unknown). Any thread, once published.
  std::source_location spawn_location() const noexcept {
    return (id_bits_ & named_bit) != 0 ? site_.named->location : site_.location;
  }
  /// The name given at spawn, or empty. Any thread, once published.
  std::string_view name() const noexcept {
    return (id_bits_ & named_bit) != 0 ? std::string_view(site_.named->name) : std::string_view();
  }
  /// Gives the task a fresh id and records its spawn call and, if `named`
  /// is not null, takes it as its name (and location: `where` is then
  /// ignored). Once, by spawn, before the task is published.
  void set_identity(std::source_location where, named_site* named) noexcept {
    if (named != nullptr) {
      site_.named = named;
      id_bits_ = next_task_id() | named_bit;
    } else {
      site_.location = where;
      id_bits_ = next_task_id();
    }
  }

  // ---- waking (any thread) ----

  /// Pushes `node` and, if the task was idle, submits it to its scheduler.
  void wake(wake_node* node) noexcept;

  /// The running task yields (yield_now, the budget): pushes `node` and
  /// marks the task NOTIFIED, so the end of this run re-queues it without
  /// another state change. Only the thread running the task.
  void yield(wake_node* node) noexcept;

  /// Requests cancellation; no-op once complete. Any thread.
  void abort() noexcept;

  // ---- running (the scheduler's thread) ----

  /// Runs the task once: resumes the woken nodes (or starts the root), then
  /// completes it, cancels it or leaves it idle. Returns true if the task
  /// must be queued again. Precondition: NOTIFIED, not RUNNING.
  bool run() noexcept;

  /// Cancels a task that is not running and was never queued, or that the
  /// scheduler is shutting down (its queues are closed). Completes it.
  void shutdown() noexcept;

  /// Removes a woken node of this task from its ready stack or current
  /// batch. Called by an awaiter's destructor on the thread that owns the
  /// task (RUNNING), when the node was woken but will never be resumed.
  void purge(wake_node* node) noexcept;

  // ---- dumps (runtime/src/dump/; any thread holding the live-task list's lock) ----

  /// What claim_for_dump() found.
  enum class dump_claim : unsigned char {
    claimed,    ///< it was idle: the caller owns the frames until end_dump_claim()
    scheduled,  ///< queued (NOTIFIED): not claimed
    running,    ///< a thread runs it: not claimed
    complete,   ///< finished or cancelled: not claimed
  };

  /// Takes an idle task as if to run it (idle -> RUNNING, one CAS), so its
  /// frames hold still while a dump reads its await chain: wakes meanwhile
  /// only push (as during a run), abort() only sets CANCELLED, and nobody
  /// else can start it. The caller holds the lock of the live-task list the
  /// task is on, so the task cannot be freed or cancelled by shutdown.
  /// For a task found scheduled or running, `since` receives the low 16
  /// bits of the state tick of its move to that state (file comment); a
  /// task claimed by another dump at the same time reads as running, so
  /// dumps take their claims one at a time (dump.cpp).
  dump_claim claim_for_dump(std::uint16_t& since) noexcept;
  /// The same, without the time (driver.cpp's freeze_held).
  dump_claim claim_for_dump() noexcept {
    std::uint16_t since = 0;
    return claim_for_dump(since);
  }

  /// The low 16 bits of the state tick of the task's last move to NOTIFIED
  /// or RUNNING (file comment), for a dump that looks at a task without
  /// claiming it (a blocking-pool task). Any thread; a snapshot.
  std::uint16_t state_since() const noexcept {
    // Relaxed: a number for a dump; nothing is read through it.
    return static_cast<std::uint16_t>(run_state_.load(std::memory_order_relaxed) >> since_shift);
  }

  /// Gives a claimed task back, as the end of a run would: if a wake or an
  /// abort() came meanwhile, marks it NOTIFIED and submits it.
  void end_dump_claim() noexcept {
    if (end_run()) sched->schedule(this);
  }

  /// The root frame's promise (null if the root is not a task<T> or is
  /// gone), and whether it ever ran. Only while claimed (or by the runner).
  const task_promise_base* root_promise() const noexcept {
    return vtable_->root_promise != nullptr && root_ ? vtable_->root_promise(this) : nullptr;
  }
  bool started() const noexcept { return started_; }

  // ---- join_handle side ----

  /// Whether the result is written (acquire: the result may be read).
  bool is_complete() const noexcept {
    // Acquire: pairs with the release fetch_or in finish().
    return (join_state_.load(std::memory_order_acquire) & join_complete) != 0;
  }

  /// Registers `node` to be woken at completion. Returns false, without
  /// registering, if the task is already complete. Throws std::logic_error
  /// if another awaiter is registered (two awaits of one handle at once).
  bool set_join_waker(wake_node* node);

  /// Undoes set_join_waker for an awaiter destroyed while waiting; if the
  /// task completed meanwhile, waits for the wake to finish and purges it
  /// (a coroutine's node; a callback_node has nothing to purge). Once it
  /// returns, the completing thread no longer touches `node`.
  void unset_join_waker(wake_node* node) noexcept;

  /// Blocks the calling plain thread until the task completes (a
  /// multi-thread runtime's block_on): registers the thread as the join
  /// waiter, parks, and returns once the completing thread is done with it.
  void wait_blocking();

  /// The join_handle goes away: clears JOIN_INTEREST and drops its ref. An
  /// exception the handle did not take is logged (by this call or finish()).
  void drop_join_handle(bool result_taken) noexcept;

  /// drop_join_handle(false): a join_handle that never took the result
  /// goes away (counted_ref's drop for join_handle).
  void detach_join_handle() noexcept { drop_join_handle(false); }

  /// Drops a reference; frees the cell at zero.
  void unref() noexcept;

  /// Takes one more reference (an abort_handle copy). The caller holds
  /// one. Throws std::length_error when `ref_limit` references exist.
  void add_ref() {
    // Relaxed: the caller's own reference keeps the cell alive, and a new
    // reference publishes nothing (shared_ptr's copy).
    const std::uint32_t prev = join_state_.fetch_add(ref_one, std::memory_order_relaxed);
    if (prev / ref_one >= ref_limit) [[unlikely]] {
      join_state_.fetch_sub(ref_one, std::memory_order_relaxed);  // never the last: we hold one
      throw_too_many_refs();
    }
  }

  /// The scheduler that runs this task; set once before it is first queued.
  task_scheduler* sched = nullptr;
  /// Intrusive link for run queues; owned by the queue holding the task.
  task_header* queue_next = nullptr;
  /// Intrusive links for the scheduler's list of live tasks.
  task_header* owned_prev = nullptr;
  task_header* owned_next = nullptr;

 protected:
  const task_vtable* vtable_;
  /// The root coroutine (the user's task<T>); reset when destroyed.
  std::coroutine_handle<> root_;

 private:
  // The header is 72 bytes of state (and 16 of identity, at the end): one
  // word packs join_state_ with the small fields around it (a parked task's memory is mostly its
  // header and frame). The current run's batch of woken nodes lives in the running thread's context
  // (context::batch).

 public:
  /// Which of the scheduler's live-task lists holds the task (the
  /// scheduler's protocol guards it), and whether one does.
  std::uint16_t owned_shard = 0;
  bool owned_linked = false;

 private:
  friend struct wake_node;
  /// wake() with the stamp `tick()` (file comment).
  template <class Tick>
  void wake_stamped(wake_node* node, Tick tick) noexcept;
  /// wake() on a thread that drives no runtime: stamped from a clock
  /// read. Out of line, so that wake() saves no register for the call.
  void wake_from_outside(wake_node* node) noexcept;
  std::uintptr_t begin_run() noexcept;  // NOTIFIED -> RUNNING; returns the old word
  bool end_run() noexcept;              // RUNNING -> idle, or -> NOTIFIED (true)
  void finish() noexcept;               // RUNNING -> COMPLETE, then the join protocol
  void cancel_running() noexcept;       // cancel() + finish(), the task being RUNNING
  [[noreturn]] static void throw_too_many_refs();

  /// Whether the root has been resumed once (runner only).
  bool started_ = false;
  /// JOIN_* flags, abort pins and the reference count; see the file
  /// comment. Written by the join_handle, its awaiter, abort() and the
  /// completing thread.
  atomic<std::uint32_t> join_state_{join_interest | 2 * ref_one};
  /// Ready stack head | RUNNING | NOTIFIED | COMPLETE | CANCELLED; see the
  /// file comment. Written by wakers (push), abort() and the runner.
  atomic<std::uintptr_t> run_state_{notified};
  /// The join_handle awaiter's node; see JOIN_WAKER.
  wake_node* join_node_ = nullptr;

  /// Set in id_bits_ when site_ holds a named_site (owned).
  static constexpr std::uint64_t named_bit = std::uint64_t{1} << 63;
  /// The id | named_bit. Written before publication (set_identity), and
  /// for a nested task by its runner only (nobody else reads it).
  std::uint64_t id_bits_ = 0;
  /// The spawn call, or the named_site when named_bit is set.
  union site {
    std::source_location location{};
    named_site* named;
  } site_;
};

static_assert(sizeof(std::uintptr_t) == 8, "run_state_ keeps a tick above a 48-bit address");

// 72 bytes of state, 16 of identity: the cell of a small task becomes 104
// bytes, which is exactly the next frame_pool class after 88 (classes are
// 16 bytes apart), so 8 bytes would have cost the same.
static_assert(sizeof(task_header) <= 88, "the task header grew: see its private section");

// ---- inline hot paths ----

inline void task_header::yield(wake_node* node) noexcept {
  assert((reinterpret_cast<std::uintptr_t>(node) & ~stack_mask) == 0);
  // Queued again from now (file comment). The runner of a task that can
  // yield is a runtime thread (a worker, a current_thread block_on),
  // whose state_tick is kept: no clock fallback (a runner driving nothing
  // would stamp an old tick: a dump's number only).
  const std::uintptr_t since = since_bits(state_tick);
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    assert((cur & running) != 0 && "yield() outside the task's run");
    // NOLINTNEXTLINE(performance-no-int-to-ptr): tagged pointer, flags in the low bits
    node->next = reinterpret_cast<wake_node*>(cur & stack_mask);
    const std::uintptr_t next =
        reinterpret_cast<std::uintptr_t>(node) | (cur & flag_mask) | notified | since;
    // Release: as in wake() (this thread runs the node, but purge() and
    // the next run read the stack through the word).
    if (run_state_.compare_exchange_weak(cur, next, std::memory_order_release,
                                         std::memory_order_relaxed)) {
      return;
    }
  }
}

inline void wake_node::prepare(std::coroutine_handle<> h) {
  task = current_task();
  if (task == nullptr) [[unlikely]] {
    throw_outside_task("kyoto: awaiting a kyoto operation");
  }
  handle = h;
}

inline void wake_node::wake() noexcept {
  if (task != nullptr) [[likely]] {
    task->wake(this);
  } else {
    wake_other(this);
  }
}

template <class Tick>
inline void task_header::wake_stamped(wake_node* node, Tick tick) noexcept {
  assert((reinterpret_cast<std::uintptr_t>(node) & ~stack_mask) == 0);
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    assert((cur & complete) == 0 && "a wake_node outlived its task");
    // NOLINTNEXTLINE(performance-no-int-to-ptr): tagged pointer, flags in the low bits
    node->next = reinterpret_cast<wake_node*>(cur & stack_mask);
    std::uintptr_t next = reinterpret_cast<std::uintptr_t>(node) | (cur & ~stack_mask);
    const bool submit = (cur & (running | notified)) == 0;
    // Idle -> NOTIFIED: queued from now (file comment).
    if (submit) {
      next = reinterpret_cast<std::uintptr_t>(node) | (cur & flag_mask) | notified |
             since_bits(tick());
    }
    // Release: publishes node->next and the node's fields to the runner's
    // acquire CAS in begin_run()/end_run(); as an RMW it also continues the
    // release sequence of the previous run's end_run().
    if (run_state_.compare_exchange_weak(cur, next, std::memory_order_release,
                                         std::memory_order_relaxed)) {
      // We moved the task from idle to NOTIFIED: nobody else will queue it,
      // and it cannot run (or be freed) until we do.
      if (submit) sched->schedule(this);
      return;
    }
  }
}

inline void task_header::wake(wake_node* node) noexcept {
  // A runtime thread stamps its tick (current_state_tick()); any other
  // thread reads the clock, out of line.
  if (current_context.drv == nullptr) [[unlikely]] {
    wake_from_outside(node);
    return;
  }
  wake_stamped(node, [] { return state_tick; });
}

}  // namespace kyoto::detail
