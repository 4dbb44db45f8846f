// kyoto::process::command: building the child's argv, environment and file
// actions, and posix_spawn (see <kyoto/process/command.hpp>).
#include "process/orphans.hpp"

#include <kyoto/io/read_ext.hpp>
#include <kyoto/process/command.hpp>
#include <kyoto/runtime/join.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
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

extern "C" char** environ;

namespace kyoto::process {

namespace {

/// Owns the posix_spawn attribute and file-action objects.
struct spawn_setup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  spawn_setup() {
    if (const int e = posix_spawn_file_actions_init(&actions); e != 0) {
      throw std::system_error(e, std::generic_category(), "kyoto::process: posix_spawn");
    }
    if (const int e = posix_spawnattr_init(&attr); e != 0) {
      posix_spawn_file_actions_destroy(&actions);
      throw std::system_error(e, std::generic_category(), "kyoto::process: posix_spawn");
    }
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
  ~spawn_setup() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
};

/// The descriptors made for one spawn, closed unless handed on.
struct fd_set_guard {
  std::vector<int> fds;
  fd_set_guard() = default;
  fd_set_guard(const fd_set_guard&) = delete;
  fd_set_guard& operator=(const fd_set_guard&) = delete;
  ~fd_set_guard() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int add(int fd) {
    fds.push_back(fd);
    return fd;
  }
  int take(int fd) {
    for (int& f : fds)
      if (f == fd) f = -1;
    return fd;
  }
};

/// A write to a pipe whose reader is gone raises SIGPIPE in the writing
/// thread, and io_uring writes from the runtime's threads: left at its
/// default action, a child that exits before reading its stdin would kill
/// the whole parent. So the first spawn with a piped stdin sets SIGPIPE to
/// SIG_IGN if (and only if) it is still SIG_DFL, as every Rust program does
/// at startup; the write then fails with EPIPE. A handler the user (or
/// kyoto::signal) installed is left alone. Children get SIGPIPE's default
/// back (POSIX_SPAWN_SETSIGDEF below).
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction old = {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL &&
        (old.sa_flags & SA_SIGINFO) == 0) {
      struct sigaction ign = {};
      ign.sa_handler = SIG_IGN;
      sigemptyset(&ign.sa_mask);
      ::sigaction(SIGPIPE, &ign, nullptr);
    }
  });
}

void check(int e, const std::string& what) {
  if (e != 0) throw std::system_error(e, std::generic_category(), what);
}

kyoto::task<> read_all(std::optional<child_stdout>& s, std::string& out) {
  if (s.has_value()) (void)co_await kyoto::io::read_to_string(*s, out);
}

kyoto::task<> read_all_err(std::optional<child_stderr>& s, std::string& out) {
  if (s.has_value()) (void)co_await kyoto::io::read_to_string(*s, out);
}

kyoto::task<exit_status> wait_for(child c) {
  co_return co_await c.wait();
}

kyoto::task<output> collect(child c) {
  std::string out;
  std::string err;
  (void)co_await kyoto::join(read_all(c.stdout, out), read_all_err(c.stderr, err));
  const exit_status st = co_await c.wait();
  co_return output{st, std::move(out), std::move(err)};
}

}  // namespace

command::command(std::string program) : program_(std::move(program)) {}

command& command::arg(std::string a) {
  args_.push_back(std::move(a));
  return *this;
}

command& command::args(std::initializer_list<std::string_view> as) {
  for (std::string_view a : as)
    args_.emplace_back(a);
  return *this;
}

command& command::arg0(std::string a) {
  arg0_ = std::move(a);
  return *this;
}

command& command::env(std::string key, std::string value) {
  env_[std::move(key)] = std::move(value);
  return *this;
}

command& command::env_remove(std::string key) {
  env_[std::move(key)] = std::nullopt;
  return *this;
}

command& command::env_clear() {
  env_clear_ = true;
  env_.clear();
  return *this;
}

command& command::current_dir(std::filesystem::path dir) {
  dir_ = std::move(dir);
  return *this;
}

command& command::stdin(stdio s) {
  stdin_ = s;
  return *this;
}

command& command::stdout(stdio s) {
  stdout_ = s;
  return *this;
}

command& command::stderr(stdio s) {
  stderr_ = s;
  return *this;
}

command& command::kill_on_drop(bool kill) noexcept {
  kill_on_drop_ = kill;
  return *this;
}

command& command::process_group(int pgid) noexcept {
  pgroup_ = pgid;
  return *this;
}

child command::spawn() {
  return spawn_with(stdio::inherit(), stdio::inherit(), stdio::inherit());
}

kyoto::task<exit_status> command::status() {
  return wait_for(spawn_with(stdio::inherit(), stdio::inherit(), stdio::inherit()));
}

kyoto::task<output> command::output() {
  return collect(spawn_with(stdio::null(), stdio::piped(), stdio::piped()));
}

child command::spawn_with(stdio in, stdio out, stdio err) {
  kyoto::detail::reap_orphans();  // tokio reaps its orphan queue at each spawn too

  const std::string name = "kyoto::process: spawning '" + program_ + "'";
  spawn_setup setup;
  fd_set_guard fds;

  // Standard streams: a pipe end, /dev/null, or nothing (inherited).
  const stdio streams[3] = {stdin_.value_or(in), stdout_.value_or(out), stderr_.value_or(err)};
  int parent_end[3] = {-1, -1, -1};
  for (int target = 0; target < 3; ++target) {
    switch (streams[target].get()) {
      case stdio::kind::inherit:
        break;
      case stdio::kind::null: {
        const int fd = ::open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        if (fd < 0) check(errno, name + ": opening /dev/null");
        fds.add(fd);
        check(posix_spawn_file_actions_adddup2(&setup.actions, fd, target), name);
        break;
      }
      case stdio::kind::piped: {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) check(errno, name + ": pipe2");
        fds.add(p[0]);
        fds.add(p[1]);
        // stdin: the child reads p[0]; stdout/stderr: the child writes p[1].
        const int child_end = target == 0 ? p[0] : p[1];
        if (target == 0) ignore_sigpipe_once();
        parent_end[target] = target == 0 ? p[1] : p[0];
        check(posix_spawn_file_actions_adddup2(&setup.actions, child_end, target), name);
        break;
      }
    }
  }
  if (dir_.has_value()) {
    check(posix_spawn_file_actions_addchdir_np(&setup.actions, dir_->c_str()), name);
  }

  // Signals: an empty mask (the calling thread's is not the child's
  // business), and SIGPIPE back to its default as std's Command does
  // (kyoto's own handlers are reset by exec anyway).
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t empty;
  sigemptyset(&empty);
  check(posix_spawnattr_setsigmask(&setup.attr, &empty), name);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  check(posix_spawnattr_setsigdefault(&setup.attr, &def), name);
  if (pgroup_.has_value()) {
    flags |= POSIX_SPAWN_SETPGROUP;
    check(posix_spawnattr_setpgroup(&setup.attr, *pgroup_), name);
  }
  check(posix_spawnattr_setflags(&setup.attr, flags), name);

  // argv and envp.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(arg0_ ? arg0_->c_str() : program_.c_str()));
  for (std::string& a : args_)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  // The parent's environment as is, or a new one with env_'s changes.
  std::vector<std::string> env_storage;
  std::vector<char*> envv;
  char** envp = environ;
  if (env_clear_ || !env_.empty()) {
    if (!env_clear_) {
      for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view kv(*e);
        const std::string key(kv.substr(0, kv.find('=')));
        if (env_.find(key) == env_.end()) env_storage.emplace_back(kv);
      }
    }
    for (const auto& [k, v] : env_) {
      if (v.has_value()) env_storage.push_back(k + "=" + *v);
    }
    for (std::string& kv : env_storage)
      envv.push_back(kv.data());
    envv.push_back(nullptr);
    envp = envv.data();
  }

  pid_t pid = -1;
  const bool search = program_.find('/') == std::string::npos;
  const int e =
      search
          ? ::posix_spawnp(&pid, program_.c_str(), &setup.actions, &setup.attr, argv.data(), envp)
          : ::posix_spawn(&pid, program_.c_str(), &setup.actions, &setup.attr, argv.data(), envp);
  if (e != 0) {
    std::string what = name;
    if (dir_.has_value()) {
      struct stat st{};
      if (::stat(dir_->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        what += " in directory '" + dir_->string() + "' (the directory is not usable)";
      } else {
        what += " in directory '" + dir_->string() + "'";
      }
    }
    throw std::system_error(e, std::generic_category(), what);
  }

  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    // Cannot observe it without a pidfd (a kernel older than 5.3): reap it
    // here rather than leave a zombie, and report.
    const int open_errno = errno;
    ::kill(pid, SIGKILL);
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    throw std::system_error(open_errno, std::generic_category(), name + ": pidfd_open");
  }

  child c(pid, pidfd, kill_on_drop_);
  if (parent_end[0] >= 0) c.stdin.emplace(fds.take(parent_end[0]));
  if (parent_end[1] >= 0) c.stdout.emplace(fds.take(parent_end[1]));
  if (parent_end[2] >= 0) c.stderr.emplace(fds.take(parent_end[2]));
  return c;  // the child's ends of the pipes and /dev/null close with fds
}

}  // namespace kyoto::process
