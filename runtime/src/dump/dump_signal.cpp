// A task dump printed to stderr when the process receives a signal
// (runtime::builder::dump_on_signal, KYOTO_DUMP_SIGNAL).
//
// # Why a handler, a pipe and a thread of its own
//
// A dump takes locks and allocates, which a signal handler must not do. So
// the handler only writes one byte to a pipe (write(2) is async-signal-safe;
// the write end is non-blocking, and a full pipe already holds a byte that
// wakes the reader, so EAGAIN is ignored; errno is saved and restored). One
// plain thread per process, started with the first registration and with
// every signal blocked, reads the pipe and, for each wake-up, dumps every
// registered runtime that is still alive to stderr.
//
// Not the signal module's dispatcher (runtime/src/signal/registry.cpp):
// that one wakes tasks, which run on the runtime's own workers — and a dump
// is wanted most when those workers are stuck. This thread needs none of
// them: a dump only takes the live-task lists' locks.
//
// As with kyoto::signal, the handler replaces the signal's previous one
// (SIGQUIT's default action, a core dump, no longer happens) for the rest
// of the process; registering the same signal with kyoto::signal too
// leaves whichever handler was installed last.
#include "dump/dump_signal.hpp"

#include "signal/signal_free_thread.hpp"

#include <kyoto/runtime/dump.hpp>

#include <kyoto/runtime/detail/scheduler.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace kyoto::detail {

namespace {

/// The pipe's write end, for the handler (-1 until the thread runs).
std::atomic<int> wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

/// Dumps printed so far (tests wait on it).
std::atomic<std::uint64_t> printed{0};

struct dump_registry {
  std::mutex lock;
  std::vector<std::weak_ptr<scheduler>> runtimes;  ///< guarded by lock
  std::vector<int> installed;                      ///< signals with our handler; guarded
  bool started = false;                            ///< guarded by lock
};

dump_registry& the_registry() {
  static dump_registry* r = new dump_registry;  // never destroyed: the thread outlives main
  return *r;
}

extern "C" void kyoto_dump_signal_handler(int) {
  const int saved = errno;
  // Relaxed: the fd was published before the handler was installed
  // (sigaction is a full barrier for the installing thread, and the
  // handler reads a value set before).
  const int fd = wake_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

void write_all(int fd, const std::string& s) noexcept {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

void dump_all() noexcept {
  std::vector<std::shared_ptr<scheduler>> live;
  {
    dump_registry& r = the_registry();
    const std::lock_guard g(r.lock);
    std::erase_if(r.runtimes, [](const std::weak_ptr<scheduler>& w) { return w.expired(); });
    for (const auto& w : r.runtimes) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& s : live) {
    try {
      write_all(STDERR_FILENO, dump_scheduler(*s).to_text());
    } catch (...) {
      write_all(STDERR_FILENO, "kyoto task dump: failed (out of memory)\n");
    }
  }
  // Release: the output is written before a waiter sees the count.
  printed.fetch_add(1, std::memory_order_release);
  printed.notify_all();
}

void dump_thread(int fd) noexcept {
  char buf[64];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // cannot happen: the write end is never closed
    dump_all();
  }
}

/// Creates the pipe and starts the thread. Precondition: r.lock held.
void start_thread(dump_registry& r) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "kyoto::runtime::builder::dump_on_signal: pipe");
  }
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  // The thread must never run a handler.
  try {
    start_signal_free_thread(dump_thread, fds[0]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  wake_fd.store(fds[1], std::memory_order_relaxed);  // before any sigaction below
  r.started = true;
}

}  // namespace

int parse_dump_signal(const char* text) {
  const std::string s(text);
  struct name {
    const char* text;
    int signum;
  };
  static constexpr name names[] = {{"QUIT", SIGQUIT}, {"USR1", SIGUSR1},  {"USR2", SIGUSR2},
                                   {"HUP", SIGHUP},   {"INT", SIGINT},    {"TERM", SIGTERM},
                                   {"PWR", SIGPWR},   {"WINCH", SIGWINCH}};
  std::string bare = s.rfind("SIG", 0) == 0 ? s.substr(3) : s;
  for (const name& n : names) {
    if (bare == n.text) return n.signum;
  }
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && end != nullptr && *end == '\0' && v > 0 && v < NSIG) return static_cast<int>(v);
  throw std::invalid_argument("kyoto::runtime::builder::build: KYOTO_DUMP_SIGNAL=" + s +
                              " is not a signal (a name such as SIGQUIT or SIGUSR1, or a number)");
}

void enable_dump_on_signal(const std::shared_ptr<scheduler>& s, int signum) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP ||
      signum == SIGSEGV || signum == SIGBUS || signum == SIGILL || signum == SIGFPE) {
    throw std::invalid_argument("kyoto::runtime::builder::dump_on_signal: signal " +
                                std::to_string(signum) + " cannot be handled");
  }
  dump_registry& r = the_registry();
  const std::lock_guard g(r.lock);
  if (!r.started) start_thread(r);
  if (std::find(r.installed.begin(), r.installed.end(), signum) == r.installed.end()) {
    struct sigaction sa{};
    sa.sa_handler = &kyoto_dump_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(signum, &sa, nullptr) != 0) {
      throw std::system_error(errno, std::generic_category(),
                              "kyoto::runtime::builder::dump_on_signal: sigaction");
    }
    r.installed.push_back(signum);
  }
  r.runtimes.push_back(s);
}

std::uint64_t signal_dumps_printed() noexcept {
  // Acquire: pairs with the release increment in dump_all().
  return printed.load(std::memory_order_acquire);
}

void wait_signal_dumps_printed(std::uint64_t old) noexcept {
  // Acquire: as above.
  while (printed.load(std::memory_order_acquire) == old)
    printed.wait(old, std::memory_order_acquire);
}

}  // namespace kyoto::detail
