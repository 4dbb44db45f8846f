// kyoto::process::exit_status and output: how a child ended, and what it
// wrote (std's / tokio's ExitStatus and Output).
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <optional>
#include <string>

namespace kyoto::process {

/// How a child process ended (std::process::ExitStatus): its exit code, or
/// the signal that killed it. A plain value.
class KYOTO_EXPORT exit_status {
 public:
  /// From a wait status as waitpid(2) gives it (std's ExitStatusExt::from_raw).
  static constexpr exit_status from_raw(int wait_status) noexcept {
    return exit_status(wait_status);
  }
  /// Whether the child exited with code 0.
  constexpr bool success() const noexcept { return code() == 0; }
  /// The exit code, if the child exited (not killed by a signal).
  constexpr std::optional<int> code() const noexcept {
    if ((raw_ & 0x7f) == 0) return (raw_ >> 8) & 0xff;
    return std::nullopt;
  }
  /// The signal that killed the child, if any (std's ExitStatusExt::signal).
  constexpr std::optional<int> signal() const noexcept {
    const int sig = raw_ & 0x7f;
    if (sig != 0 && sig != 0x7f) return sig;
    return std::nullopt;
  }
  /// Whether the child dumped core when killed.
  constexpr bool core_dumped() const noexcept { return signal().has_value() && (raw_ & 0x80) != 0; }
  /// The wait status (std's ExitStatusExt::into_raw).
  constexpr int into_raw() const noexcept { return raw_; }
  /// "exit status: 2" or "signal: 9 (SIGKILL)", as std's Display.
  std::string to_string() const;

  friend constexpr bool operator==(exit_status, exit_status) noexcept = default;

 private:
  explicit constexpr exit_status(int raw) noexcept : raw_(raw) {}
  int raw_;
};

/// What command::output() collects (std's Output): the exit status and
/// everything the child wrote to stdout and stderr.
struct output {
  /// How the child ended.
  exit_status status;
  /// Everything the child wrote to its stdout (bytes, in a std::string).
  std::string stdout;
  /// Everything the child wrote to its stderr.
  std::string stderr;
};

}  // namespace kyoto::process
