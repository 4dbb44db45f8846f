// Backing off while another thread finishes something short: the reap
// lock's owner and foreign holders (reactor.cpp), a canceller waiting for a
// reap batch or its cancel's completion (io_op.cpp).
#pragma once

#include <kyoto/runtime/detail/config.hpp>

#include <sched.h>

namespace kyoto::detail {

/// One step of a wait for another thread: a pause instruction for the
/// first 64 steps, then a yield of the CPU (the other thread may be
/// descheduled: 2 vCPUs). `spins` counts the steps; start it at 0.
inline void relax(unsigned& spins) noexcept {
  if (++spins < 64) {
    spin_pause();
  } else {
    ::sched_yield();
  }
}

}  // namespace kyoto::detail
