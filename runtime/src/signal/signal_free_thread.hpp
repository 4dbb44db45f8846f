// A detached thread that never runs a signal handler: what the signal
// dispatcher (signal/registry.cpp) and the dump-on-signal thread
// (dump/dump_signal.cpp) run on.
#pragma once

#include <pthread.h>

#include <csignal>
#include <thread>
#include <utility>

namespace kyoto::detail {

/// Starts `f(args...)` on a detached thread with every signal blocked: a
/// thread inherits its creator's mask, so the mask is set around the
/// creation and restored after, also when std::thread throws (rethrown).
template <class F, class... Args>
void start_signal_free_thread(F&& f, Args&&... args) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread(std::forward<F>(f), std::forward<Args>(args)...).detach();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace kyoto::detail
