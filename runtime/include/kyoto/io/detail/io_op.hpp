// One io_uring request, embedded in the awaiter that waits for it.
//
// # The rule: the kernel's memory outlives the request
//
// A request hands the kernel pointers into the awaiting coroutine's frame
// (the buffer, the sockaddr, the op itself as user_data). The kernel may
// write through them until the request's CQE arrives, so an io_op is never
// destroyed while its request is in flight: cancelling it (its awaiter is
// destroyed by select, timeout, abort or shutdown) asks the kernel to cancel
// the request and *waits for the CQE* before returning. Only then may the
// frame, and the buffer in it, go.
//
// # Who does what
//
// start() fills an SQE on the calling thread's ring; that thread's driver is
// the op's *owner*. Only the owner's thread submits to its ring
// (SINGLE_ISSUER), cancel requests included; the CQE is reaped by the owner,
// or, while the owner is stuck in a long task, by another thread
// (reap_foreign(): the watchdog, a waiting canceller; src/driver.hpp,
// "Assists"). The awaiter may be destroyed on another thread (the task
// moved to another worker before it was cancelled); then cancel() posts the
// op on the owner's cancel queue, wakes the owner, and waits, driving its
// own ring meanwhile (two workers cancelling each other's requests both
// progress), reaping the owner's ring, and, if the owner does not answer
// within driver::assist_delay, signalling it to submit the cancel.
//
// # state_ (one byte; CAS transitions)
//
//   idle ─start()─▶ in_flight ─CQE─▶ completing ─(task resumes)─▶ idle
//                       │
//                       └─cancel()─▶ cancelling ─CQE─▶ done
//
//   in_flight → completing   the reaper: result_ is written first;
//                            then it wakes the node (the wake rule of
//                            task_header.hpp) and never touches the op
//                            again.
//   in_flight → cancelling   cancel(), on any thread: the waiter is going
//                            away; the CQE must not wake it.
//   cancelling → done        the reaper (release): the kernel is
//                            done with the op's memory.
//   completing → idle        await_resume, on the task's thread.
//
// cancel() that finds `completing` raced the CQE: the wake may still be in
// progress on the reaping thread, so it waits for that reap batch to end
// (the reactor's reap sequence, src/io/reactor.hpp) before taking the node
// back from the task's ready stack (purge).
#pragma once

#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <climits>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace kyoto::detail {

class driver;

/// The fields of one SQE (kept free of liburing so that public headers do
/// not include it). The reactor copies them into the ring; `user_data` is
/// the op.
struct op_args {
  std::uint8_t opcode = 0;     ///< IORING_OP_* (opcode.hpp)
  std::uint8_t sqe_flags = 0;  ///< IOSQE_*
  std::uint16_t ioprio = 0;    ///< per-opcode flags (e.g. IORING_RECVSEND_POLL_FIRST)
  std::int32_t fd = -1;
  std::uint64_t off = 0;  ///< offset, or addr2 (statx buffer, accept's addrlen)
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
  std::uint32_t op_flags = 0;  ///< msg_flags, open_flags, statx_flags, ...
  std::uint32_t file_index = 0;
};

/// The largest byte count one read or write request takes (Linux's
/// MAX_RW_COUNT, which also keeps the result an int); longer buffers are
/// served in several requests.
inline constexpr std::size_t max_rw_count = 0x7ffff000;

/// `op_args::len` for a buffer of `size` bytes: clamped to max_rw_count.
constexpr std::uint32_t rw_len(std::size_t size) noexcept {
  return static_cast<std::uint32_t>(size < max_rw_count ? size : max_rw_count);
}

/// A request in flight and its completion (see the file comment).
///
/// Thread safety: started, resumed and normally destroyed by the task that
/// owns the awaiter; complete() runs on the reaping thread; cancel() on any
/// thread that owns the task. Not movable while in flight.
class KYOTO_EXPORT io_op {
 public:
  io_op() noexcept = default;
  io_op(const io_op&) = delete;
  io_op& operator=(const io_op&) = delete;
  ~io_op() { cancel(); }

  /// Submits `args` on the calling thread's ring and records `h` as the
  /// coroutine to resume. Throws std::logic_error outside a runtime task,
  /// std::system_error if the ring refuses the submission.
  void start(const op_args& args, std::coroutine_handle<> h);

  /// The request's result, once resumed: >= 0 on success, -errno on
  /// failure (what the CQE's `res` said). Marks the op idle again.
  int take_result() noexcept {
    state_.store(idle, std::memory_order_relaxed);  // resumed: ours alone
    return result_;
  }
  /// The CQE's flags (IORING_CQE_F_*), once resumed.
  std::uint32_t cqe_flags() const noexcept { return cqe_flags_; }

  /// Whether a request is outstanding or its wake not yet consumed.
  bool busy() const noexcept { return state_.load(std::memory_order_relaxed) != idle; }

  /// What cancel() returns when no request was outstanding.
  static constexpr int no_request = INT_MIN;

  /// If a request is outstanding, cancels it and waits until the kernel is
  /// done with it; if it completed but the task never resumed, takes the
  /// wake back. Returns the request's result (-ECANCELED when the cancel
  /// won, the operation's own result when it completed first), or
  /// `no_request`. Never throws.
  int cancel() noexcept;

  // ---- the reactor's side ----

  /// The CQE for this op arrived (the reaping thread: the owner's, or a
  /// foreign reaper holding the owner's reap lock).
  void complete(int result, std::uint32_t flags) noexcept;

  /// The opcode, for the fault-injection seam.
  std::uint8_t opcode() const noexcept { return opcode_; }
  /// The task whose frame holds the op (and the request's buffers), while
  /// in flight: what an abandoning drain keeps alive (driver::held()).
  task_header* task() const noexcept { return node_.task; }

  /// Link in the owner's cancel queue (driver.hpp).
  io_op* next_cancel = nullptr;
  /// Set while the op sits in the owner's cancel queue; the owner clears
  /// it (release) once it no longer reads the op.
  atomic<bool> cancel_queued{false};

 private:
  static constexpr std::uint8_t idle = 0;
  static constexpr std::uint8_t in_flight = 1;
  static constexpr std::uint8_t completing = 2;
  static constexpr std::uint8_t cancelling = 3;
  static constexpr std::uint8_t done = 4;

  int cancel_slow() noexcept;

  wake_node node_;
  driver* owner_ = nullptr;
  int result_ = 0;
  std::uint32_t cqe_flags_ = 0;
  atomic<std::uint8_t> state_{idle};
  std::uint8_t opcode_ = 0;

 public:
  /// The op's index in its reactor's list of requests in flight (the
  /// owner's thread only; lives in what was padding).
  std::uint32_t reactor_slot = 0;
};

inline int io_op::cancel() noexcept {
  // Relaxed: `idle` is only ever stored by the thread that owns the task
  // (start() failing, take_result(), the end of cancel_slow()); a thread
  // that later cancels on another worker got the task through the
  // scheduler's hand-off (a run queue's release/acquire, a steal), which
  // orders that store before this load. Any other value goes through
  // cancel_slow()'s acq_rel CAS.
  if (state_.load(std::memory_order_relaxed) == idle) return no_request;
  return cancel_slow();
}

/// Awaits one request and gives its raw result (>= 0, or -errno): the
/// building block of every kyoto I/O operation. Movable until awaited.
///
/// Cancel safety: destroying it while suspended cancels the request and
/// waits for the kernel to release its memory; what the request did before
/// the cancel took effect (bytes read or written) is lost unless the owner
/// of the awaiter keeps it (see tcp_stream's read).
class op_awaiter {
 public:
  explicit op_awaiter(const op_args& args) noexcept : args_(args) {}
  op_awaiter(op_awaiter&& o) noexcept : args_(o.args_) {}
  op_awaiter& operator=(op_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { op_.start(args_, h); }
  int await_resume() noexcept { return op_.take_result(); }

  /// For awaiters built on this one: cancel and get what happened (see
  /// io_op::cancel()).
  int cancel() noexcept { return op_.cancel(); }
  op_args& args() noexcept { return args_; }

  /// For task dumps: the request and its file descriptor.
  void describe(wait_description& d) const noexcept {
    switch (args_.opcode) {
      case opcode::recv:
      case opcode::read:
      case opcode::recvmsg:
        d.what = "read";
        break;
      case opcode::send:
      case opcode::write:
      case opcode::sendmsg:
        d.what = "write";
        break;
      case opcode::accept:
        d.what = "accept";
        break;
      case opcode::connect:
        d.what = "connect";
        break;
      default:
        d.what = "io_uring request";
    }
    d.detail = wait_detail::fd;
    d.value = args_.fd;
  }

 private:
  op_args args_;
  io_op op_;
};

/// Replaces completion results in a test build: called on the reaping
/// thread for every io_op CQE with the op's opcode and the kernel's result;
/// returns the result the op sees. Null (the default) disables it.
using fault_injector = int (*)(std::uint8_t opcode, int result) noexcept;

/// Installs (or, with null, removes) the process-wide fault injector. For
/// tests; any thread; takes effect for completions reaped afterwards.
KYOTO_EXPORT void set_fault_injector(fault_injector f) noexcept;

/// Makes every later shutdown's drain send no cancel requests, as if the
/// kernel could cancel none of the requests in flight, so that the drain's
/// bound (driver::drain_bound) is reached. For tests; any thread, before
/// the runtimes it concerns shut down.
KYOTO_EXPORT void set_drain_skips_cancels(bool skip) noexcept;

}  // namespace kyoto::detail
