#include "io/reactor.hpp"

#include "log.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

namespace kyoto::detail {

namespace {

/// user_data of the wake-up read; completions use their address (never 1).
constexpr std::uint64_t wake_tag = 1;

constexpr unsigned ring_entries = 256;

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

}  // namespace

reactor::reactor(int wake_fd) : wake_fd_(wake_fd) {
  // Newest first; each fallback drops what an older kernel refuses.
  const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int err = 0;
  io_uring_params params{};
  for (unsigned flags : attempts) {
    params = io_uring_params{};
    params.flags = flags;
    err = -io_uring_queue_init_params(ring_entries, &ring_, &params);
    if (err == 0) {
      flags_ = flags;
      break;
    }
    if (err != EINVAL) break;
  }
  if (err != 0) throw_errno(err, "kyoto: creating the io_uring ring (io_uring_queue_init)");
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
  io_uring_queue_exit(&ring_);
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
  // Nothing to hand over and nothing in flight but the wake-up read (which
  // only matters when parking): no need to enter the kernel.
  if (io_uring_sq_ready(&ring_) == 0 && in_flight_ == 0) return;
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

void reactor::reap() {
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const std::uint64_t data = io_uring_cqe_get_data64(cqe);
    if (data == LIBURING_UDATA_TIMEOUT) {
      continue;  // liburing's own timeout (never used with EXT_ARG); not ours
    }
    if (data == wake_tag) {
      wake_armed_ = false;
      if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -ECANCELED) {
        log_error("wake-up eventfd read failed: {}", std::strerror(-cqe->res));
      }
    } else {
      --in_flight_;
      reinterpret_cast<completion*>(data)->complete(cqe->res, cqe->flags);
    }
  }
  io_uring_cq_advance(&ring_, seen);
  if (!wake_armed_) arm_wake();
}

}  // namespace kyoto::detail
