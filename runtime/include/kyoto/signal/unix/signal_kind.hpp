// kyoto::signal::unix::signal_kind: which Unix signal to listen for
// (tokio's signal::unix::SignalKind).
#pragma once

#include <csignal>

// GCC and Clang predefine `unix` as 1 outside strict ISO mode (-std=gnu++20,
// the default dialect), which would turn `kyoto::signal::unix` into
// `kyoto::signal::1`. Portable code tests `__unix__` instead.
#ifdef unix
#undef unix
#endif

namespace kyoto::signal::unix {

/// A Unix signal number, named (tokio's SignalKind). A plain value.
///
/// Any number may be made with from_raw(); signal() refuses the ones kyoto
/// must never handle (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL, SIGSTOP) and
/// numbers that are not signals. Thread safety: a value.
class signal_kind {
 public:
  /// The signal numbered `signum` (tokio's SignalKind::from_raw).
  static constexpr signal_kind from_raw(int signum) noexcept { return signal_kind(signum); }
  /// SIGALRM: a real-time timer expired.
  static constexpr signal_kind alarm() noexcept { return signal_kind(SIGALRM); }
  /// SIGCHLD: a child process changed state.
  static constexpr signal_kind child() noexcept { return signal_kind(SIGCHLD); }
  /// SIGHUP: the terminal was disconnected.
  static constexpr signal_kind hangup() noexcept { return signal_kind(SIGHUP); }
  /// SIGINT: the interrupt character (Ctrl-C) was typed.
  static constexpr signal_kind interrupt() noexcept { return signal_kind(SIGINT); }
  /// SIGIO: I/O is possible on a descriptor.
  static constexpr signal_kind io() noexcept { return signal_kind(SIGIO); }
  /// SIGPIPE: a write to a pipe with no reader.
  static constexpr signal_kind pipe() noexcept { return signal_kind(SIGPIPE); }
  /// SIGQUIT: the quit character was typed.
  static constexpr signal_kind quit() noexcept { return signal_kind(SIGQUIT); }
  /// SIGTERM: a request to terminate.
  static constexpr signal_kind terminate() noexcept { return signal_kind(SIGTERM); }
  /// SIGUSR1: user-defined.
  static constexpr signal_kind user_defined1() noexcept { return signal_kind(SIGUSR1); }
  /// SIGUSR2: user-defined.
  static constexpr signal_kind user_defined2() noexcept { return signal_kind(SIGUSR2); }
  /// SIGWINCH: the terminal window changed size.
  static constexpr signal_kind window_change() noexcept { return signal_kind(SIGWINCH); }

  /// The signal number (tokio's as_raw_value).
  constexpr int as_raw_value() const noexcept { return signum_; }

  friend constexpr bool operator==(signal_kind, signal_kind) noexcept = default;

 private:
  explicit constexpr signal_kind(int signum) noexcept : signum_(signum) {}
  int signum_;
};

}  // namespace kyoto::signal::unix
