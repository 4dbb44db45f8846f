// How many times kyoto has closed each descriptor number: what lets the
// readiness backend (readiness.hpp) keep a socket registered in epoll,
// edge-triggered, for the socket's whole life instead of re-arming a
// one-shot registration before every wait.
//
// # Why a count
//
// A registration kept across waits is only sound while the descriptor
// number still names the same socket. close(2) removes the registration
// from every epoll instance (once the last reference to the file goes),
// but a reactor's own record of it would stay, and a new socket given the
// same number would be taken for registered and never armed: its waits
// would hang. So every close kyoto makes of a socket (sys_close() in
// sim/hooks.hpp, and the readiness backend's close request) first bumps
// the number's epoch; a reactor records the epoch with the registration,
// and a registration whose epoch is not the number's current one is stale.
//
// Sockets only: each is closed through sys_close() (kyoto owns it; a
// caller who closes a native_handle() it does not own breaks the socket
// anyway). Other descriptors (pipes, pidfds, terminals) keep one-shot
// registrations, which never trust a record.
//
// # Cost
//
// The table holds 2^20 numbers in chunks of 4,096 counts (16 KiB), each
// made by the first registration of a number in it and kept for the
// process's life. A close whose chunk was never made (the io_uring
// backend's sockets, all of them) costs one load; otherwise one atomic
// add. A number above the table, or one whose chunk could not be
// allocated, is untracked: its socket keeps one-shot registrations.
#pragma once

#include <cstdint>

namespace kyoto::detail {

/// Reads `fd`'s epoch into `epoch`, making its chunk if needed; false if
/// the number is untracked. Thread-safe; never throws.
bool fd_epoch_read(int fd, std::uint32_t& epoch) noexcept;

/// Counts a close of `fd`; call it just before close(2). Waits while a
/// reactor holds the number (fd_epoch_hold()). Thread-safe; never throws,
/// never allocates (a number whose chunk does not exist was never
/// registered, so nothing can hold a record of it).
void fd_epoch_bump(int fd) noexcept;

/// Holds `fd` open at `epoch`: until fd_epoch_release(), a close of it
/// through fd_epoch_bump() waits. False (nothing held) if the number was
/// closed since `epoch`. For a reactor's epoll_ctl on a socket no waiter
/// of that reactor keeps alive: without the hold it could race the
/// socket's close on another thread. Hold for one system call only.
bool fd_epoch_hold(int fd, std::uint32_t epoch) noexcept;

/// Ends fd_epoch_hold(fd, epoch).
void fd_epoch_release(int fd, std::uint32_t epoch) noexcept;

}  // namespace kyoto::detail
