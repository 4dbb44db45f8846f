// The io_uring reactor: one ring per runtime thread.
//
// The interface says what blocks (Seastar's reactor_backend):
//   submit()  never blocks: hands queued SQEs to the kernel.
//   poll()    never blocks: submits, then reaps whatever completed.
//   wait(t)   blocks until a completion arrives, the wake-up eventfd is
//             written (by unpark(), from any thread) or `t` passes.
//
// The ring is created with SINGLE_ISSUER|DEFER_TASKRUN when the kernel has
// them (bench/limits: ~9% faster echo), so every call except wake() must
// come from the thread that created it. Completions carry a pointer to the
// `completion` that submitted them; the wake-up read is the reactor's own.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace kyoto::detail {

/// An operation in flight; its memory must stay valid until complete().
class completion {
 public:
  /// Called on the reactor's thread with the CQE's result and flags.
  virtual void complete(int result, std::uint32_t flags) noexcept = 0;

 protected:
  ~completion() = default;
};

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

  /// Operations in flight other than the wake-up read.
  std::uint32_t in_flight() const noexcept { return in_flight_; }
  /// The setup flags the kernel accepted (for logs and tests).
  unsigned flags() const noexcept { return flags_; }

 private:
  void arm_wake();
  void reap();

  io_uring ring_{};
  unsigned flags_ = 0;
  int wake_fd_;
  std::uint64_t wake_buf_ = 0;  // the eventfd read lands here
  bool wake_armed_ = false;
  std::uint32_t in_flight_ = 0;
};

}  // namespace kyoto::detail
