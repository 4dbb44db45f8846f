// Which workers are searching for work and which are parked (tokio's
// multi_thread/idle.rs).
//
// One atomic word counts `searching` workers (low 16 bits) and `unparked`
// workers (high bits); `sleepers_` lists the parked ones under a mutex.
//
// The protocol that keeps work from being stranded:
//   - A worker that finds new work for others (a push to its queue, an
//     injection) calls worker_to_notify(): a parked worker is woken only if
//     nobody is searching (a searcher will find the work).
//   - At most half of the workers search at once.
//   - The last searcher to find work wakes another to go on searching; the
//     last searcher to park checks every queue once more (the scheduler does
//     that) before sleeping.
// All accesses to the word are seq_cst: it is read and written by every
// worker, and its reads decide whether a wake-up is needed, against pushes
// to queues made with other atomics (the Dekker in notify vs. park).
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace kyoto::detail {

class idle {
 public:
  explicit idle(std::size_t workers);

  /// A worker to wake for new work, if one is parked and none is searching.
  /// The chosen worker is counted as unparked and searching.
  std::optional<std::size_t> worker_to_notify();

  /// `worker` goes to sleep. Returns whether it was the last searcher.
  bool transition_worker_to_parked(std::size_t worker, bool searching);

  /// Whether `worker` may start searching (fewer than half search).
  bool transition_worker_to_searching();

  /// A searcher found work. Returns whether it was the last searcher.
  bool transition_worker_from_searching();

  /// Takes `worker` off the sleepers (it found work on its own). Returns
  /// whether it was there.
  bool unpark_worker_by_id(std::size_t worker);

  /// Takes `worker` off the sleepers to be woken by the caller, counted as
  /// unparked and searching, as worker_to_notify() does for the worker it
  /// picks. Returns whether it was there (parked).
  bool notify_worker(std::size_t worker);

  /// Whether `worker` is still listed as parked.
  bool is_parked(std::size_t worker);

 private:
  static constexpr unsigned unpark_shift = 16;
  static constexpr std::size_t search_mask = (std::size_t{1} << unpark_shift) - 1;

  bool notify_should_wakeup() noexcept;
  /// Takes `worker` off the sleepers and adds `add` to the word; whether
  /// it was there.
  bool take_sleeper(std::size_t worker, std::size_t add);

  /// (unparked << 16) | searching; seq_cst everywhere (see the file comment).
  atomic<std::size_t> state_;
  mutex sleepers_mutex_;
  std::vector<std::size_t> sleepers_;  ///< guarded by sleepers_mutex_
  const std::size_t workers_;
};

}  // namespace kyoto::detail
