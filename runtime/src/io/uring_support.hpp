// Whether this process may use io_uring, and what to say when it may not.
//
// io_uring is refused in many sandboxes: Docker's default seccomp profile
// and Kubernetes' RuntimeDefault answer io_uring_setup with EPERM, gVisor
// and some filters with ENOSYS, and the kernel.io_uring_disabled sysctl
// (Linux 6.6) with EPERM. kyoto cannot run without a ring, so it says so
// where a runtime is built: a std::system_error whose message names the
// refused call, the errno, the likely cause (read from /proc: the sysctl,
// the process's seccomp mode) and how to allow it. Never std::terminate.
#pragma once

#include <kyoto/runtime/io_backend.hpp>

namespace kyoto::detail {

/// Throws the std::system_error described above for `err` (a positive
/// errno), which `call` (e.g. "io_uring_setup") returned. Any thread.
[[noreturn]] void throw_io_uring_unavailable(int err, const char* call);

/// Checks that the runtime being built can run its I/O:
/// choose_io_backend(requested) (readiness.hpp), which, unless the builder
/// or KYOTO_IO_BACKEND says epoll, probes
/// whether this process may create an io_uring ring with the features
/// kyoto relies on (IORING_FEAT_EXT_ARG) by creating a one-entry ring and
/// closing it, and throws as throw_io_uring_unavailable() if io_uring is
/// refused and forced (the builder, or KYOTO_IO_BACKEND=io_uring). Remembers a success, so
/// only the first call of the process pays (a few tens of µs). Taken where
/// a runtime is built on a thread other than the one that will own its
/// ring (current_thread::build). Any thread.
void check_io_uring_available(kyoto::io_backend requested);

}  // namespace kyoto::detail
