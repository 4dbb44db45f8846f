#include "driver.hpp"

#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/context.hpp>

namespace kyoto::time::detail {

bool register_timer(kyoto::detail::timer_entry* e, instant deadline) {
  kyoto::detail::driver* d = kyoto::detail::current_context.drv;
  if (d == nullptr) kyoto::detail::throw_outside_task("kyoto::time::sleep");
  return d->add_timer(e, deadline);
}

bool cancel_timer(kyoto::detail::timer_entry* e) noexcept {
  return e->owner->remove_timer(e);
}

}  // namespace kyoto::time::detail
