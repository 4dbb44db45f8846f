#include "io/reactor.hpp"

#include "io/backoff.hpp"
#include "io/uring_support.hpp"
#include "log.hpp"
#include "metrics/stats.hpp"

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace kyoto::detail {

namespace {

static_assert(opcode::fsync == IORING_OP_FSYNC && opcode::sendmsg == IORING_OP_SENDMSG &&
                  opcode::recvmsg == IORING_OP_RECVMSG && opcode::accept == IORING_OP_ACCEPT &&
                  opcode::connect == IORING_OP_CONNECT && opcode::openat == IORING_OP_OPENAT &&
                  opcode::close == IORING_OP_CLOSE && opcode::statx == IORING_OP_STATX &&
                  opcode::read == IORING_OP_READ && opcode::write == IORING_OP_WRITE &&
                  opcode::send == IORING_OP_SEND && opcode::recv == IORING_OP_RECV &&
                  opcode::shutdown == IORING_OP_SHUTDOWN &&
                  opcode::renameat == IORING_OP_RENAMEAT &&
                  opcode::unlinkat == IORING_OP_UNLINKAT && opcode::mkdirat == IORING_OP_MKDIRAT &&
                  opcode::symlinkat == IORING_OP_SYMLINKAT && opcode::linkat == IORING_OP_LINKAT,
              "kyoto's opcode table (io/detail/opcode.hpp) disagrees with liburing");
static_assert(opcode::poll_add == IORING_OP_POLL_ADD,
              "kyoto's opcode table (io/detail/opcode.hpp) disagrees with liburing");
static_assert(fsync_datasync == IORING_FSYNC_DATASYNC,
              "kyoto's fsync flag (io/detail/opcode.hpp) disagrees with liburing");

/// user_data of the wake-up read and of cancel requests; io_ops use their
/// address (aligned, so never 1 or 2).
constexpr std::uint64_t wake_tag = 1;
constexpr std::uint64_t cancel_tag = 2;
/// A drain's IORING_ASYNC_CANCEL_ANY (its -EINVAL means an older kernel).
constexpr std::uint64_t cancel_any_tag = 3;

constexpr unsigned ring_entries = 256;
/// Completions the CQ holds before the kernel must buffer them (overflow):
/// one per in-flight request, so room for many idle connections.
constexpr unsigned cq_entries = 4096;

/// The test build's fault-injection seam (io_op.hpp).
atomic<fault_injector> injector{nullptr};
/// The drain-bound test's seam (set_drain_skips_cancels, io_op.hpp).
atomic<bool> drain_skips_cancels{false};

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

}  // namespace

unsigned reactor::allowed_features() {
  static const unsigned mask = [] {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv; read once
    const char* env = std::getenv("KYOTO_URING_FEATURES");
    if (env == nullptr) return feature_all;
    const std::string_view all(env);
    unsigned m = 0;
    std::size_t at = 0;
    while (at <= all.size()) {
      const std::size_t comma = std::min(all.find(',', at), all.size());
      const std::string_view name = all.substr(at, comma - at);
      at = comma + 1;
      if (name == "all") {
        m |= feature_all;
      } else if (name == "none" || name.empty()) {
        // nothing
      } else if (name == "defer_taskrun") {
        m |= feature_defer_taskrun;
      } else if (name == "coop_taskrun") {
        m |= feature_coop_taskrun;
      } else if (name == "cancel_any") {
        m |= feature_cancel_any;
      } else if (name == "sync_cancel") {
        m |= feature_sync_cancel;
      } else {
        m = ~0u;  // reported below, on every ring's creation
        break;
      }
    }
    return m;
  }();
  if (mask == ~0u) {
    throw std::invalid_argument(
        "kyoto: KYOTO_URING_FEATURES: expected all, none, or a comma list of defer_taskrun, "
        "coop_taskrun, cancel_any, sync_cancel");
  }
  return mask;
}

reactor::reactor(int wake_fd, kyoto::io_backend requested) : wake_fd_(wake_fd) {
  if (choose_io_backend(requested) == io_backend_kind::epoll) {
    (void)allowed_features();  // a bad KYOTO_URING_FEATURES is an error here too
    ready_ = std::make_unique<readiness>(wake_fd);
    cancel_any_ = false;  // drain() cancels one by one
    log_debug("readiness backend ready (epoll; io_uring not used)");
    return;
  }
  const unsigned allowed = allowed_features();
  cancel_any_ = (allowed & feature_cancel_any) != 0;
  // Newest first; each fallback drops what an older kernel refuses (or
  // what KYOTO_URING_FEATURES turns off).
  const struct {
    unsigned flags;
    unsigned needs;
  } attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, feature_defer_taskrun},
      {IORING_SETUP_COOP_TASKRUN, feature_coop_taskrun},
      {0, 0},
  };
  int err = 0;
  io_uring_params params{};
  for (const auto& [flags, needs] : attempts) {
    if ((allowed & needs) != needs) continue;
    params = io_uring_params{};
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = cq_entries;
    err = -io_uring_queue_init_params(ring_entries, &ring_, &params);
    if (err == 0) {
      flags_ = params.flags;
      break;
    }
    if (err != EINVAL) break;
  }
  // Refused by a sandbox or the kernel: say why and how to allow it.
  if (err != 0) throw_io_uring_unavailable(err, "io_uring_setup");
  if ((params.features & IORING_FEAT_EXT_ARG) == 0) {
    // Without it, waiting with a timeout costs a timeout SQE per park; kyoto
    // relies on it (Linux 5.11; Debian 12 ships 6.1).
    io_uring_queue_exit(&ring_);
    throw std::system_error(ENOSYS, std::system_category(),
                            "kyoto: the kernel's io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11 "
                            "or newer is needed)");
  }
  log_debug("io_uring ring ready (fd {}, setup flags {:#x})", ring_.ring_fd, flags_);
  arm_wake();
}

reactor::~reactor() {
  close_ring();
}

reactor::owner_hold::owner_hold(reactor& r) noexcept : r_(r), took_(false) {
  // Relaxed: only this (the owner's) thread stores owner_held, so seeing it
  // means we hold it already (nested).
  if (r_.reap_lock_.load(std::memory_order_relaxed) == owner_held) return;
  unsigned spins = 0;
  for (;;) {
    std::uint8_t expected = lock_free;
    // Acquire: pairs with the release store that ends a foreign batch
    // (reap_foreign()): its consumption of the CQ and its writes to live_,
    // in_flight_ and foreign_reaped_ happen before we read them.
    if (r_.reap_lock_.compare_exchange_weak(expected, owner_held, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
      took_ = true;
      return;
    }
    relax(spins);  // a foreign batch: a few wakes at most
  }
}

reactor::owner_hold::~owner_hold() {
  // Release: pairs with reap_foreign()'s acquire CAS (our writes to live_
  // and in_flight_, and the CQ head we advanced, happen before its reads).
  if (took_) r_.reap_lock_.store(lock_free, std::memory_order_release);
}

void reactor::close_ring() noexcept {
  // Taken as a foreign holder would, waiting: close_ring() may run on a
  // thread other than the owner's (driver::drain()), and a foreign reaper
  // must not read the CQ of an unmapped ring.
  unsigned spins = 0;
  std::uint8_t expected = lock_free;
  const bool mine = reap_lock_.load(std::memory_order_relaxed) == owner_held;
  // Acquire / release: as owner_hold's.
  while (!mine &&
         !reap_lock_.compare_exchange_weak(expected, foreign_held, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
    expected = lock_free;
    relax(spins);
  }
  if (!ring_closed_) {
    ring_closed_ = true;
    if (ready_) {
      ready_->close();
    } else {
      io_uring_queue_exit(&ring_);
    }
  }
  if (!mine) reap_lock_.store(lock_free, std::memory_order_release);
}

io_uring_sqe* reactor::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {
    // Full submission queue: flush and retry, never drop.
    submit();
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void reactor::arm_wake() {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(s, wake_tag);
  wake_armed_ = true;
}

void reactor::submit() {
  if (ready_) return;  // nothing queued: requests start at once
  const owner_hold hold(*this);
  for (;;) {
    const int r = io_uring_submit(&ring_);
    if (r >= 0) return;
    if (r == -EINTR) continue;
    if (r == -EAGAIN || r == -EBUSY) {
      // The kernel is short of memory or the CQ is overflowing: reap to make
      // room, then try again.
      reap();
      continue;
    }
    throw_errno(-r, "kyoto: submitting to io_uring (io_uring_submit)");
  }
}

void reactor::poll() {
  if (ready_) {
    if (in_flight() == 0) return;
    reap();
    return;
  }
  // Nothing to hand over and nothing in flight but the wake-up read (which
  // only matters when parking): no need to enter the kernel.
  if (io_uring_sq_ready(&ring_) == 0 && in_flight() == 0) return;
  const owner_hold hold(*this);
  if (io_uring_sq_ready(&ring_) != 0 || (flags_ & IORING_SETUP_DEFER_TASKRUN) != 0) {
    // With DEFER_TASKRUN completions are only posted when we enter.
    const int r = io_uring_submit_and_get_events(&ring_);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      throw_errno(-r, "kyoto: polling io_uring (io_uring_submit_and_get_events)");
    }
  }
  reap();
}

void reactor::wait(std::optional<std::chrono::nanoseconds> timeout) {
  // Held while blocked too: nobody reaps a parked owner's ring.
  const owner_hold hold(*this);
  if (foreign_reaped_) {
    // A foreign reaper consumed CQEs we have not seen: the one we would
    // wait for (the wake-up read's, a cancel's) may be among them. Do not
    // block; the caller checks its condition again.
    foreign_reaped_ = false;
    timeout = std::chrono::nanoseconds(0);
  }
  if (ready_) {
    ready_->wait(timeout);
    reap();
    return;
  }
  if (!wake_armed_) arm_wake();
  io_uring_cqe* cqe = nullptr;
  int r;
  if (timeout) {
    const auto ns = timeout->count() < 0 ? 0 : timeout->count();
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    r = io_uring_submit_and_wait(&ring_, 1);
  }
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
    throw_errno(-r, "kyoto: waiting on io_uring (io_uring_submit_and_wait)");
  }
  reap();
}

void reactor::start(io_op* op, const op_args& a) {
  const owner_hold hold(*this);
  live_.reserve(live_.size() + 1);  // may throw: before an SQE is taken
  if (ready_) {
    ready_->start(op, a);  // may complete it: queued, dispatched by the next reap
    op->reactor_slot = static_cast<std::uint32_t>(live_.size());
    live_.push_back(op);  // reserved: does not throw
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    counters->submitted.bump();
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_rw(a.opcode, s, a.fd, nullptr, a.len, a.off);
  s->addr = a.addr;  // already the kernel's u64 form of the buffer's address
  s->flags = a.sqe_flags;
  s->ioprio = a.ioprio;
  s->rw_flags = static_cast<__kernel_rwf_t>(a.op_flags);  // the union of per-op flags
  s->file_index = a.file_index;
  io_uring_sqe_set_data(s, op);
  op->reactor_slot = static_cast<std::uint32_t>(live_.size());
  live_.push_back(op);  // reserved: does not throw
  in_flight_.store(in_flight_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  counters->submitted.bump();
}

void reactor::assist_enter(bool submit) noexcept {
  if (ready_) return;  // nothing deferred: readiness is polled by whoever reaps
  if (!submit) {
    // Submits nothing (the SQ's local tail may be mid-update); posts.
    (void)::syscall(__NR_io_uring_enter, ring_.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
    return;
  }
  // liburing's submit only flushes the SQ's tail and enters the kernel: no
  // allocation, no lock.
  (void)io_uring_submit_and_get_events(&ring_);
}

void reactor::cancel(io_op* op) {
  const owner_hold hold(*this);
  if (ready_) {
    ready_->cancel(op);
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel(s, op, 0);
  io_uring_sqe_set_data64(s, cancel_tag);
}

bool reactor::drain(std::chrono::steady_clock::time_point deadline) {
  const owner_hold hold(*this);
  if (in_flight() == 0) return true;
  // Relaxed: a test sets it before the runtime it drops runs.
  const bool cancels = !drain_skips_cancels.load(std::memory_order_relaxed);
  if (!cancels) {
    // The test seam: as if the kernel could cancel none of them.
  } else if (cancel_any_) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(s, cancel_any_tag);
  } else {
    cancel_each_in_flight();
  }
  while (in_flight() != 0) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return false;
    const bool had_cancel_any = cancel_any_;
    // A request the kernel cannot cancel (a disk read) usually still ends;
    // one that does not is the caller's to leak once the deadline passes.
    wait(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    // The kernel refused CANCEL_ANY (before Linux 5.19): one by one.
    if (cancels && had_cancel_any && !cancel_any_) cancel_each_in_flight();
  }
  return true;
}

void reactor::cancel_each_in_flight() {
  const owner_hold hold(*this);
  // cancel() may flush the SQ (sqe()), which reaps nothing: live_ is stable.
  for (io_op* op : live_)
    cancel(op);
  submit();
}

void reactor::reap() {
  const owner_hold hold(*this);
  (void)reap_all();
  if (!wake_armed_ && !ready_) arm_wake();
}

unsigned reactor::reap_all() {
  unsigned got = 0;
  unsigned n;
  do {
    n = reap_locked();
    got += n;
  } while (n == reap_batch);  // a full batch: more may wait
  return got;
}

unsigned reactor::reap_foreign() noexcept {
  std::uint8_t expected = lock_free;
  // Acquire: pairs with owner_hold's release (the owner's writes to live_
  // and in_flight_ for requests it started happen before we reap them).
  if (!reap_lock_.compare_exchange_strong(expected, foreign_held, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
    return 0;  // the owner is reaping, waiting or starting a request
  }
  unsigned got = 0;
  if (!ring_closed_) {
    got = reap_all();
    if (got != 0) foreign_reaped_ = true;
  }
  // Release: pairs with owner_hold's acquire CAS.
  reap_lock_.store(lock_free, std::memory_order_release);
  return got;
}

bool reactor::cancel_foreign(io_op* op) noexcept {
  if (!ready_) return false;
  std::uint8_t expected = lock_free;
  // Acquire / release: as reap_foreign()'s.
  if (!reap_lock_.compare_exchange_strong(expected, foreign_held, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
    return false;
  }
  const bool open = !ring_closed_;
  if (open) {
    ready_->cancel(op);
    if (reap_all() != 0) foreign_reaped_ = true;
  }
  reap_lock_.store(lock_free, std::memory_order_release);
  return open;
}

unsigned reactor::reap_locked() {
  // Copied out and consumed before dispatch (re-entrancy; file comment).
  completion got[reap_batch];
  unsigned n = 0;
  if (ready_) {
    n = ready_->take(got, reap_batch);
    dispatch(got, n);
    return n;
  }
  unsigned head;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    got[n++] = completion{io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags};
    if (n == reap_batch) break;
  }
  if (n == 0) return 0;
  io_uring_cq_advance(&ring_, n);
  dispatch(got, n);
  return n;
}

void reactor::dispatch(const completion* got, unsigned n) {
  bool dispatching = false;
  const std::uint64_t seq = reap_seq_.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < n; ++i) {
    const completion& e = got[i];
    if (e.data == wake_tag) {
      wake_armed_ = false;
      if (e.res < 0 && e.res != -EINTR && e.res != -ECANCELED) {
        log_error("wake-up eventfd read failed: {}", std::system_category().message(-e.res));
      }
      continue;
    }
    if (e.data == cancel_any_tag) {
      if (e.res == -EINVAL) {
        cancel_any_ = false;  // an older kernel: drain() cancels one by one
      } else if (e.res < 0 && e.res != -ENOENT) {
        log_error("cancelling every io_uring request at shutdown failed: {}",
                  std::system_category().message(-e.res));
      }
      continue;
    }
    if (e.data == cancel_tag) {
      // 0: cancelled; -ENOENT: it completed first; -EALREADY: running, it
      // ends on its own. Anything else would leave the request in flight.
      if (e.res < 0 && e.res != -ENOENT && e.res != -EALREADY) {
        log_error("cancelling an io_uring request failed: {}",
                  std::system_category().message(-e.res));
      }
      continue;
    }
    if (e.data == LIBURING_UDATA_TIMEOUT) continue;
    if (!dispatching) {
      dispatching = true;
      // Relaxed: published by the release CAS in io_op::complete(), which
      // the waiter in io_op::cancel() acquires (io_op.hpp).
      reap_seq_.store(seq + 1, std::memory_order_relaxed);
    }
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    counters->completed.bump();
    // NOLINTNEXTLINE(performance-no-int-to-ptr): user_data is the io_op, see start()
    auto* op = reinterpret_cast<io_op*>(e.data);
    io_op* last = live_.back();  // unlisted before complete(), which may free it
    live_[op->reactor_slot] = last;
    last->reactor_slot = op->reactor_slot;
    live_.pop_back();
    int res = e.res;
    // Relaxed: a test installs the injector before the runtime runs.
    if (fault_injector f = injector.load(std::memory_order_relaxed)) [[unlikely]] {
      res = f(op->opcode(), res);
    }
    op->complete(res, e.flags);
  }
  // Release: every wake of this batch happened before; pairs with the
  // acquire load in io_op::cancel()'s wait for the batch's end.
  if (dispatching) reap_seq_.store(seq + 2, std::memory_order_release);
}

void set_drain_skips_cancels(bool skip) noexcept {
  drain_skips_cancels.store(skip, std::memory_order_relaxed);
}

void set_fault_injector(fault_injector f) noexcept {
  injector.store(f, std::memory_order_relaxed);
}

}  // namespace kyoto::detail
