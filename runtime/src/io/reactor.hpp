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
#pragma once

#include <kyoto/runtime/detail/config.hpp>

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace kyoto::detail {

class io_op;
struct op_args;
struct io_counters;  // metrics/stats.hpp

class reactor {
 public:
  /// Creates the ring on the calling thread and arms a read of `wake_fd`.
  /// Throws std::system_error if the ring cannot be created.
  explicit reactor(int wake_fd);
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

  /// Operations in flight other than the wake-up read.
  std::uint32_t in_flight() const noexcept { return in_flight_; }
  /// Calls `f(op)` for each operation in flight (the owner's thread, or
  /// the thread shutting the driver down once nothing reaps any more).
  template <class F>
  void for_each_in_flight(F f) const {
    for (io_op* op : live_)
      f(op);
  }
  /// The setup flags the kernel accepted (for logs and tests).
  unsigned flags() const noexcept { return flags_; }

  /// The io_uring features kyoto may use (KYOTO_URING_FEATURES); each one
  /// the kernel lacks falls back as on the oldest kernel it serves.
  static constexpr unsigned feature_defer_taskrun = 1;  ///< SINGLE_ISSUER | DEFER_TASKRUN (6.1)
  static constexpr unsigned feature_coop_taskrun = 2;   ///< COOP_TASKRUN (5.19)
  static constexpr unsigned feature_cancel_any = 4;     ///< IORING_ASYNC_CANCEL_ANY (5.19)
  static constexpr unsigned feature_all = 7;
  /// The mask, read once from KYOTO_URING_FEATURES: unset or "all" for
  /// every feature, "none" for none (behave as on Linux 5.11), or a comma
  /// list of defer_taskrun, coop_taskrun, cancel_any. Unknown names throw
  /// std::invalid_argument when the first ring is made.
  static unsigned allowed_features();

  /// Where start() and reap() count requests (metrics); set by the driver
  /// right after making the reactor.
  io_counters* counters = nullptr;

 private:
  void arm_wake();
  void reap();
  void cancel_each_in_flight();

  io_uring ring_{};
  unsigned flags_ = 0;
  int wake_fd_;
  std::uint64_t wake_buf_ = 0;  // the eventfd read lands here
  bool wake_armed_ = false;
  std::uint32_t in_flight_ = 0;
  /// The requests in flight (io_op::reactor_slot indexes it): what a drain
  /// cancels one by one where the kernel refuses IORING_ASYNC_CANCEL_ANY.
  std::vector<io_op*> live_;
  bool cancel_any_ = true;    ///< allowed, and not refused by the kernel yet
  bool ring_closed_ = false;  ///< close_ring() ran
  atomic<std::uint64_t> reap_seq_{0};
};

}  // namespace kyoto::detail
