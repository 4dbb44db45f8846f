#include "driver.hpp"
#include "io/backoff.hpp"
#include "sim/hooks.hpp"

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/context.hpp>

#include <cerrno>
#include <chrono>

namespace kyoto::detail {

void io_op::start(const op_args& args, std::coroutine_handle<> h) {
  driver* d = current_context.drv;
  if (d == nullptr) [[unlikely]] {
    throw_outside_task(request_name(args.opcode));
  }
  node_.prepare(h);
  owner_ = d;
  opcode_ = args.opcode;
  // Relaxed: only this thread reads the state until the SQE is submitted
  // (at the next poll or park of this thread), and the kernel's CQE is
  // reaped by this thread too.
  state_.store(in_flight, std::memory_order_relaxed);
  try {
    if (is_sim_fd(args.fd)) [[unlikely]] {
      sim_start_op(this, args);  // a kyoto::sim socket (sim/hooks.hpp)
    } else {
      d->start_op(this, args);
    }
  } catch (...) {
    state_.store(idle, std::memory_order_relaxed);
    throw;
  }
}

void io_op::complete(int result, std::uint32_t flags) noexcept {
  result_ = result;
  cqe_flags_ = flags;
  std::uint8_t s = in_flight;
  // Acq_rel: releases result_ (and the reap sequence's odd value) to a
  // cancel() that fails its CAS on `completing`; acquires nothing we need.
  if (state_.compare_exchange_strong(s, completing, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    node_.wake();  // the last touch: the task may resume and free us
    return;
  }
  // `cancelling`: the waiter is being destroyed and waits for this store.
  // Release: pairs with cancel_slow()'s acquire load; after it the kernel
  // and we are done with the op's memory.
  state_.store(done, std::memory_order_release);
}

int io_op::cancel_slow() noexcept {
  std::uint8_t s = in_flight;
  // Acq_rel: on success, orders our later reads of result_ after the
  // owner's done store (via the acquire loads below); on failure
  // (acquire), sees result_ and the reap sequence of the completing batch.
  if (state_.compare_exchange_strong(s, cancelling, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    if (sim_cancel_op(this)) [[unlikely]] {  // it waited in a kyoto::sim network
      result_ = -ECANCELED;
      state_.store(idle, std::memory_order_relaxed);
      return result_;
    }
    driver* me = current_context.drv;
    if (me == owner_ && owner_->on_driver_thread()) {
      if (owner_->abandoned()) {
        // The drain gave up on this request (driver::drain()): waiting
        // would hang the shutdown. Left to the ring's teardown. Its task
        // is kept (driver::held(): never cancelled, its frame never
        // freed), so only a frame destroyed some other way gets here.
        result_ = -ECANCELED;
      } else {
        try {
          owner_->cancel_here(this);
          // Acquire: pairs with complete()'s release store of `done`.
          while (state_.load(std::memory_order_acquire) != done)
            owner_->wait_completion();
        } catch (...) {
          std::terminate();  // the ring failed: the kernel may still write our memory
        }
      }
    } else {
      // The readiness backend lets us cancel a parked request ourselves
      // unless the owner is in its reactor; otherwise, or if the request
      // is on the file pool, the owner cancels it (or it ends).
      // Acquire: pairs with complete()'s release store of `done`.
      if (!owner_->cancel_foreign(this) || state_.load(std::memory_order_acquire) != done) {
        owner_->post_cancel(this);
      }
      unsigned spins = 0;
      // The owner may be stuck in a task and not answer its wake-up: then
      // reap its ring ourselves and, every assist_delay, signal it to
      // submit our cancel and post the completions (driver.hpp, "Assists").
      auto nudge_at = std::chrono::steady_clock::now() + driver::assist_delay;
      // Acquire (both): pairs with complete()'s `done` store and with
      // process_cancels()' release store of cancel_queued.
      while (state_.load(std::memory_order_acquire) != done ||
             cancel_queued.load(std::memory_order_acquire)) {
        if (owner_->abandoned()) {
          // See driver::drain(): the request is left to the ring's teardown
          // and reports nothing.
          result_ = -ECANCELED;
          break;
        }
        // Drive our own ring meanwhile: its owner may be waiting for us.
        if (me != nullptr && me->on_driver_thread()) {
          try {
            me->service();
          } catch (...) {
            std::terminate();
          }
        }
        // Not before the owner had a chance to answer (64 spins): reaping
        // contends for its reap lock.
        if (spins >= 64 && owner_->reap_foreign() == 0) {
          const auto now = std::chrono::steady_clock::now();
          if (now >= nudge_at) {
            owner_->assist();
            nudge_at = now + driver::assist_delay;
          }
        }
        relax(spins);
      }
    }
    state_.store(idle, std::memory_order_relaxed);
    return result_;
  }
  if (s == idle) return no_request;
  // `completing`: the CQE won. Its wake may still be running on the thread
  // that reaped it (the owner, or a foreign reaper: driver.hpp, "Assists");
  // once that reap batch has ended it is over (reactor.hpp). Unless the
  // batch is our own: the owner, nested in its reap.
  if (!(owner_->on_driver_thread() && owner_->owner_reaping())) {
    // Acquire: pairs with the release store that ends the batch.
    const std::uint64_t seq = owner_->reap_seq().load(std::memory_order_acquire);
    if ((seq & 1) != 0) {
      unsigned spins = 0;
      while (owner_->reap_seq().load(std::memory_order_acquire) == seq)
        relax(spins);
    }
  }
  node_.task->purge(&node_);
  state_.store(idle, std::memory_order_relaxed);
  return result_;
}

}  // namespace kyoto::detail
