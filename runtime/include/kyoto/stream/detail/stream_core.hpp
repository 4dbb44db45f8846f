// The engine of kyoto::stream<T>: a producer coroutine run inline on its
// consumer's task, that can be left suspended between next() calls.
//
// # Why a nested task owned by the stream
//
// kyoto does not poll: a wake resumes the suspended coroutine directly
// (task_header.hpp). A producer that awaits a channel registers a
// wake_node; if that node named the consumer's task, the wake would resume
// the producer whenever the send happens — also after the next() that was
// waiting for it lost a select or timed out, in the middle of whatever the
// consumer does next. So the producer runs as a *nested task* of the
// consumer's task (the idea of nested_run.hpp): `stream_cell` is a
// task_header whose root is the producer coroutine, so every wake_node
// prepared inside the producer names the cell, and the producer's
// coroutines are only ever resumed by `stream_cell::run()`, called by the
// stream's consumer. Unlike a nested run, the cell is owned by the stream
// (`stream_core`, one pooled allocation), not by one await: it outlives
// each next() call, and between calls it is simply not run.
//
// # The link: how a wake of the producer reaches the consumer
//
// The cell's scheduler is `stream_scheduler`: "queue this task" (which a
// wake does on the cell's idle -> NOTIFIED transition) calls
// `stream_core_base::on_schedule()`, which looks at `link_`:
//
//   detached  no next() is waiting. The wake only records the fact:
//             detached -> runnable. Nothing of the consumer is touched.
//   runnable  no next() is waiting and the cell is NOTIFIED (a wake came
//             while detached, or the producer yielded an item or itself):
//             the next next() runs it. on_schedule() never sees this
//             state (the cell is NOTIFIED: no idle -> NOTIFIED wake).
//   attached  a next() is suspended; `outer_node` (prepared by it, its
//             handle the stream's *pump* coroutine, its task the
//             consumer's task) must be woken: attached -> waking,
//             outer_node.wake(), waking -> woken.
//   waking    on_schedule() is inside outer_node.wake(). The pump it
//             queued may already run on another worker: its step() (like
//             detach()) waits for `woken` before it writes link_.
//   woken     outer_node is on the consumer task's ready stack or batch:
//             the pump will run the cell, or the next() will be
//             cancelled and purge it.
//
// The consumer side, all on the consumer's task's thread, inside its run:
//
// - step() (from next()'s await_suspend, or from the pump when
//   outer_node resumes it): if the cell is complete, done. If `link_` is
//   detached (the producer waits on something), prepare outer_node and CAS
//   detached -> attached: the next() suspends. If the CAS fails, a wake
//   made it runnable meanwhile. If runnable (or woken, in the pump): set
//   detached and run the cell once. Then: complete, or the producer
//   co_yielded (it parked itself RUNNING|NOTIFIED with `resume_node` on
//   the cell's stack: set runnable): the item is ready. Run again (woken
//   while running, or it yielded the budget): yield the consumer's task
//   with outer_node (woken), so others run first, as nested_step does.
//   Idle: loop, to attach.
// - detach() (a suspended next() destroyed: lost a select, timed out,
//   its task aborted): attached -> detached by CAS; or wait out `waking`;
//   or, if woken, purge outer_node from the consumer's task (by the wake
//   rule: the node was pushed inside on_schedule(), which the spin waited
//   for) and set runnable, since the cell is NOTIFIED and nobody will
//   queue it again. After detach() nothing of the producer can resume
//   anything of the consumer; the producer stays where it was, and a later
//   wake only makes it runnable: the value it receives is the next item.
//
// So the wake rule holds through both levels: a primitive wakes the inner
// node under its lock; the inner awaiter's destructor takes that lock; and
// on_schedule() finishes waking outer_node before detach() can proceed.
//
// The cell never RUNS outside step(), and step() runs inside the
// consumer's task's run, so producer and consumer frames are touched by
// one thread at a time, ordered by the consumer task's run_state_ (the
// stream may move between tasks between next() calls: each attach
// prepares outer_node anew, which is safe because it is then unpublished).
//
// # Cost
//
// A body that yields without suspending on anything (a generator over a
// range, an adapter over such a stream) never touches the link or the
// pump: next() is one run of the cell from await_suspend (begin_run's CAS,
// the co_yield's push, no CAS at end_run) and returns without suspending
// the consumer, so the stack is back where it was after every item. The
// pump is created at the first suspension only.
//
// Destroying the stream shuts the cell down (task_header::shutdown(): the
// producer's frames are destroyed with the cell as the current task, so
// its awaiters unregister and purge their nodes from the cell); no next()
// may be suspended then. The cell holds a join interest and never drops
// its references, so finish() neither logs nor frees it.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace kyoto::detail {

class stream_core_base;

/// The stream's pump: a coroutine that outer_node resumes in the
/// consumer's task; it runs one step() and, when the item is ready,
/// transfers to the waiting next(). Lives as long as the core.
class stream_pump {
 public:
  struct promise_type : pooled_frame {
    stream_pump get_return_object() noexcept {
      return stream_pump(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    /// The pump's steps are noexcept.
    void unhandled_exception() const noexcept { std::terminate(); }
  };

  /// The created (suspended) coroutine.
  std::coroutine_handle<> handle() const noexcept { return h_; }

 private:
  explicit stream_pump(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

/// The nested task that runs a stream's producer; see the file comment.
class stream_cell final : public task_header {
 public:
  stream_cell(stream_core_base* owner, std::coroutine_handle<> producer) noexcept;

  /// The core holding this cell. Set once.
  stream_core_base* const owner;

 private:
  static void complete(task_header* h) noexcept {
    auto* self = static_cast<stream_cell*>(h);
    // The producer is at its final suspend: its locals are gone already.
    self->root_.destroy();
    self->root_ = {};
  }
  static void cancel(task_header* h) noexcept {
    auto* self = static_cast<stream_cell*>(h);
    if (self->root_) self->root_.destroy();
    self->root_ = {};
  }
  // The producer's exception is kept by the core, never by the cell.
  static bool failed(const task_header*) noexcept { return false; }
  static void log_unobserved(const task_header*) noexcept {}
  static void deallocate(task_header*) noexcept {}  // owned by the core

  static constexpr task_vtable vtable{&complete, &cancel, &failed, &log_unobserved, &deallocate};
};

/// The type-erased state of a stream: the cell, the link to the consumer
/// and the pump. See the file comment.
class stream_core_base : public pooled_frame {
 public:
  /// What step() found.
  enum class step_result : unsigned char {
    ready,      ///< an item, the end or the producer's exception is there
    suspended,  ///< the consumer must wait; the pump will finish the step
  };

  // link_ states; see the file comment.
  static constexpr std::uint8_t detached = 0;  ///< nobody waits; producer waits
  static constexpr std::uint8_t runnable = 1;  ///< nobody waits; cell NOTIFIED
  static constexpr std::uint8_t attached = 2;  ///< a next() waits on outer_node
  static constexpr std::uint8_t waking = 3;    ///< on_schedule() is waking outer_node
  static constexpr std::uint8_t woken = 4;     ///< outer_node is queued on the consumer

  explicit stream_core_base(std::coroutine_handle<> producer) noexcept : cell_(this, producer) {}
  stream_core_base(const stream_core_base&) = delete;
  stream_core_base& operator=(const stream_core_base&) = delete;
  /// Cancels an unfinished producer (its destructors run here) and frees
  /// the pump. No next() may be suspended.
  ~stream_core_base();

  /// Runs the producer until it has an item, ends or throws (ready), or
  /// waits on something with no item (suspended: the pump, resumed by a
  /// wake, finishes the step and transfers to `consumer_`). Consumer's
  /// task only; no other step() or suspended next() in progress.
  step_result step();

  /// A suspended next() goes away: unlinks the consumer; see the file
  /// comment. Consumer's task only.
  void detach() noexcept;

  /// The cell went idle -> NOTIFIED (a wake): stream_scheduler. Any thread,
  /// inside the waker's synchronisation.
  void on_schedule() noexcept;

  /// The producer co_yields: parks the cell RUNNING|NOTIFIED with the
  /// producer's node on its stack. The producer's thread, in step().
  void park_yield(std::coroutine_handle<> producer) noexcept {
    assert(current_task() == &cell_ && "co_yield outside the stream's own run");
    resume_node_.handle = producer;
    resume_node_.task = &cell_;
    has_item_ = true;
    cell_.yield(&resume_node_);
  }

  /// The producer threw: kept for next() to rethrow.
  void set_exception(std::exception_ptr e) noexcept { exception_ = std::move(e); }

  /// Whether a consumer is linked (attached, waking or woken): a step()
  /// that suspended and has not finished. Consumer's task only.
  bool linked() const noexcept {
    const std::uint8_t s = link_.load(std::memory_order_relaxed);
    return s == attached || s == waking || s == woken;
  }

  /// Whether the producer has finished (returned, thrown or cancelled).
  bool complete() const noexcept { return cell_.is_complete(); }

  /// The coroutine that awaits next(); set by next() before step().
  std::coroutine_handle<> consumer_;

 protected:
  /// Rethrows the producer's exception once, if there is one.
  void rethrow_once() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
  }

 private:
  void prepare_outer();

  /// The nested task running the producer.
  stream_cell cell_;
  /// Resumes the pump in the consumer's task. Prepared by step() only
  /// while unpublished (detached, runnable, or being resumed); read by
  /// on_schedule() after its acquire CAS.
  wake_node outer_node_;
  /// The producer's node while it is parked at a co_yield (the cell's
  /// stack holds it). Consumer's thread only.
  wake_node resume_node_;
  /// The pump coroutine; made at the first suspension. Consumer's thread.
  std::coroutine_handle<> pump_;
  /// The producer's exception until next() rethrows it.
  std::exception_ptr exception_;
  /// Written by the consumer (step, detach) and by on_schedule() (any
  /// thread); see the file comment for the states.
  atomic<std::uint8_t> link_{runnable};  // a new cell is NOTIFIED: the first next() starts it
  /// Set by a co_yield during step()'s run. Consumer's thread only.
  bool has_item_ = false;
};

/// The scheduler of every stream cell: queuing one calls on_schedule().
/// Only schedule(), track() and release() are reached (by the cell's own
/// wakes and runs).
class stream_scheduler final : public scheduler {
 public:
  void spawn(task_header*) noexcept override { assert(false && "a stream cell is never spawned"); }
  void schedule(task_header* t) noexcept override;
  void track(task_header*) noexcept override {}
  void release(task_header*) noexcept override {}
  void begin_block_on() override {
    throw std::logic_error("kyoto: block_on through a stream (unreachable)");
  }
  void block_on(task_header*) override {}
  void end_block_on() noexcept override {}
  void shutdown() noexcept override {}
};

/// The one instance; stateless.
inline stream_scheduler stream_scheduler_instance;

inline stream_cell::stream_cell(stream_core_base* owner_core,
                                std::coroutine_handle<> producer) noexcept
    : task_header(&vtable, producer), owner(owner_core) {
  this->sched = &stream_scheduler_instance;
}

/// The typed state: the item slot.
template <class T>
class stream_core final : public stream_core_base {
 public:
  using stream_core_base::stream_core_base;

  /// The item set by the last co_yield. Producer writes (in step()),
  /// consumer takes; never both at once.
  std::optional<T> item_;

  /// What next() gives: the item, the producer's exception (once), or
  /// nullopt at the end.
  std::optional<T> take() {
    if (item_.has_value()) {
      std::optional<T> out(std::move(item_));
      item_.reset();
      return out;
    }
    rethrow_once();
    return std::nullopt;
  }
};

// ---- out of line, header-only ----

inline stream_pump run_stream_pump(stream_core_base* core);

struct pump_awaiter {
  stream_core_base* core;
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
    // step() throws only while attaching from next() (outside a task, or
    // the pump's allocation); here the pump exists and we are in a task.
    stream_core_base::step_result r{};
    try {
      r = core->step();
    } catch (...) {
      std::terminate();
    }
    if (r == stream_core_base::step_result::ready) return core->consumer_;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

inline stream_pump run_stream_pump(stream_core_base* core) {
  for (;;)
    co_await pump_awaiter{core};
}

inline stream_core_base::~stream_core_base() {
  assert(link_.load(std::memory_order_relaxed) != attached &&
         "a stream destroyed while a next() on it is suspended");
  if (!cell_.is_complete()) cell_.shutdown();
  if (pump_) pump_.destroy();
}

inline void stream_core_base::prepare_outer() {
  if (!pump_) pump_ = run_stream_pump(this).handle();
  outer_node_.prepare(pump_);  // throws outside a task
}

inline stream_core_base::step_result stream_core_base::step() {
  for (;;) {
    if (cell_.is_complete()) return step_result::ready;
    std::uint8_t s = link_.load(std::memory_order_acquire);
    while (s == waking) {
      // Only the pump gets here: outer_node_.wake() has queued it and
      // another worker ran it before on_schedule() stored `woken`. Wait
      // that store out, as detach() does, or it would land after ours.
      spin_pause();
      // Acquire: pairs with the release store of `woken` in on_schedule().
      s = link_.load(std::memory_order_acquire);
    }
    assert(s != attached && "two next() on one stream at once");
    if (s == detached) {
      prepare_outer();
      // Release: publishes outer_node_ to on_schedule()'s acquire CAS.
      // Acquire (failure): a wake made the cell runnable; its pushes are
      // read by the cell's own begin_run().
      if (link_.compare_exchange_strong(s, attached, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
        return step_result::suspended;
      }
      assert(s == runnable);
    }
    // The cell is NOTIFIED and nobody else will queue or run it: no
    // on_schedule() can run until it goes idle inside run() below.
    link_.store(detached, std::memory_order_relaxed);
    has_item_ = false;
    const bool again = cell_.run();
    if (cell_.is_complete()) return step_result::ready;
    if (has_item_) {
      // Parked RUNNING|NOTIFIED at the co_yield: no wake can queue it.
      link_.store(runnable, std::memory_order_relaxed);
      return step_result::ready;
    }
    if (again) {
      // Woken while running, or it yielded (the budget): let the
      // consumer's task's other work run first, then the pump continues.
      prepare_outer();
      link_.store(woken, std::memory_order_relaxed);
      outer_node_.task->yield(&outer_node_);
      return step_result::suspended;
    }
    // Idle: attach (or, if woken meanwhile, run again).
  }
}

inline void stream_core_base::detach() noexcept {
  std::uint8_t s = link_.load(std::memory_order_acquire);
  for (;;) {
    if (s == attached) {
      // Acq_rel: orders against on_schedule()'s CAS; after it no wake
      // touches outer_node_.
      if (link_.compare_exchange_weak(s, detached, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return;
      }
      continue;
    }
    if (s == waking) {
      spin_pause();
      // Acquire: pairs with the release store of `woken` in on_schedule().
      s = link_.load(std::memory_order_acquire);
      continue;
    }
    assert(s == woken);
    // The wake is over: take the node back from our task (the wake rule).
    outer_node_.task->purge(&outer_node_);
    link_.store(runnable, std::memory_order_relaxed);
    return;
  }
}

inline void stream_core_base::on_schedule() noexcept {
  // The cell just went idle -> NOTIFIED, so the consumer left link_
  // detached or attached (it wrote it before the run that ended idle). The
  // waker's CAS on the cell's run_state_ is a release only, so a plain load
  // here might see an older value: the CASes below read the latest one,
  // and the loop tries both until one matches.
  for (;;) {
    std::uint8_t s = attached;
    // Acquire: pairs with step()'s release CAS (outer_node_ is prepared).
    if (link_.compare_exchange_strong(s, waking, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      break;
    }
    s = detached;
    // Relaxed: the cell's run_state_ carries the wake's data to the runner.
    if (link_.compare_exchange_strong(s, runnable, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
      return;
    }
    spin_pause();
  }
  outer_node_.wake();
  // Release: tells detach() (acquire spin) that the wake is over.
  link_.store(woken, std::memory_order_release);
}

inline void stream_scheduler::schedule(task_header* t) noexcept {
  static_cast<stream_cell*>(t)->owner->on_schedule();
}

}  // namespace kyoto::detail
