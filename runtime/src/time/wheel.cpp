#include "time/wheel.hpp"

#include <bit>
#include <cassert>
#include <utility>

namespace kyoto::detail {

namespace {

constexpr std::uint64_t slot_range(unsigned level) noexcept {
  return std::uint64_t{1} << (6 * level);
}
constexpr std::uint64_t level_range(unsigned level) noexcept {
  return std::uint64_t{1} << (6 * (level + 1));
}

}  // namespace

unsigned timer_wheel::level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  constexpr std::uint64_t slot_mask = slots - 1;
  std::uint64_t masked = (elapsed ^ when) | slot_mask;
  if (masked >= max_duration) masked = max_duration - 1;
  const unsigned significant = 63 - static_cast<unsigned>(std::countl_zero(masked));
  return significant / 6;
}

void timer_wheel::link(timer_entry* e, unsigned level) noexcept {
  const unsigned slot = static_cast<unsigned>((e->when >> (6 * level)) % slots);
  level_state& l = levels_[level];
  e->level = static_cast<std::uint8_t>(level);
  e->slot = static_cast<std::uint8_t>(slot);
  l.slot[slot].push_front(e);
  l.occupied |= std::uint64_t{1} << slot;
  e->linked = true;
}

void timer_wheel::insert(timer_entry* e) noexcept {
  assert(e->when > elapsed_ && !e->linked);
  link(e, level_for(elapsed_, e->when));
}

void timer_wheel::remove(timer_entry* e) noexcept {
  assert(e->linked);
  level_state& l = levels_[e->level];
  slot_list& list = l.slot[e->slot];
  list.remove(e);
  if (list.empty()) l.occupied &= ~(std::uint64_t{1} << e->slot);
  e->linked = false;
}

timer_wheel::slot_list timer_wheel::take_slot(unsigned level, unsigned slot) noexcept {
  level_state& l = levels_[level];
  l.occupied &= ~(std::uint64_t{1} << slot);
  return std::move(l.slot[slot]);
}

std::optional<wheel_expiration> timer_wheel::next_expiration() const noexcept {
  for (unsigned level = 0; level < levels; ++level) {
    const level_state& l = levels_[level];
    if (l.occupied == 0) continue;
    // The first occupied slot at or after the one `elapsed_` falls in.
    const std::uint64_t now_slot = elapsed_ / slot_range(level);
    const auto rotated = std::rotr(l.occupied, static_cast<int>(now_slot % slots));
    const unsigned slot = static_cast<unsigned>(
        (static_cast<std::uint64_t>(std::countr_zero(rotated)) + now_slot) % slots);
    const std::uint64_t level_start = elapsed_ & ~(level_range(level) - 1);
    std::uint64_t deadline = level_start + slot * slot_range(level);
    if (deadline <= elapsed_) {
      // Only the top level wraps: its slots form a ring over max_duration.
      assert(level == levels - 1 || deadline == elapsed_);
      if (level == levels - 1) deadline += level_range(level);
    }
    return wheel_expiration{level, slot, deadline};
  }
  return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_deadline() const noexcept {
  if (auto e = next_expiration()) return e->deadline;
  return std::nullopt;
}

bool timer_wheel::empty() const noexcept {
  for (const level_state& l : levels_) {
    if (l.occupied != 0) return false;
  }
  return true;
}

}  // namespace kyoto::detail
