// The out-of-line half of the task state machine; the protocol is described
// in <kyoto/runtime/detail/task_header.hpp>.
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task_id.hpp>
#include <kyoto/time/clock.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/task_hooks.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>

#include <stdexcept>
#include <thread>

namespace kyoto::detail {

namespace {

/// The next block of ids to hand out (1024 at a time); ids start at 1.
atomic<std::uint64_t> task_id_blocks{0};

constexpr std::uint64_t task_id_block = 1024;

/// The calling thread's current block: [next, end).
struct task_id_range {
  std::uint64_t next = 0;
  std::uint64_t end = 0;
};
thread_local constinit task_id_range task_ids{};

}  // namespace

std::uint64_t next_task_id() noexcept {
  task_id_range& r = task_ids;
  if (r.next == r.end) [[unlikely]] {
    // Relaxed: only uniqueness matters, which the RMW alone gives.
    const std::uint64_t block = task_id_blocks.fetch_add(1, std::memory_order_relaxed);
    r.next = block * task_id_block + 1;
    r.end = r.next + task_id_block;
  }
  return r.next++;
}

std::uint32_t state_tick_from_clock() noexcept {
  return state_tick_at(kyoto::time::clock::now());
}

void call_spawn_hook(const task_hooks& hooks, const task_header& task) noexcept {
  call_task_hook(hooks.on_spawn, task);
}

void throw_no_current_task_id() {
  throw std::logic_error(
      "kyoto::task_id::current: not called from inside a runtime task "
      "(use try_current() where that can happen)");
}

namespace {

// The wake_node links here are not intrusive_list/intrusive_queue shapes:
// the ready stack is a lock-free (Treiber) stack packed with the state
// flags into run_state_, and a run's batch is that stack reversed, from
// which purge() unlinks in the middle through a pointer-to-link walk. Both
// stay hand-written.

wake_node* reverse(wake_node* n) noexcept {
  wake_node* out = nullptr;
  while (n != nullptr) {
    wake_node* next = n->next;
    n->next = out;
    out = n;
    n = next;
  }
  return out;
}

wake_node* stack_of(std::uintptr_t word) noexcept {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): tagged pointer, flags in the low bits
  return reinterpret_cast<wake_node*>(word & task_header::stack_mask);
}

/// Spins with a pause, then yields the CPU: for waits bounded by another
/// thread's few instructions that may be stretched by preemption.
template <class Done>
void spin_until(Done done) noexcept {
  for (int i = 0; !done(); ++i) {
    if (i < 64) {
      spin_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

void wake_node::prepare_thread() noexcept {
  task = nullptr;
  parker = &thread_parker::current();
}

void wake_node::wake_other(wake_node* n) noexcept {
  if (n->parker != nullptr) {
    n->parker->unpark();
  } else {
    auto* cb = static_cast<callback_node*>(n);
    cb->fn(cb);
  }
}

void task_header::throw_too_many_refs() {
  throw std::length_error("kyoto::abort_handle: too many handles to one task (2^20)");
}

void task_header::wake_from_outside(wake_node* node) noexcept {
  wake_stamped(node, [] { return state_tick_from_clock(); });
}

std::uintptr_t task_header::begin_run() noexcept {
  // Running from now (the file comment of task_header.hpp).
  const std::uintptr_t since = since_bits(current_state_tick());
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    // NOTIFIED: queued by a waker; RUNNING|NOTIFIED: queued by its own
    // yield (end_run() left it so).
    assert((cur & notified) != 0 && (cur & complete) == 0);
    const std::uintptr_t next = (cur & cancelled) | running | since;
    // Acquire: pairs with the release CAS of every wake() that pushed a
    // node (their fields become visible) and with the previous run's
    // end_run(), so this thread sees the frames as the last runner left them.
    if (run_state_.compare_exchange_weak(cur, next, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      return cur;
    }
  }
}

bool task_header::end_run() noexcept {
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  // It yielded (only this thread sets NOTIFIED while RUNNING): it stays
  // RUNNING|NOTIFIED and the caller queues it; wakes meanwhile only push.
  // The queue hands this run's writes to the next runner (its push is a
  // release, its pop or steal an acquire), as the CAS below would.
  if ((cur & notified) != 0) return true;
  for (;;) {
    const bool again = stack_of(cur) != nullptr || (cur & cancelled) != 0;
    // Re-queued: queued from now. Going idle: the since bits stay (an idle
    // task's time is its innermost frame's, await_point.hpp).
    const std::uintptr_t next =
        again ? ((cur & ~(running | since_mask)) | notified | since_bits(current_state_tick()))
              : (cur & ~running);
    // Release: publishes this run's writes to the frames to the next runner
    // (its acquire in begin_run(), possibly through a waker's CAS).
    // Acquire: if `again`, the nodes pushed meanwhile are taken by the next
    // run, which may be ours.
    if (run_state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
      return again;
    }
  }
}

bool task_header::run() noexcept {
  const std::uintptr_t taken = begin_run();
  context& ctx = current_context;
  task_header* const outer = ctx.task;
  wake_node* const outer_batch = ctx.batch;
  ctx.task = this;
  // A nested run (a task_local scope, unconstrained: detail/nested_run.hpp)
  // spends the budget of the run it is nested in, and answers
  // task_id::current() with its id.
  // The runtime's poll hooks (detail/task_hooks.hpp): top-level runs only.
  const task_hooks* hooks = nullptr;
  if (outer == nullptr) {
    ctx.budget = coop_budget;
    hooks = sched->hooks;
  } else {
    id_bits_ = outer->id();
  }
  if ((taken & cancelled) != 0) [[unlikely]] {
    cancel_running();
    ctx.task = outer;
    ctx.batch = outer_batch;
    return false;
  }
  if (hooks != nullptr) [[unlikely]]
    call_task_hook(hooks->on_before_poll, *this);
  if (!started_) {
    started_ = true;
    ctx.batch = nullptr;
    root_.resume();
  } else {
    // A purge() (an awaiter destroyed during this run) may unlink nodes from
    // the batch, so the loop re-reads it every time.
    ctx.batch = reverse(stack_of(taken));
    while (wake_node* n = ctx.batch) {
      ctx.batch = n->next;
      n->handle.resume();
    }
  }
  if (hooks != nullptr) [[unlikely]]
    call_task_hook(hooks->on_after_poll, *this);
  ctx.task = outer;
  ctx.batch = outer_batch;
  if (root_.done()) {
    vtable_->complete(this);
    finish();
    return false;
  }
  // Still RUNNING: once idle, only a live-task list can reach the task.
  if (!owned_linked) sched->track(this);
  return end_run();
}

task_header::dump_claim task_header::claim_for_dump(std::uint16_t& since) noexcept {
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    since = static_cast<std::uint16_t>(cur >> since_shift);
    if ((cur & complete) != 0) return dump_claim::complete;
    if ((cur & notified) != 0) return dump_claim::scheduled;
    if ((cur & running) != 0) return dump_claim::running;
    // Idle, so the ready stack is empty (a wake of an idle task sets
    // NOTIFIED). Acquire: pairs with the release CAS of the end_run() that
    // left it idle, so the frames read now are as that run left them.
    if (run_state_.compare_exchange_weak(cur, cur | running, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      return dump_claim::claimed;
    }
  }
}

void task_header::cancel_running() noexcept {
  // Nodes taken by begin_run() are dropped: their frames are destroyed now.
  current_context.batch = nullptr;
  vtable_->cancel(this);
  finish();
}

void task_header::shutdown() noexcept {
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    // Idle, queued, or queued by its own yield (RUNNING|NOTIFIED, see
    // end_run()): in every case nobody runs it now.
    assert((cur & complete) == 0 && ((cur & running) == 0 || (cur & notified) != 0));
    // Seq_cst: our half of the Dekker with abort() (pin, then CAS; here CAS,
    // then read the pins): one of us sees the other. Also acquire, as in
    // begin_run(): the frames are about to be destroyed here.
    if (run_state_.compare_exchange_weak(cur, running | cancelled, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
      break;
    }
  }
  // An abort() that set NOTIFIED before our CAS may still be submitting to
  // the scheduler: wait until it is out. Acquire, not seq_cst: such an
  // abort()'s CAS precedes ours in run_state_'s modification order (both
  // are RMWs), so ours reads from its release sequence and its pin,
  // sequenced before that CAS, happens before this load, which therefore
  // sees the pin or the unpin; acquire pairs with the unpin's release.
  spin_until([&] { return (join_state_.load(std::memory_order_acquire) & pin_mask) == 0; });
  context& ctx = current_context;
  task_header* const outer = ctx.task;
  wake_node* const outer_batch = ctx.batch;
  ctx.task = this;
  cancel_running();
  ctx.task = outer;
  ctx.batch = outer_batch;
}

void task_header::finish() noexcept {
  // Before COMPLETE: whoever sees the outcome also sees the hook's effects.
  if (sched->hooks != nullptr) [[unlikely]]
    call_task_hook(sched->hooks->on_terminate, *this);
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    assert((cur & running) != 0 && stack_of(cur) == nullptr);
    // Relaxed: COMPLETE here only stops later wakes and aborts; the result
    // is published by the join_state_ fetch_or below.
    if (run_state_.compare_exchange_weak(cur, (cur & cancelled) | complete,
                                         std::memory_order_relaxed, std::memory_order_relaxed)) {
      break;
    }
  }
  // Release: publishes the result slot to the join_handle (acquire in
  // is_complete() / set_join_waker()). Acquire: if JOIN_WAKER is set, makes
  // join_node_ visible (release CAS in set_join_waker()).
  const std::uint32_t prev = join_state_.fetch_or(join_complete, std::memory_order_acq_rel);
  if ((prev & join_interest) == 0) {
    if (vtable_->failed(this)) vtable_->log_unobserved(this);
  } else if ((prev & join_waker) != 0) {
    join_node_->wake();
    // Release: tells unset_join_waker() (acquire spin) that the wake above
    // is over and the awaiter's node is no longer ours.
    join_state_.fetch_and(~join_waker, std::memory_order_release);
  }
  sched->release(this);
}

void task_header::abort() noexcept {
  // Seq_cst: the pin is our half of the Dekker with shutdown() (see the
  // header's file comment); shutdown then waits for the unpin below. A CAS,
  // not a fetch_add: with every pin taken (255 threads inside abort() at
  // once) we wait for one to leave rather than carry into the refs.
  std::uint32_t pins = join_state_.load(std::memory_order_relaxed);
  for (int i = 0;; ++i) {
    if ((pins & pin_mask) == pin_mask) {
      if (i < 64) {
        spin_pause();
      } else {
        std::this_thread::yield();
      }
      pins = join_state_.load(std::memory_order_relaxed);
      continue;
    }
    if (join_state_.compare_exchange_weak(pins, pins + pin_one, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
      break;
    }
  }
  // Relaxed: only a first guess for the CAS below. Deciding to stop on a
  // stale value is safe (COMPLETE and CANCELLED are never unset); deciding
  // to submit is made by the successful CAS, which reads the latest value.
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((cur & (complete | cancelled)) != 0) break;
    std::uintptr_t next = cur | cancelled;
    const bool submit = (cur & (running | notified)) == 0;
    if (submit) next = (next & ~since_mask) | notified | since_bits(current_state_tick());
    // Seq_cst: see the pin above; also release, as in wake(): the runner's
    // acquire sees CANCELLED. Relaxed on failure: as the load above.
    if (run_state_.compare_exchange_weak(cur, next, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
      if (submit) sched->schedule(this);
      break;
    }
  }
  // Release: our use of the scheduler happens before shutdown() proceeds.
  join_state_.fetch_sub(pin_one, std::memory_order_release);
}

void task_header::purge(wake_node* node) noexcept {
  assert((run_state_.load(std::memory_order_relaxed) & running) != 0);
  assert(current_context.task == this && "purge() runs in the task's own run");
  for (wake_node** p = &current_context.batch; *p != nullptr; p = &(*p)->next) {
    if (*p == node) {
      *p = node->next;
      return;
    }
  }
  // Not in this run's batch: it is on the ready stack. Take the stack (only
  // the runner takes; wakers only push), drop the node, push the rest back.
  std::uintptr_t cur = run_state_.load(std::memory_order_relaxed);
  // An empty stack cannot hold it: its push happened before this call (the
  // caller synchronised with the waker), so this load sees it or a later
  // take, which only this thread makes. Relaxed: nothing is read through it.
  // (A public waker's node may also have been resumed already: it is then
  // in neither place, waker_core.hpp.)
  if (stack_of(cur) == nullptr) return;
  // Acquire: pairs with the pushers' release CAS, as in begin_run().
  while (!run_state_.compare_exchange_weak(cur, cur & ~stack_mask, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
  }
  wake_node* rest = nullptr;
  wake_node* rest_tail = nullptr;
  for (wake_node* n = stack_of(cur); n != nullptr;) {
    wake_node* next = n->next;
    if (n != node) {
      n->next = nullptr;
      if (rest_tail != nullptr) {
        rest_tail->next = n;
      } else {
        rest = n;
      }
      rest_tail = n;
    }
    n = next;
  }
  if (rest == nullptr) return;
  cur = run_state_.load(std::memory_order_relaxed);
  for (;;) {
    rest_tail->next = stack_of(cur);
    // Release: republishes the nodes, as a wake() would.
    if (run_state_.compare_exchange_weak(
            cur, reinterpret_cast<std::uintptr_t>(rest) | (cur & ~stack_mask),
            std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
  }
}

bool task_header::set_join_waker(wake_node* node) {
  std::uint32_t cur = join_state_.load(std::memory_order_acquire);
  if ((cur & join_complete) != 0) return false;
  if ((cur & join_waker) != 0) {
    // Another coroutine awaits this handle right now (join(h, h), say):
    // join_node_ is theirs.
    throw std::logic_error("kyoto::join_handle: awaited by two coroutines at once");
  }
  // Exclusive: JOIN_WAKER is clear, so the completing thread does not read
  // join_node_ until our CAS below publishes it.
  join_node_ = node;
  for (;;) {
    if ((cur & join_complete) != 0) return false;
    // Release: publishes join_node_ and the node's fields to finish()'s
    // acquire fetch_or. Acquire (failure): if COMPLETE, the result is ours.
    if (join_state_.compare_exchange_weak(cur, cur | join_waker, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return true;
    }
  }
}

void task_header::unset_join_waker(wake_node* node) noexcept {
  std::uint32_t cur = join_state_.load(std::memory_order_acquire);
  while ((cur & join_complete) == 0) {
    // Acquire/release: we take join_node_ back before the task completes.
    if (join_state_.compare_exchange_weak(cur, cur & ~join_waker, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return;
    }
  }
  // The task completed while we were registered: finish() is waking (or has
  // woken) our node. Wait until it is done with it, then take the node off
  // our own task's ready stack. Acquire: pairs with finish()'s release
  // fetch_and.
  spin_until([&] { return (join_state_.load(std::memory_order_acquire) & join_waker) == 0; });
  if (node->task != nullptr) node->task->purge(node);
}

void task_header::wait_blocking() {
  wake_node node;
  node.prepare_thread();
  if (!set_join_waker(&node)) return;  // already complete
  while (!is_complete())
    node.parker->park();
  // finish() may still be inside node.wake(): wait until it is done with
  // our node. Acquire: pairs with finish()'s release fetch_and.
  spin_until([&] { return (join_state_.load(std::memory_order_acquire) & join_waker) == 0; });
}

void task_header::drop_join_handle(bool result_taken) noexcept {
  if (result_taken) {
    // Nothing left to report: clear JOIN_INTEREST (known set) and drop the
    // handle's reference in one RMW. Acq_rel: as in unref().
    const std::uint32_t prev =
        join_state_.fetch_sub(join_interest + ref_one, std::memory_order_acq_rel);
    if ((prev & ~(ref_one - 1)) == ref_one) vtable_->deallocate(this);
    return;
  }
  // Acquire: if COMPLETE, the result slot is visible. Whichever of us and
  // finish() comes second sees the other's bit and reports an exception
  // nobody will observe; we still hold our reference while reading.
  const std::uint32_t prev = join_state_.fetch_and(~join_interest, std::memory_order_acq_rel);
  if ((prev & join_complete) != 0 && vtable_->failed(this)) vtable_->log_unobserved(this);
  unref();
}

void task_header::unref() noexcept {
  // Acq_rel: the last owner must see every other owner's writes before it
  // frees the cell (the classic shared_ptr ordering).
  const std::uint32_t prev = join_state_.fetch_sub(ref_one, std::memory_order_acq_rel);
  if ((prev & ~(ref_one - 1)) == ref_one) {
    vtable_->deallocate(this);
  }
}

}  // namespace kyoto::detail
