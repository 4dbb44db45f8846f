#include "io/uring_support.hpp"

#include "io/readiness.hpp"
#include "log.hpp"

#include <kyoto/runtime/detail/config.hpp>

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace kyoto::detail {

namespace {

/// The first integer of /proc's file `path`, or nothing if unreadable.
std::optional<long> read_proc_number(const char* path) {
  std::ifstream in(path);
  long v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

/// The Seccomp: field of /proc/self/status (0 none, 1 strict, 2 filter).
std::optional<long> seccomp_mode() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp:", 0) == 0) {
      try {
        return std::stol(line.substr(8));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

/// How to let a filtered process use io_uring.
constexpr const char* seccomp_allow =
    "run it with a seccomp profile that allows io_uring_setup, io_uring_enter and "
    "io_uring_register (Docker: --security-opt seccomp=<profile.json>; Kubernetes: a "
    "Localhost seccompProfile)";

/// Why `err` and how to allow io_uring, from what /proc tells.
std::string explain(int err) {
  const std::optional<long> disabled = read_proc_number("/proc/sys/kernel/io_uring_disabled");
  const std::optional<long> seccomp = seccomp_mode();
  const bool filtered = seccomp && *seccomp != 0;
  if (err == EPERM || err == EACCES) {
    if (disabled && *disabled == 2) {
      return "the kernel.io_uring_disabled sysctl is 2 (io_uring is off for every process): "
             "allow it with `sysctl -w kernel.io_uring_disabled=0`";
    }
    if (disabled && *disabled == 1 && !filtered) {
      return "the kernel.io_uring_disabled sysctl is 1 (only root and the members of "
             "kernel.io_uring_group may use io_uring): add this user to that group or set "
             "`sysctl -w kernel.io_uring_disabled=0`";
    }
    if (filtered) {
      return std::string(
                 "this process runs under a seccomp filter (Docker's default profile "
                 "and Kubernetes' RuntimeDefault refuse io_uring): ") +
             seccomp_allow;
    }
    return std::string(
               "a seccomp filter (Docker's default profile, Kubernetes' "
               "RuntimeDefault) or the kernel.io_uring_disabled sysctl refuses it: ") +
           seccomp_allow + ", or set `sysctl -w kernel.io_uring_disabled=0`";
  }
  if (err == ENOSYS) {
    std::string why =
        "the kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1), or a "
        "sandbox hides it (gVisor; a seccomp filter answering ENOSYS)";
    if (filtered) {
      why += "; this process runs under a seccomp filter: if it is the one refusing, ";
      why += seccomp_allow;
    }
    return why;
  }
  if (err == ENOMEM) {
    return "the kernel could not allocate the ring; before Linux 5.12 rings count against the "
           "locked-memory limit: raise it (ulimit -l, LimitMEMLOCK=, docker run --ulimit "
           "memlock=-1)";
  }
  if (err == EMFILE || err == ENFILE) {
    return "the process or the system is out of file descriptors (each runtime thread holds a "
           "ring): raise the limit (ulimit -n)";
  }
  return "kyoto needs io_uring from Linux 5.11 or newer";
}

/// Set once a probe succeeded: the sysctl and seccomp cannot start refusing
/// later for this process (a filter, once installed, stays; the sysctl is
/// read at set-up, and a change is an administrator's act).
atomic<bool> probe_succeeded{false};

}  // namespace

void throw_io_uring_unavailable(int err, const char* call) {
  const char* name = strerrorname_np(err);
  std::string what =
      std::string("kyoto: io_uring is unavailable: ") + call + " failed with " +
      (name != nullptr ? name : std::to_string(err)) + "; " + explain(err) +
      ". kyoto was asked to run its I/O on io_uring (runtime::builder::io_backend or "
      "KYOTO_IO_BACKEND=io_uring) or "
      "cannot fall back for this error; KYOTO_IO_BACKEND=epoll runs it on the "
      "readiness backend instead (docs/io.md, \"Where io_uring is refused\")";
  throw std::system_error(err, std::system_category(), what);
}

namespace {

/// The errno of a probe refusing io_uring (0: allowed), and throws the
/// std::system_error of a kernel too old for kyoto's ring.
int probe_io_uring() {
  // Relaxed: only a cache; a thread that misses it probes again.
  if (probe_succeeded.load(std::memory_order_relaxed)) return 0;
  io_uring_params params{};
  // The raw call: no liburing version differences in how errors come back.
  const long fd = ::syscall(__NR_io_uring_setup, 1u, &params);
  if (fd < 0) return errno;
  ::close(static_cast<int>(fd));
  if ((params.features & IORING_FEAT_EXT_ARG) == 0) {
    throw std::system_error(ENOSYS, std::system_category(),
                            "kyoto: the kernel's io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11 "
                            "or newer is needed)");
  }
  probe_succeeded.store(true, std::memory_order_relaxed);  // relaxed: as above
  return 0;
}

/// Whether the fallback was said already (once per process).
atomic<bool> fallback_said{false};

}  // namespace

io_backend_kind choose_io_backend(kyoto::io_backend requested) {
  if (requested == kyoto::io_backend::epoll) return io_backend_kind::epoll;
  bool forced = requested == kyoto::io_backend::io_uring;
  if (!forced) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv; read at each ring's creation
    const char* env = std::getenv("KYOTO_IO_BACKEND");
    const std::string_view want = env != nullptr ? env : "";
    if (want == "epoll") return io_backend_kind::epoll;
    forced = want == "io_uring";
    if (!forced && !want.empty() && want != "auto") {
      throw std::invalid_argument(std::string("kyoto: KYOTO_IO_BACKEND=") + env +
                                  ": expected auto, io_uring or epoll");
    }
  }
  const int err = probe_io_uring();
  if (err == 0) return io_backend_kind::io_uring;
  if (forced || (err != EPERM && err != EACCES && err != ENOSYS)) {
    throw_io_uring_unavailable(err, "io_uring_setup");
  }
  // Relaxed: only says whether to log.
  if (!fallback_said.exchange(true, std::memory_order_relaxed)) {
    const char* name = strerrorname_np(err);
    log_warn(
        "io_uring is unavailable (io_uring_setup failed with {}: {}); running on the epoll "
        "readiness backend instead (docs/io.md, \"Where io_uring is refused\"; "
        "io_backend::io_uring or KYOTO_IO_BACKEND=io_uring makes this an error)",
        name != nullptr ? name : std::to_string(err), explain(err));
  }
  return io_backend_kind::epoll;
}

void check_io_uring_available(kyoto::io_backend requested) {
  (void)choose_io_backend(requested);
}

}  // namespace kyoto::detail
