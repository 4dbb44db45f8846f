// A runtime thread's driver: its io_uring reactor, its timer wheel, and the
// eventfd other threads write to wake it.
//
// Ticks are milliseconds since the driver was made. A deadline becomes the
// first tick at or after it (rounded up, so a timer never fires early);
// the wheel fires an entry once the current tick reaches it.
//
// Threads: the reactor belongs to the thread that bound the driver
// (bind()). The wheel is guarded by `wheel_lock_`: timers are added and
// fired by that thread, but a timer may be cancelled from another (its task
// moved to another worker). A timer fires (its waiter is woken) under the
// lock, and cancel takes it: the wake rule of task_header.hpp. wake() is
// for any thread.
#pragma once

#include "io/reactor.hpp"
#include "time/wheel.hpp"

#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/time/detail/timer_entry.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

namespace kyoto::detail {

class driver {
 public:
  using clock = std::chrono::steady_clock;

  /// Creates the wake-up eventfd; the ring is created by bind(). Throws
  /// std::system_error.
  driver();
  ~driver();
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;

  /// Makes the calling thread the driver's thread, creating the ring on the
  /// first call. Throws std::logic_error if another thread already owns it.
  void bind(const char* operation);

  /// Registers `e` to wake e->waiter at `deadline`. Returns false (and
  /// registers nothing) if that tick has already been processed.
  bool add_timer(timer_entry* e, clock::time_point deadline) noexcept;
  /// Unregisters `e` if it has not fired. Returns false if it fired (its
  /// waiter was woken). Any thread.
  bool remove_timer(timer_entry* e) noexcept;

  /// Fires due timers and reaps I/O completions. Never blocks.
  void poll();
  /// Blocks until a completion, a wake(), or the next timer; then polls.
  void park();
  /// Wakes the thread blocked in park() (or makes its next park() return at
  /// once). Any thread.
  void wake() noexcept;

  /// Closes the ring (shutdown). Timers must all be gone.
  void close() noexcept;

  bool has_timers() noexcept {
    lock_guard guard(wheel_lock_);
    return !wheel_.empty();
  }

 private:
  std::uint64_t tick_ceil(clock::time_point t) const noexcept;
  std::uint64_t tick_floor(clock::time_point t) const noexcept;
  void fire_timers();

  const clock::time_point epoch_ = clock::now();
  int wake_fd_ = -1;
  std::thread::id thread_;
  std::unique_ptr<reactor> reactor_;
  mutex wheel_lock_;
  timer_wheel wheel_;  ///< guarded by wheel_lock_
};

}  // namespace kyoto::detail
