// A timer registered with a thread's timer wheel, embedded in the awaiter
// that waits for it (time::sleep_awaiter). Touched only by the thread that
// owns the wheel it is linked into.
#pragma once

#include <cstdint>

namespace kyoto::detail {

struct wake_node;
class driver;

/// Intrusive wheel entry; see runtime/src/time/wheel.hpp.
struct timer_entry {
  timer_entry* prev = nullptr;  ///< slot list links (intrusive_list; wheel owner only)
  timer_entry* next = nullptr;
  std::uint64_t when = 0;       ///< deadline, in ticks of the owning driver
  wake_node* waiter = nullptr;  ///< woken when the deadline passes
  driver* owner = nullptr;      ///< the driver whose wheel holds the entry
  std::uint8_t level = 0;       ///< where the entry sits (wheel owner only)
  std::uint8_t slot = 0;
  bool linked = false;  ///< in a wheel slot
};

}  // namespace kyoto::detail
