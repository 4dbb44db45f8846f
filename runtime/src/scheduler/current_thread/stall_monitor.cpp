// The stall monitor's thread; the protocol is described in stall_monitor.hpp
// and scheduler/stall_report.hpp.
#include "scheduler/current_thread/stall_monitor.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

namespace kyoto::detail {

stall_monitor::stall_monitor(std::chrono::milliseconds threshold) noexcept
    : threshold_(threshold),
      tick_(std::max<clock::duration>(threshold / 10, std::chrono::milliseconds(1))) {}

stall_monitor::~stall_monitor() {
  stop();
}

void stall_monitor::resume(std::uint64_t root_id) {
  std::unique_lock<std::mutex> guard(lock_);
  if (stop_) return;
  root_id_ = root_id;
  active_ = true;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
    // Named here, not by the thread: the name shows from now on.
    pthread_setname_np(thread_.native_handle(), "kyoto-stall");
    return;
  }
  // Only a thread in the untimed wait needs waking; a ticking one sees
  // active_ at its next tick (a block_on per tick costs no wake-up).
  const bool wake = sleeping_;
  guard.unlock();
  if (wake) changed_.notify_one();
}

void stall_monitor::suspend() noexcept {
  // No notify: the thread sees it at its next tick and stops ticking.
  const std::lock_guard<std::mutex> guard(lock_);
  active_ = false;
}

void stall_monitor::stop() noexcept {
  std::thread t;
  {
    const std::lock_guard<std::mutex> guard(lock_);
    stop_ = true;
    t = std::move(thread_);
  }
  changed_.notify_all();
  if (t.joinable()) t.join();
}

void stall_monitor::run() noexcept {
  std::unique_lock<std::mutex> guard(lock_);
  for (;;) {
    if (stop_) return;
    if (!active_) {
      sleeping_ = true;
      changed_.wait(guard, [this] { return stop_ || active_; });
      sleeping_ = false;
      continue;
    }
    // A timed wait, not a sleep: stop() ends it at once.
    if (changed_.wait_for(guard, tick_, [this] { return stop_; })) return;
    const std::uint64_t root_id = root_id_;
    guard.unlock();
    check(clock::now(), root_id);
    guard.lock();
  }
}

void stall_monitor::check(clock::time_point now, std::uint64_t root_id) noexcept {
  // Acquire: pairs with the release store of seq that ends
  // poll_record::begin(), so the fields read_poll() loads below are this
  // poll's or a later one's (which read_poll() detects).
  const std::uint64_t seq = poll.seq.load(std::memory_order_acquire);
  if (seq != seen_) {
    seen_ = seq;
    since_ = now;
    return;
  }
  if (seq % 4 != 2 || reported_ == seq || now - since_ < threshold_) return;
  reported_ = seq;  // once per poll, logged or not
  if (!stall_reports_logged()) return;
  std::optional<poll_identity> p = read_poll(poll, seq);
  if (!p) return;  // it yielded meanwhile
  if (p->id == root_id) p->spawner = "kyoto::runtime::block_on";
  log_stall(*p, now - since_, threshold_, "the current_thread runtime's thread", "thread");
}

}  // namespace kyoto::detail
