#include "driver.hpp"

#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/context.hpp>

namespace kyoto::detail {

bool register_timer(timer_entry* e, time::instant deadline) {
  driver* d = current_context.drv;
  if (d == nullptr) throw_outside_task("kyoto::time::sleep");
  return d->add_timer(e, deadline);
}

bool cancel_timer(timer_entry* e) noexcept {
  return e->owner->remove_timer(e);
}

}  // namespace kyoto::detail
