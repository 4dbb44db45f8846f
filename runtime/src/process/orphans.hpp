// Reaping children that nobody waits for (see <kyoto/process/child.hpp>).
#pragma once

#include <cstddef>
#include <optional>

namespace kyoto::detail {

/// waitid(P_PIDFD, WNOHANG): the wait status if the child exited (it is
/// reaped), std::nullopt if it runs. 0 if it was already reaped by someone
/// else (ECHILD: its status is lost). Throws std::system_error.
std::optional<int> try_reap(int pidfd);

/// Adds a dropped, unreaped child to the process-wide orphan list (which
/// then owns `pidfd`). Any thread.
void add_orphan(int pid, int pidfd) noexcept;

/// Reaps (WNOHANG) every orphan that has exited. Called at every spawn and
/// every completed wait. Any thread.
void reap_orphans() noexcept;

/// How many orphans are waiting to be reaped (for tests).
std::size_t orphan_count() noexcept;

/// A child is dropped unreaped: a detached reaper task on the calling
/// thread's runtime if there is one, else the orphan list. Takes `pidfd`.
void hand_to_reaper(int pid, int pidfd) noexcept;

}  // namespace kyoto::detail
