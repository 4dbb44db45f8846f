// The io_uring reactor: one ring per runtime thread.
//
// The interface says what blocks (Seastar's reactor_backend):
//   submit()  never blocks: hands queued SQEs to the kernel.
//   poll()    never blocks: submits, then reaps whatever completed.
//   wait(t)   blocks until a completion arrives, the wake-up eventfd is
//             written (by unpark(), from any thread) or `t` passes.
//
// The ring is created with SINGLE_ISSUER|DEFER_TASKRUN when the kernel has
// them (bench/limits: ~9% faster echo), so every call must come from the
// thread that created it. A CQE's user_data is the io_op that submitted it
// (kyoto/io/detail/io_op.hpp), or one of two tags: the wake-up read (the
// reactor's own) and cancel requests (whose results are not needed).
//
// Reaping is re-entrant: CQEs are copied out and consumed before they are
// dispatched, so an io_op's completion may drive the ring again (a cancel
// that waits) without anyone seeing a CQE twice.
//
// The reap sequence (`reap_seq`) is odd while io_op completions are being
// dispatched and even between batches: a thread that finds an op in the
// `completing` state waits for the batch to end to know that its wake is
// over (io_op.hpp).
//
// # Foreign reaping (a busy owner's completions)
//
// Only the owner submits, but the completion queue is plain shared memory:
// another thread may consume it. reap_foreign() lets one do so while the
// owner runs a long task (the multi_thread watchdog, or a thread waiting
// for a cancel of one of the owner's requests; driver.hpp, "Assists"). What
// reaping touches — the CQ's head, `live_`, `in_flight_`, `wake_armed_`,
// `reap_seq_`, the completion counter — is guarded by `reap_lock_`:
//
//   free ──owner_lock()──▶ owner_held ──unlock──▶ free
//     └────try_reap_lock()──▶ foreign_held ──unlock──▶ free
//
// The owner holds it in start(), poll(), submit() and wait() — also while
// blocked in the kernel, so nobody reaps a parked owner's ring — and waits
// for a foreign holder (a batch: short). Only the owner stores owner_held,
// so finding it means "held by me" (nested: a completion that drives the
// ring again). A foreign reaper only ever try-locks, never arms the
// wake-up read (it would write an SQE) and dispatches its batch under the
// lock, so reap_seq_ keeps one writer at a time. Every write to the SQ is
// made under the owner's hold too, which tells the assist signal handler
// (assist_enter(), on the owner's thread) whether the code it interrupted
// may be filling an SQE. What it consumed, the
// owner has not seen: it sets `foreign_reaped_`, and the owner's next
// wait() does not block (the CQE it would wait for — its own cancel's, or
// the wake-up read's — may be gone) and re-arms the wake-up read.
//
// # The readiness backend
//
// Where io_uring is refused, or KYOTO_IO_BACKEND=epoll, the reactor has no
// ring: `ready_` (readiness.hpp: epoll and a file pool) serves the same
// requests and hands back the same completions, which reap_locked()
// dispatches as it does CQEs. Everything above holds, but for what has no
// ring: nothing is submitted, and the assist signal's cancels
// (driver.hpp) do not exist, so a cancel from another thread waits for the
// owner, as on a kernel without IORING_REGISTER_SYNC_CANCEL.
#pragma once

#include "io/readiness.hpp"

#include <kyoto/runtime/detail/config.hpp>

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace kyoto::detail {

class io_op;
struct op_args;
struct io_counters;  // metrics/stats.hpp

class reactor {
 public:
  /// Creates the ring on the calling thread and arms a read of `wake_fd`,
  /// or the readiness backend (choose_io_backend(requested)). Throws
  /// std::system_error if the ring cannot be created.
  reactor(int wake_fd, kyoto::io_backend requested);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// An SQE to fill, flushing the queue to the kernel first if it is full.
  io_uring_sqe* sqe();
  /// Submits queued SQEs. Never blocks.
  void submit();
  /// Submits, then reaps completed operations. Never blocks.
  void poll();
  /// Submits, then blocks until something completes or `timeout` passes.
  void wait(std::optional<std::chrono::nanoseconds> timeout);

  /// Fills an SQE for `op` (user_data = op). Submitted at the next
  /// submit(), poll() or wait().
  void start(io_op* op, const op_args& args);
  /// Queues a cancel request for `op` (matched by user_data).
  void cancel(io_op* op);
  /// Cancels every request in flight and reaps until none is left or
  /// `deadline` passes (shutdown); false if some are still in flight then
  /// (the kernel could not cancel them). Their ops complete (with
  /// -ECANCELED, usually) and wake.
  bool drain(std::chrono::steady_clock::time_point deadline);

  /// Closes the ring now (a drain that abandons requests, driver::drain()):
  /// the kernel cancels what it can, polled requests (sockets, pipes) at
  /// once, before their memory is freed. Nothing may submit, poll or wait
  /// afterwards. Any thread; idempotent.
  void close_ring() noexcept;

  /// Odd while io_op completions are dispatched (see the file comment).
  const atomic<std::uint64_t>& reap_seq() const noexcept { return reap_seq_; }
  /// Whether the calling thread is the owner inside one of its own reap
  /// batches (so that waiting for the batch to end would wait for itself).
  bool owner_reaping() const noexcept {
    // Relaxed: only the owner stores owner_held (file comment).
    return reap_lock_.load(std::memory_order_relaxed) == owner_held;
  }

  /// Reaps and dispatches the completions the kernel has posted, on a
  /// thread other than the owner's, if the owner is not reaping, waiting
  /// or starting a request right now (try-lock; see "Foreign reaping").
  /// The woken tasks are foreign wakes. Returns how many CQEs it consumed.
  /// Any thread, while the reactor exists.
  unsigned reap_foreign() noexcept;

  /// On the readiness backend, cancels `op` (started on this reactor) from
  /// a thread other than the owner's, if the owner is not in its reactor
  /// right now (the try-lock of reap_foreign()), and dispatches what that
  /// completed: a parked request is done on return. False, doing nothing,
  /// on io_uring (only the owner may submit a cancel there), if the lock
  /// is taken or the reactor is closed. Any thread.
  bool cancel_foreign(io_op* op) noexcept;

  /// The ring's file descriptor (the assist signal handler's cancels); -1
  /// on the readiness backend.
  int ring_fd() const noexcept { return ready_ ? -1 : ring_.ring_fd; }
  /// The backend this reactor runs on.
  io_backend_kind backend() const noexcept {
    return ready_ ? io_backend_kind::epoll : io_backend_kind::io_uring;
  }
  /// For the assist signal handler, on the owner's thread: whether the
  /// code it interrupted is in the ring (holds reap_lock_, and so may be
  /// filling an SQE). Async-signal-safe.
  bool owner_in_ring() const noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    // Relaxed, and no race: the handler runs on the owner's thread, which
    // cannot take or drop its hold while the handler looks.
    return reap_lock_.load(std::memory_order_relaxed) == owner_held;
  }
  /// The assist signal handler's entry into the ring, on the owner's
  /// thread (driver.hpp, "Assists"); async-signal-safe. With `submit`
  /// (only if !owner_in_ring()) it hands the queued SQEs to the kernel (a
  /// request started just before a long task sits in the SQ); always, it
  /// posts the deferred completions into the CQ.
  void assist_enter(bool submit) noexcept;

  /// Operations in flight other than the wake-up read. Any thread (a
  /// snapshot when read off the owner's thread).
  std::uint32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  /// Calls `f(op)` for each operation in flight (the owner's thread, or
  /// the thread shutting the driver down once nothing reaps any more).
  template <class F>
  void for_each_in_flight(F f) const {
    for (io_op* op : live_)
      f(op);
  }
  /// The setup flags the kernel accepted (for logs and tests); 0 on the
  /// readiness backend.
  unsigned flags() const noexcept { return flags_; }

  /// The io_uring features kyoto may use (KYOTO_URING_FEATURES); each one
  /// the kernel lacks falls back as on the oldest kernel it serves.
  static constexpr unsigned feature_defer_taskrun = 1;  ///< SINGLE_ISSUER | DEFER_TASKRUN (6.1)
  static constexpr unsigned feature_coop_taskrun = 2;   ///< COOP_TASKRUN (5.19)
  static constexpr unsigned feature_cancel_any = 4;     ///< IORING_ASYNC_CANCEL_ANY (5.19)
  static constexpr unsigned feature_sync_cancel = 8;    ///< IORING_REGISTER_SYNC_CANCEL (6.0)
  static constexpr unsigned feature_all = 15;
  /// The mask, read once from KYOTO_URING_FEATURES: unset or "all" for
  /// every feature, "none" for none (behave as on Linux 5.11), or a comma
  /// list of defer_taskrun, coop_taskrun, cancel_any, sync_cancel. Unknown names throw
  /// std::invalid_argument when the first ring is made.
  static unsigned allowed_features();

  /// Where start() and reap() count requests (metrics); set by the driver
  /// right after making the reactor.
  io_counters* counters = nullptr;

 private:
  static constexpr std::uint8_t lock_free = 0;
  static constexpr std::uint8_t owner_held = 1;
  static constexpr std::uint8_t foreign_held = 2;
  /// Holds reap_lock_ for the owner for a scope (nothing if already held
  /// by it: nested).
  class owner_hold {
   public:
    explicit owner_hold(reactor& r) noexcept;
    ~owner_hold();
    owner_hold(const owner_hold&) = delete;
    owner_hold& operator=(const owner_hold&) = delete;

   private:
    reactor& r_;
    bool took_;
  };

  void arm_wake();
  void reap();
  /// CQEs reaped at a time (copied out onto the stack).
  static constexpr unsigned reap_batch = 64;
  /// Consumes and dispatches up to reap_batch CQEs (reap_lock_ held);
  /// returns how many.
  unsigned reap_locked();
  /// Dispatches `n` completions taken off the CQ or the readiness backend
  /// (reap_lock_ held).
  void dispatch(const completion* got, unsigned n);
  /// reap_locked() until the CQ is empty; returns how many in all.
  unsigned reap_all();
  void cancel_each_in_flight();

  io_uring ring_{};
  unsigned flags_ = 0;
  int wake_fd_;
  std::uint64_t wake_buf_ = 0;  // the eventfd read lands here
  bool wake_armed_ = false;
  /// Written under reap_lock_; read anywhere (in_flight()).
  atomic<std::uint32_t> in_flight_{0};
  /// See "Foreign reaping" (reap_lock_ guards it).
  bool foreign_reaped_ = false;
  atomic<std::uint8_t> reap_lock_{lock_free};
  /// The requests in flight (io_op::reactor_slot indexes it): what a drain
  /// cancels one by one where the kernel refuses IORING_ASYNC_CANCEL_ANY.
  std::vector<io_op*> live_;
  bool cancel_any_ = true;    ///< allowed, and not refused by the kernel yet
  bool ring_closed_ = false;  ///< close_ring() ran
  atomic<std::uint64_t> reap_seq_{0};
  /// The readiness backend, or null (io_uring; see the file comment).
  std::unique_ptr<readiness> ready_;
};

}  // namespace kyoto::detail
