// kyoto::process::child: a running child process (tokio's process::Child).
//
// # Observing the exit without a thread per child, and without zombies
//
// Each child is opened as a pidfd (pidfd_open(2)) right after it is
// spawned. wait() asks waitid(P_PIDFD, WNOHANG) and, while the child runs,
// awaits an io_uring POLL_ADD on the pidfd (readable when the child exits)
// on the awaiting thread's ring. The pidfd also makes kill() race-free:
// pidfd_send_signal never reaches another process that reused the pid.
//
// A child dropped before it was reaped is not left a zombie: if a runtime
// runs on the dropping thread, a detached reaper task awaits its pidfd and
// reaps it; otherwise (or if that task is cancelled by its runtime's
// shutdown first) it joins the process-wide orphan list, which is reaped
// (WNOHANG) at every spawn and every completed wait() (tokio's orphan
// queue).
#pragma once

#include <kyoto/process/exit_status.hpp>
#include <kyoto/process/pipe.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <cstdint>
#include <optional>

namespace kyoto::process {

class command;

/// A spawned child process (tokio's Child), made by command::spawn().
///
/// Its piped standard streams are the public members stdin, stdout and
/// stderr (empty unless piped); take them with std::move (tokio's take()).
/// Dropping the child does not kill it unless the command set
/// kill_on_drop(true), and never leaves a zombie (see the file comment).
///
/// Move-only. Thread safety: one task uses a child at a time; wait() may
/// be awaited on any runtime thread (the pidfd's poll request goes to the
/// awaiting thread's ring).
class KYOTO_EXPORT child {
 public:
  /// Takes over `o`'s process and pipes; `o` is left empty (owns no process).
  child(child&& o) noexcept;
  child& operator=(child&&) = delete;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  /// Kills the child if kill_on_drop was set and it was not reaped; hands
  /// the unreaped child to the background reaper.
  ~child();

  /// The process id, until the child has been reaped (std::nullopt after
  /// wait() or try_wait() saw it exit), as tokio's Child::id.
  std::optional<std::uint32_t> id() const noexcept;

  /// Waits for the child to exit and reaps it (tokio's Child::wait):
  /// closes stdin first (so a child reading it is not left waiting), then
  /// gives the exit status. Fused: after the first success, gives the same
  /// status at once. Resumed on the awaiting task's thread. Cancel safe
  /// (the child keeps running; wait() again later). Throws
  /// std::system_error if waitid or the poll request fails.
  [[nodiscard]] kyoto::task<exit_status> wait();

  /// The exit status if the child has exited (reaping it), std::nullopt if
  /// it still runs (tokio's try_wait). Never waits. Throws std::system_error.
  std::optional<exit_status> try_wait();

  /// Sends SIGKILL without waiting (tokio's start_kill). Throws
  /// std::system_error with EINVAL if the child was already reaped
  /// ("can't kill an exited process"), or on another failure. A child that
  /// exited but was not reaped yet is not an error.
  void start_kill();

  /// start_kill(), then wait() (tokio's kill().await); gives nothing.
  [[nodiscard]] kyoto::task<> kill();

  /// The write end of the child's stdin, if piped.
  std::optional<child_stdin> stdin;
  /// The read end of the child's stdout, if piped.
  std::optional<child_stdout> stdout;
  /// The read end of the child's stderr, if piped.
  std::optional<child_stderr> stderr;

 private:
  friend class command;
  child(int pid, int pidfd, bool kill_on_drop) noexcept
      : pid_(pid), pidfd_(pidfd), kill_on_drop_(kill_on_drop) {}

  int pid_ = -1;
  /// The pidfd; -1 once the child is reaped (and the descriptor closed) or
  /// handed to the reaper.
  int pidfd_ = -1;
  /// The status, once reaped.
  std::optional<exit_status> status_;
  bool kill_on_drop_ = false;
};

}  // namespace kyoto::process
