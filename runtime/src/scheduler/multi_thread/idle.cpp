// The protocol is described in idle.hpp.
// Sees the local queue's capacity (runtime_queue_sources, runtime/meson.build).
#define KYOTO_DETAIL_QUEUE_SOURCE

#include "scheduler/multi_thread/idle.hpp"

#include <algorithm>
#include <cassert>

namespace kyoto::detail {

idle::idle(std::size_t workers) : state_(workers << unpark_shift), workers_(workers) {
  sleepers_.reserve(workers);
}

bool idle::notify_should_wakeup() noexcept {
  // Seq_cst read-modify-write (not a plain load): it must see the latest
  // parking worker's decrement, which it orders after our queue push.
  const std::size_t s = state_.fetch_add(0, std::memory_order_seq_cst);
  return (s & search_mask) == 0 && (s >> unpark_shift) < workers_;
}

std::optional<std::size_t> idle::worker_to_notify() {
  if (!notify_should_wakeup()) return std::nullopt;
  lock_guard guard(sleepers_mutex_);
  if (!notify_should_wakeup() || sleepers_.empty()) return std::nullopt;
  // One more unparked, and it starts out searching. Seq_cst: a write of
  // the word (file comment); under sleepers_mutex_, so its pair is the
  // next notify_should_wakeup()'s read-modify-write.
  state_.fetch_add(1 | (std::size_t{1} << unpark_shift), std::memory_order_seq_cst);
  const std::size_t w = sleepers_.back();
  sleepers_.pop_back();
  return w;
}

bool idle::transition_worker_to_parked(std::size_t worker, bool searching) {
  lock_guard guard(sleepers_mutex_);
  std::size_t dec = std::size_t{1} << unpark_shift;
  if (searching) dec += 1;
  // Seq_cst: the parking half of the notify/park Dekker; pairs with
  // notify_should_wakeup()'s read-modify-write. The last searcher then
  // looks at every queue (multi_thread_scheduler::notify_if_work_pending).
  const std::size_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  sleepers_.push_back(worker);
  return searching && (prev & search_mask) == 1;
}

bool idle::transition_worker_to_searching() {
  // Seq_cst (both): the word's one order (file comment). The load only
  // enforces "at most half search": a stale value lets one searcher more or
  // fewer start. The increment pairs with notify_should_wakeup(), which
  // wakes nobody while it sees a searcher.
  const std::size_t s = state_.load(std::memory_order_seq_cst);
  if (2 * (s & search_mask) >= workers_) return false;
  state_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool idle::transition_worker_from_searching() {
  // Seq_cst: pairs with notify_should_wakeup() as transition_worker_to_parked
  // does; the last searcher to stop wakes another (the scheduler's caller).
  const std::size_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
  assert((prev & search_mask) > 0);
  return (prev & search_mask) == 1;
}

bool idle::unpark_worker_by_id(std::size_t worker) {
  return take_sleeper(worker, std::size_t{1} << unpark_shift);
}

bool idle::notify_worker(std::size_t worker) {
  return take_sleeper(worker, 1 | (std::size_t{1} << unpark_shift));
}

bool idle::take_sleeper(std::size_t worker, std::size_t add) {
  lock_guard guard(sleepers_mutex_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
  if (it == sleepers_.end()) return false;
  *it = sleepers_.back();
  sleepers_.pop_back();
  // Seq_cst: as worker_to_notify()'s increment (under sleepers_mutex_).
  state_.fetch_add(add, std::memory_order_seq_cst);
  return true;
}

bool idle::is_parked(std::size_t worker) {
  lock_guard guard(sleepers_mutex_);
  return std::find(sleepers_.begin(), sleepers_.end(), worker) != sleepers_.end();
}

}  // namespace kyoto::detail
