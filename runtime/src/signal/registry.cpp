// How a Unix signal reaches kyoto's listeners.
//
// # Why a handler, a pipe and a thread
//
// A signal handler may only do async-signal-safe work, and it runs on
// whichever thread the kernel picks (any thread of the process that does
// not block the signal: a runtime worker, the user's own thread, a blocking
// pool thread). So the handler does two things only:
//
//   1. `pending[signum] = true` (a lock-free std::atomic<bool>: atomic
//      operations on lock-free atomics are async-signal-safe);
//   2. write one byte to the registry's pipe (write(2) is async-signal-safe;
//      the write end is non-blocking, and a full pipe already holds a byte
//      that will wake the dispatcher, so EAGAIN is ignored). errno is saved
//      and restored around it.
//
// The *dispatcher* is one plain thread per process, started by the first
// signal() call, blocked in read(2) on the pipe with every signal masked
// (so it never runs the handler itself). For each wake-up it drains the
// pipe, then for every signal whose `pending` flag it swaps back to false,
// increments the signal's slot generation and calls notify_waiters() on the
// slot's notify: every task waiting in recv() is woken through kyoto's
// ordinary sync wait list and resumes on its own runtime's thread.
//
// Why a thread and not an io_uring read on some runtime's ring: listeners
// may live on several runtimes at once, and any runtime may shut down while
// others still listen; a per-process thread is owned by no runtime, so
// there is nothing to hand over at a runtime's shutdown, and a signal()
// works outside a runtime too. It costs one thread that sleeps in read()
// for the rest of the process (tokio 1.24 instead reads its pipe in the
// driver of whichever runtime polls it).
//
// # No delivery lost
//
// The handler sets the flag *before* writing the byte; the dispatcher
// reads bytes *before* swapping the flags. If a pass's swap misses a flag,
// the handler stored it after that swap, so its byte is written after the
// pass's read: the next read() returns and the next pass sees the flag.
// Several deliveries between two passes coalesce into one generation step
// (as pending signals do in the kernel).
//
// Orderings: the handler's flag store is a release and the dispatcher's
// swap an acquire, so what the interrupted thread did before the signal is
// visible to the listener (through the generation's release/acquire pair
// below, and notify's own). The pipe's syscalls order them in practice as
// well; the atomics make it formal.
//
// # What it means for the rest of the process
//
//   - kyoto's handler *replaces* whatever handler the signal had (the
//     default action, SIG_IGN, or the user's), for the rest of the process:
//     it is installed by the first signal() for that number and never
//     removed, even when every listener is gone (tokio does the same). In
//     particular SIGINT no longer terminates the process after ctrl_c().
//     The previous handler is not chained.
//   - SA_RESTART is set, so system calls the handler interrupts on the
//     user's threads restart instead of failing with EINTR (those that
//     never restart, such as poll(2), still fail with EINTR).
//   - The user's threads may block signals (pthread_sigmask) as they like;
//     the kernel then delivers to another thread. If every thread blocks a
//     signal, listeners never see it.
//   - Signals that report a fault of the running thread (SIGSEGV, SIGBUS,
//     SIGILL, SIGFPE) and the two that cannot be caught (SIGKILL, SIGSTOP)
//     are refused: a handler that returns from a synchronous fault re-runs
//     the faulting instruction forever.
#include "signal/signal_free_thread.hpp"

#include <kyoto/signal/ctrl_c.hpp>
#include <kyoto/signal/unix/signal.hpp>

#include <kyoto/signal/detail/registry.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace kyoto::detail {

namespace {

constexpr int max_signal = NSIG;  // signal numbers are 1 .. NSIG-1

/// Set by the handler (release), swapped back by the dispatcher (acquire).
/// std::atomic, not the detail::atomic test seam: the handler needs a
/// plain lock-free atomic to stay async-signal-safe.
std::atomic<bool> pending[max_signal];
static_assert(std::atomic<bool>::is_always_lock_free);

/// The pipe's write end, for the handler; -1 until the registry exists.
/// Written once, under the registry lock, before the first sigaction;
/// read by the handler. Relaxed both ways: a handler runs only after
/// sigaction installed it, a system call made after the store in program
/// order, and the kernel's delivery of the signal is ordered after the
/// installation.
std::atomic<int> pipe_write{-1};

/// The registry: slots, the installed set, the pipe's read end.
struct registry {
  std::mutex lock;                      ///< guards installed and the start
  bool installed[max_signal] = {};      ///< kyoto's handler is installed
  signal_slot* slots[max_signal] = {};  ///< created with the handler, never freed
  int read_fd = -1;                     ///< the dispatcher's end
  bool started = false;                 ///< the dispatcher thread runs
};

registry& the_registry() {
  static registry* r = new registry();  // never destroyed: handlers may run at exit
  return *r;
}

extern "C" void kyoto_signal_handler(int signum) {
  const int saved = errno;
  if (signum > 0 && signum < max_signal) {
    // Release: pairs with the dispatcher's acquire exchange.
    pending[signum].store(true, std::memory_order_release);
  }
  const int fd = pipe_write.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const char byte = 1;
    // EAGAIN (pipe full) is fine: the unread bytes wake the dispatcher.
    [[maybe_unused]] const ssize_t w = ::write(fd, &byte, 1);
  }
  errno = saved;
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string signal_name(int signum) {
  switch (signum) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGCHLD:
      return "SIGCHLD";
    case SIGCONT:
      return "SIGCONT";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGTSTP:
      return "SIGTSTP";
    case SIGTTIN:
      return "SIGTTIN";
    case SIGTTOU:
      return "SIGTTOU";
    case SIGURG:
      return "SIGURG";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGVTALRM:
      return "SIGVTALRM";
    case SIGPROF:
      return "SIGPROF";
    case SIGWINCH:
      return "SIGWINCH";
    case SIGIO:
      return "SIGIO";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal " + std::to_string(signum);
  }
}

void dispatch_loop(int fd) {
  char buf[128];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // cannot happen: the write end is never closed
    registry& r = the_registry();
    for (int s = 1; s < max_signal; ++s) {
      // Acquire: pairs with the handler's release store.
      if (!pending[s].exchange(false, std::memory_order_acquire)) continue;
      signal_slot* slot;
      {
        std::lock_guard<std::mutex> g(r.lock);
        slot = r.slots[s];
      }
      if (slot == nullptr) continue;  // raced the installation: nobody listens yet
      // Release: pairs with the acquire load in signal_listener::try_recv(),
      // so a listener that sees the step sees what the dispatch saw.
      slot->generation.fetch_add(1, std::memory_order_release);
      slot->waiters.notify_waiters();
    }
  }
}

/// Creates the pipe and starts the dispatcher. Precondition: r.lock held.
void start_dispatcher(registry& r) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("kyoto::signal: pipe2");
  const int flags = ::fcntl(fds[1], F_GETFL);
  if (flags < 0 || ::fcntl(fds[1], F_SETFL, flags | O_NONBLOCK) != 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    errno = e;
    throw_errno("kyoto::signal: fcntl(O_NONBLOCK)");
  }
  // The dispatcher never runs a handler.
  try {
    start_signal_free_thread(dispatch_loop, fds[0]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  r.read_fd = fds[0];
  // Relaxed: the only reader is the handler, installed by sigaction after
  // this store on this thread (see pipe_write's comment).
  pipe_write.store(fds[1], std::memory_order_relaxed);
  r.started = true;
}

}  // namespace

signal_slot& signal_register(int signum) {
  if (signum <= 0 || signum >= max_signal) {
    throw std::invalid_argument("kyoto::signal: " + std::to_string(signum) +
                                " is not a signal number (1.." + std::to_string(max_signal - 1) +
                                ")");
  }
  switch (signum) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGKILL:
    case SIGSTOP:
      throw std::invalid_argument("kyoto::signal: " + signal_name(signum) + " (" +
                                  std::to_string(signum) +
                                  ") cannot be listened to: kyoto never handles it");
    default:
      break;
  }
  registry& r = the_registry();
  std::lock_guard<std::mutex> g(r.lock);
  if (!r.installed[signum]) {
    if (!r.started) start_dispatcher(r);
    if (r.slots[signum] == nullptr) r.slots[signum] = new signal_slot();  // never freed
    struct sigaction sa = {};
    sa.sa_handler = &kyoto_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(signum, &sa, nullptr) != 0) {
      throw_errno("kyoto::signal: sigaction(" + signal_name(signum) + ")");
    }
    r.installed[signum] = true;
  }
  return *r.slots[signum];
}

}  // namespace kyoto::detail

namespace kyoto::signal {

namespace {
kyoto::task<> wait_once(unix::signal_listener l) {
  (void)co_await l.recv();
}
}  // namespace

kyoto::task<> ctrl_c() {
  return wait_once(unix::signal(unix::signal_kind::interrupt()));
}

}  // namespace kyoto::signal
