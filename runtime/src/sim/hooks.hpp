// The seam between kyoto's net types and the simulated network
// (kyoto::sim, runtime/src/sim/network.cpp): what runtime/src/net and the
// io_op call instead of the kernel.
//
// # How a socket becomes simulated
//
// A socket created by a task that runs inside a simulated host (the poll
// hooks the network installs set `sim_current_host`) is not a kernel
// socket: sys_socket() gives it a descriptor number from `sim_fd_base` up,
// above any the kernel hands out (RLIMIT_NOFILE cannot reach 2^30). From
// then on the number itself says where each operation goes: the sys_*
// wrappers below test it before the system call, and io_op::start() before
// the ring (an accept, connect, recv, send, recvmsg or sendmsg on such a
// socket completes from the simulated network, through the same
// io_op::complete() a CQE uses).
//
// # Cost outside a simulation
//
// sys_socket(): one thread-local load and a well-predicted branch. The
// others, and io_op::start(): one compare of the descriptor already in a
// register. io_op::cancel_slow() (a cancel of a request in flight): one
// call that tests whether any network exists on the thread. sys_close()
// also counts the close for the readiness backend (io/fd_epoch.hpp: one
// load, or one atomic add once a readiness backend registered a socket).
#pragma once

#include "io/fd_epoch.hpp"

#include <kyoto/net/socket_addr.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace kyoto::detail {

class io_op;
struct op_args;
struct sim_host;

/// Descriptors from here up are simulated sockets.
inline constexpr int sim_fd_base = 1 << 30;

/// Whether `fd` is a simulated socket.
inline bool is_sim_fd(int fd) noexcept {
  return fd >= sim_fd_base;
}

/// The simulated host the running task belongs to, or null (set by the
/// poll hooks of a simulated network; the running thread's only).
inline thread_local constinit sim_host* sim_current_host = nullptr;

// ---- the simulated counterparts of the system calls: -1 and errno on
// failure, as the kernel's (runtime/src/sim/network.cpp) ----

int sim_socket(int family, int type) noexcept;
int sim_bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int sim_listen(int fd, int backlog) noexcept;
int sim_connect(int fd, const sockaddr* addr, socklen_t len) noexcept;  // datagram sockets
int sim_shutdown(int fd, int how) noexcept;
int sim_close(int fd) noexcept;
int sim_setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int sim_getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept;
int sim_getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept;
int sim_getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept;

/// Starts `op` (state in_flight, node prepared) on a simulated socket: it
/// completes through op->complete(), possibly before this returns.
void sim_start_op(io_op* op, const op_args& args);
/// If `op` waits in a simulated network, forgets it and returns true (the
/// cancel won: nothing happened). False for any other op.
bool sim_cancel_op(io_op* op) noexcept;
/// lookup_host inside a simulated host: host names are the network's.
/// Throws as lookup_host does.
std::vector<net::socket_addr> sim_lookup(const std::string& host_port);

// ---- what runtime/src/net calls in place of the system calls ----

inline int sys_socket(int family, int type, int protocol) noexcept {
  if (sim_current_host != nullptr && (family == AF_INET || family == AF_INET6)) [[unlikely]]
    return sim_socket(family, type);
  return ::socket(family, type, protocol);
}
inline int sys_bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_bind(fd, addr, len);
  return ::bind(fd, addr, len);
}
inline int sys_listen(int fd, int backlog) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_listen(fd, backlog);
  return ::listen(fd, backlog);
}
inline int sys_connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_connect(fd, addr, len);
  return ::connect(fd, addr, len);
}
inline int sys_shutdown(int fd, int how) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_shutdown(fd, how);
  return ::shutdown(fd, how);
}
inline int sys_close(int fd) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_close(fd);
  fd_epoch_bump(fd);  // a readiness backend's registration of it goes stale
  return ::close(fd);
}
inline int sys_setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_setsockopt(fd, level, name, value, len);
  return ::setsockopt(fd, level, name, value, len);
}
inline int sys_getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_getsockopt(fd, level, name, value, len);
  return ::getsockopt(fd, level, name, value, len);
}
inline int sys_getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_getsockname(fd, addr, len);
  return ::getsockname(fd, addr, len);
}
inline int sys_getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  if (is_sim_fd(fd)) [[unlikely]]
    return sim_getpeername(fd, addr, len);
  return ::getpeername(fd, addr, len);
}

}  // namespace kyoto::detail
