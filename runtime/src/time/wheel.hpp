// A hierarchical timing wheel with 1 ms ticks (tokio's time/wheel design).
//
// Six levels of 64 slots: level 0 slots are 1 tick wide, level 1 slots 64
// ticks, ... level 5 slots 64^5 ticks (~34 years in all at 1 ms). An entry
// goes to the lowest level whose slot granularity separates its deadline
// from `elapsed_`; as time advances, a slot of a higher level is emptied and
// its entries cascade to lower levels until they fire from level 0. Insert,
// remove and fire are O(1); finding the next deadline scans at most six
// 64-bit occupancy masks.
//
// Single-threaded: owned by one driver, used only on that driver's thread.
#pragma once

#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/time/detail/timer_entry.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace kyoto::detail {

/// Where the next slot to process is, and when it is due.
struct wheel_expiration {
  unsigned level;
  unsigned slot;
  std::uint64_t deadline;
};

class timer_wheel {
 public:
  static constexpr unsigned levels = 6;
  static constexpr unsigned slots = 64;
  /// Deadlines further than this from `elapsed()` are clamped to it.
  static constexpr std::uint64_t max_duration = (std::uint64_t{1} << (6 * levels)) - 1;

  /// Ticks processed so far: every entry with when <= elapsed() has fired.
  std::uint64_t elapsed() const noexcept { return elapsed_; }

  /// Links `e` (e->when must be > elapsed()). O(1).
  void insert(timer_entry* e) noexcept;

  /// Unlinks `e` (e->linked must be true). O(1).
  void remove(timer_entry* e) noexcept;

  /// The tick at which the next slot must be processed, if any timer is set.
  std::optional<std::uint64_t> next_deadline() const noexcept;

  /// Processes every slot due at or before `now` and calls fire(entry) for
  /// each entry whose deadline passed, after unlinking it. `fire` must not
  /// touch the wheel.
  template <class Fire>
  void advance(std::uint64_t now, Fire&& fire) noexcept;

  bool empty() const noexcept;

  static unsigned level_for(std::uint64_t elapsed, std::uint64_t when) noexcept;

 private:
  /// One slot's entries, through timer_entry::prev/next.
  using slot_list = intrusive_list<timer_entry>;

  struct level_state {
    std::uint64_t occupied = 0;  ///< bit i set iff slot i is non-empty
    std::array<slot_list, slots> slot;
  };

  std::optional<wheel_expiration> next_expiration() const noexcept;
  void link(timer_entry* e, unsigned level) noexcept;
  slot_list take_slot(unsigned level, unsigned slot) noexcept;

  std::array<level_state, levels> levels_{};
  std::uint64_t elapsed_ = 0;
};

template <class Fire>
void timer_wheel::advance(std::uint64_t now, Fire&& fire) noexcept {
  for (;;) {
    std::optional<wheel_expiration> exp = next_expiration();
    if (!exp || exp->deadline > now) break;
    slot_list list = take_slot(exp->level, exp->slot);
    elapsed_ = exp->deadline;
    // Entries due now fire, in the order they were linked; the others
    // cascade to a lower level.
    slot_list due;
    list.drain([&](timer_entry* e) {
      if (e->when <= elapsed_) {
        e->linked = false;
        due.push_front(e);
      } else {
        link(e, level_for(elapsed_, e->when));
      }
    });
    due.drain(fire);
  }
  if (now > elapsed_) elapsed_ = now;
}

}  // namespace kyoto::detail
