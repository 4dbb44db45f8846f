// kyoto::process::child: waiting on a pidfd, killing through it, and
// reaping the children nobody waits for (the protocol is at the top of
// <kyoto/process/child.hpp>).
#include "process/orphans.hpp"

#include <kyoto/process/child.hpp>
#include <kyoto/runtime/spawn.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/runtime/detail/context.hpp>

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace kyoto::detail {

namespace {

/// The children dropped unreaped with no reaper task: (pid, pidfd). Guarded
/// by orphans_lock.
std::mutex orphans_lock;
std::vector<std::pair<int, int>>& orphan_list() {
  static auto* v = new std::vector<std::pair<int, int>>();  // never destroyed
  return *v;
}

/// One dropped child's pid and pidfd, owned by its reaper task: if the task
/// ends without reaping it (cancelled by its runtime's shutdown, even
/// before it first ran: the ticket is the task's argument, destroyed with
/// its cell), the child joins the orphan list. Move-only.
struct reaper_ticket {
  int pid;
  int pidfd;
  reaper_ticket(int p, int fd) noexcept : pid(p), pidfd(fd) {}
  reaper_ticket(reaper_ticket&& o) noexcept : pid(o.pid), pidfd(std::exchange(o.pidfd, -1)) {}
  reaper_ticket& operator=(reaper_ticket&&) = delete;
  ~reaper_ticket() {
    if (pidfd >= 0) add_orphan(pid, pidfd);
  }
};

kyoto::task<> reap_in_background(reaper_ticket t) {
  for (;;) {
    std::optional<int> st;
    try {
      st = try_reap(t.pidfd);
    } catch (...) {
      co_return;  // the ticket hands it to the orphan list
    }
    if (st.has_value()) {
      ::close(std::exchange(t.pidfd, -1));
      co_return;
    }
    op_args a;
    a.opcode = opcode::poll_add;
    a.fd = t.pidfd;
    a.op_flags = POLLIN;
    const int r = co_await op_awaiter(a);
    if (r < 0 && r != -EINTR && r != -ECANCELED) co_return;  // the ticket hands it on
  }
}

}  // namespace

std::optional<int> try_reap(int pidfd) {
  siginfo_t si = {};
  for (;;) {
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si,
                 WEXITED | WNOHANG) == 0) {
      break;
    }
    if (errno == EINTR) continue;
    if (errno == ECHILD) return 0;  // reaped by someone else (waitpid(-1)): unknown status
    throw std::system_error(errno, std::generic_category(), "kyoto::process: waitid");
  }
  if (si.si_pid == 0) return std::nullopt;  // still running
  switch (si.si_code) {
    case CLD_EXITED:
      return (si.si_status & 0xff) << 8;
    case CLD_KILLED:
      return si.si_status & 0x7f;
    case CLD_DUMPED:
      return (si.si_status & 0x7f) | 0x80;
    default:
      return si.si_status;
  }
}

void add_orphan(int pid, int pidfd) noexcept {
  try {
    std::lock_guard<std::mutex> g(orphans_lock);
    orphan_list().emplace_back(pid, pidfd);
  } catch (...) {
    ::close(pidfd);  // out of memory: the zombie stays, nothing else leaks
  }
}

void reap_orphans() noexcept {
  std::lock_guard<std::mutex> g(orphans_lock);
  std::vector<std::pair<int, int>>& v = orphan_list();
  for (std::size_t i = 0; i < v.size();) {
    bool gone = true;
    try {
      gone = try_reap(v[i].second).has_value();
    } catch (...) {
      gone = true;  // waitid refuses the pidfd: nothing more can be done
    }
    if (gone) {
      ::close(v[i].second);
      v[i] = v.back();
      v.pop_back();
    } else {
      ++i;
    }
  }
}

std::size_t orphan_count() noexcept {
  std::lock_guard<std::mutex> g(orphans_lock);
  return orphan_list().size();
}

void hand_to_reaper(int pid, int pidfd) noexcept {
  if (current_context.sched != nullptr) {
    try {
      (void)kyoto::spawn(&reap_in_background, reaper_ticket(pid, pidfd));
      return;
    } catch (...) {  // NOLINT(bugprone-empty-catch): no task could be spawned (allocation,
                     // shutdown): the orphan list below reaps the child instead
    }
  }
  add_orphan(pid, pidfd);
}

}  // namespace kyoto::detail

namespace kyoto::process {

child::child(child&& o) noexcept
    : stdin(std::move(o.stdin)),
      stdout(std::move(o.stdout)),
      stderr(std::move(o.stderr)),
      pid_(o.pid_),
      pidfd_(std::exchange(o.pidfd_, -1)),
      status_(o.status_),
      kill_on_drop_(o.kill_on_drop_) {}

child::~child() {
  if (pidfd_ < 0) return;  // reaped, or moved from
  if (kill_on_drop_) {
    ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
  }
  kyoto::detail::hand_to_reaper(pid_, pidfd_);
}

std::optional<std::uint32_t> child::id() const noexcept {
  if (status_.has_value() || pid_ <= 0) return std::nullopt;
  return static_cast<std::uint32_t>(pid_);
}

std::optional<exit_status> child::try_wait() {
  if (status_.has_value()) return status_;
  if (pidfd_ < 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "kyoto::process::child: waiting on a moved-from child");
  }
  const std::optional<int> raw = kyoto::detail::try_reap(pidfd_);
  if (!raw.has_value()) return std::nullopt;
  status_ = exit_status::from_raw(*raw);
  ::close(pidfd_);
  pidfd_ = -1;
  kyoto::detail::reap_orphans();
  return status_;
}

kyoto::task<exit_status> child::wait() {
  stdin.reset();  // a child reading its stdin sees end of file (tokio does the same)
  for (;;) {
    const std::optional<exit_status> st = try_wait();
    if (st.has_value()) co_return *st;
    kyoto::detail::op_args a;
    a.opcode = kyoto::detail::opcode::poll_add;
    a.fd = pidfd_;
    a.op_flags = POLLIN;
    const int r = co_await kyoto::detail::op_awaiter(a);
    if (r < 0 && r != -EINTR && r != -ECANCELED) {
      throw std::system_error(-r, std::generic_category(),
                              "kyoto::process::child::wait: polling the pidfd");
    }
  }
}

void child::start_kill() {
  if (status_.has_value() || pidfd_ < 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "kyoto::process::child: can't kill an exited process");
  }
  if (::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0) != 0 && errno != ESRCH) {
    throw std::system_error(errno, std::generic_category(),
                            "kyoto::process::child::start_kill: pidfd_send_signal");
  }
}

kyoto::task<> child::kill() {
  start_kill();
  (void)co_await wait();
}

std::string exit_status::to_string() const {
  if (const auto c = code()) return "exit status: " + std::to_string(*c);
  if (const auto s = signal()) {
    std::string r = "signal: " + std::to_string(*s);
    if (const char* d = ::sigabbrev_np(*s)) r += std::string(" (SIG") + d + ")";
    if (core_dumped()) r += " (core dumped)";
    return r;
  }
  return "unknown wait status: " + std::to_string(into_raw());
}

}  // namespace kyoto::process
