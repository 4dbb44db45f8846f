// kyoto::process::command: how to start a child process (tokio's
// process::Command).
//
//   kyoto::process::command cmd("/bin/sh");
//   cmd.arg("-c").arg("echo hello");
//   kyoto::process::output out = co_await cmd.output();
//   // out.status.success(), out.stdout == "hello\n"
//
// Spawning uses posix_spawn(3) (glibc's: clone(CLONE_VM|CLONE_VFORK), so
// the parent's memory is not copied, and a failure in the child, exec's or
// a file action's, comes back as the call's errno): the error names the
// program, the directory if one was set, and the cause.
#pragma once

#include <kyoto/process/child.hpp>
#include <kyoto/process/exit_status.hpp>
#include <kyoto/process/stdio.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kyoto::process {

/// A builder for a child process (tokio's Command): the program, its
/// arguments, environment, working directory and standard streams. Setters
/// return *this for chaining. spawn(), status() and output() may be called
/// many times, each starting a new child.
///
/// A program name without a '/' is searched in the parent's PATH (not in
/// a PATH set with env(); std's and tokio's Command search the child's).
///
/// Thread safety: a value; one thread configures it at a time.
class KYOTO_EXPORT command {
 public:
  /// A command that runs `program` with no arguments, the parent's
  /// environment and working directory, and (for spawn() and status())
  /// the parent's standard streams.
  explicit command(std::string program);

  /// Appends one argument.
  command& arg(std::string a);
  /// Appends each argument of `as`, in order.
  template <class Range>
  command& args(const Range& as) {
    for (const auto& a : as)
      args_.emplace_back(a);
    return *this;
  }
  /// Appends each argument, in order.
  command& args(std::initializer_list<std::string_view> as);
  /// Sets the child's argv[0] (std's CommandExt::arg0; the program run is
  /// still the one given to the constructor).
  command& arg0(std::string a);

  /// Sets an environment variable of the child.
  command& env(std::string key, std::string value);
  /// Removes an environment variable from the child's environment.
  command& env_remove(std::string key);
  /// Starts the child from an empty environment (then env() adds to it).
  command& env_clear();

  /// Runs the child in `dir`.
  command& current_dir(std::filesystem::path dir);

  /// Connects the child's stdin (spawn/status default: inherit; output():
  /// null).
  command& stdin(stdio s);
  /// Connects the child's stdout (spawn/status default: inherit; output():
  /// piped).
  command& stdout(stdio s);
  /// Connects the child's stderr (as stdout).
  command& stderr(stdio s);

  /// Whether dropping the child kills it (SIGKILL) if it has not been
  /// reaped yet (tokio's kill_on_drop). Default false.
  command& kill_on_drop(bool kill) noexcept;
  /// Puts the child in process group `pgid` (0: a new group led by the
  /// child), std's CommandExt::process_group.
  command& process_group(int pgid) noexcept;

  /// Starts the child (tokio's spawn). Throws std::system_error naming the
  /// program and the cause (e.g. ENOENT for a missing program or working
  /// directory, EACCES). Any thread; awaiting the child's wait() needs a
  /// runtime thread.
  [[nodiscard]] child spawn();

  /// Spawns the child and waits for it (tokio's status()); stdin, stdout
  /// and stderr default to inherit. The child is spawned at the call, so a
  /// spawn error is thrown there. Resumed on the awaiting task's thread;
  /// cancelling the await drops the child (killed only with kill_on_drop).
  [[nodiscard]] kyoto::task<exit_status> status();

  /// Spawns the child and collects its output (tokio's output()): stdout
  /// and stderr default to piped and are read concurrently to their end,
  /// stdin defaults to null; then the child is reaped. Spawned at the call.
  /// Resumed on the awaiting task's thread.
  [[nodiscard]] kyoto::task<kyoto::process::output> output();

  /// The program, as given to the constructor.
  const std::string& get_program() const noexcept { return program_; }
  /// The arguments (without argv[0]).
  const std::vector<std::string>& get_args() const noexcept { return args_; }

 private:
  child spawn_with(stdio in, stdio out, stdio err);

  std::string program_;
  std::optional<std::string> arg0_;
  std::vector<std::string> args_;
  /// Changes to the environment: a value to set, or nullopt to remove.
  std::map<std::string, std::optional<std::string>> env_;
  bool env_clear_ = false;
  std::optional<std::filesystem::path> dir_;
  std::optional<stdio> stdin_;
  std::optional<stdio> stdout_;
  std::optional<stdio> stderr_;
  bool kill_on_drop_ = false;
  std::optional<int> pgroup_;
};

}  // namespace kyoto::process
