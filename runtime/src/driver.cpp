#include "driver.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/task_header.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kyoto::detail {

driver::driver() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    throw std::system_error(errno, std::system_category(), "kyoto: creating the wake-up eventfd");
  }
}

driver::~driver() {
  close();
  ::close(wake_fd_);
}

void driver::bind(const char* operation) {
  const std::thread::id me = std::this_thread::get_id();
  if (reactor_ == nullptr) {
    reactor_ = std::make_unique<reactor>(wake_fd_);
    thread_ = me;
  } else if (thread_ != me) {
    throw std::logic_error(
        std::string(operation) +
        ": this current_thread runtime is driven by the thread that first ran it (it owns the "
        "runtime's io_uring ring); call it from that thread");
  }
}

std::uint64_t driver::tick_ceil(clock::time_point t) const noexcept {
  if (t <= epoch_) return 0;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count();
  return (static_cast<std::uint64_t>(ns) + 999'999) / 1'000'000;
}

std::uint64_t driver::tick_floor(clock::time_point t) const noexcept {
  if (t <= epoch_) return 0;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count();
  return static_cast<std::uint64_t>(ns) / 1'000'000;
}

bool driver::add_timer(timer_entry* e, clock::time_point deadline) noexcept {
  e->when = tick_ceil(deadline);
  lock_guard guard(wheel_lock_);
  if (e->when <= wheel_.elapsed()) return false;
  e->owner = this;
  wheel_.insert(e);
  return true;
}

bool driver::remove_timer(timer_entry* e) noexcept {
  lock_guard guard(wheel_lock_);
  if (!e->linked) return false;
  wheel_.remove(e);
  return true;
}

void driver::fire_timers() {
  lock_guard guard(wheel_lock_);
  if (wheel_.empty()) return;
  // The wakes happen under the lock (see the file comment).
  wheel_.advance(tick_floor(clock::now()), [](timer_entry* e) { e->waiter->wake(); });
}

void driver::poll() {
  reactor_->poll();
  fire_timers();
}

void driver::park() {
  std::optional<std::chrono::nanoseconds> timeout;
  std::optional<std::uint64_t> next;
  {
    lock_guard guard(wheel_lock_);
    next = wheel_.next_deadline();
  }
  if (next) {
    const clock::time_point at = epoch_ + std::chrono::milliseconds(*next);
    timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(at - clock::now());
    if (timeout->count() < 0) timeout = std::chrono::nanoseconds(0);
  }
  reactor_->wait(timeout);
  fire_timers();
}

void driver::wake() noexcept {
  // The reactor keeps a read of this eventfd armed; a write completes it.
  if (::eventfd_write(wake_fd_, 1) != 0) {
    log_error("writing the wake-up eventfd failed: {}", std::strerror(errno));
  }
}

void driver::close() noexcept {
  reactor_.reset();
}

}  // namespace kyoto::detail
