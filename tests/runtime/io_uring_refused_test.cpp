// Where io_uring is refused (Docker's default seccomp profile, gVisor, the
// kernel.io_uring_disabled sysctl), every runtime flavour runs on the epoll
// readiness backend instead (src/io/readiness.hpp); with
// KYOTO_IO_BACKEND=io_uring it fails in build() with a std::system_error
// saying so, why, and how to allow it. Nothing terminates. Each test forks
// a child that installs a seccomp-BPF filter making io_uring_setup fail
// with EPERM or ENOSYS (no root needed: PR_SET_NO_NEW_PRIVS), then builds
// runtimes there.
#include <kyoto/fs.hpp>
#include <kyoto/macros/main.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/unhandled_panic.hpp>
#include <kyoto/time.hpp>

#include <kyoto/runtime/detail/config.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <errors.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

#if defined(__x86_64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_AARCH64;
#else
#error "io_uring_refused_test: add this architecture's AUDIT_ARCH"
#endif

/// Installs a filter answering io_uring_setup with `err` (all else
/// allowed). Returns 0 or the errno of the refusal.
int refuse_io_uring_setup(int err) {
  std::array<sock_filter, 6> code = {{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
               SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  }};
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (::syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

/// Whether this kernel lets an unprivileged process install a filter (a
/// sandbox that forbids seccomp itself cannot run these tests).
bool can_filter() {
  const pid_t pid = ::fork();
  if (pid == 0) _exit(refuse_io_uring_setup(EPERM) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// KYOTO_IO_BACKEND in a child: io_uring (refusal is an error) or unset
/// (auto: the readiness backend takes over).
enum class backend_env : std::uint8_t { forced_io_uring, automatic };

void set_backend_env(backend_env env) {
  // NOLINTBEGIN(concurrency-mt-unsafe): a forked child, before any thread
  if (env == backend_env::forced_io_uring) {
    ::setenv("KYOTO_IO_BACKEND", "io_uring", 1);
  } else {
    ::unsetenv("KYOTO_IO_BACKEND");
  }
  // NOLINTEND(concurrency-mt-unsafe)
}

/// Runs `body` in a child under the filter; the child's gtest failures
/// are printed there and become its exit code, checked here.
void in_child_refusing(int err, const std::function<void()>& body,
                       backend_env env = backend_env::forced_io_uring) {
  if (!can_filter()) GTEST_SKIP() << "seccomp filters cannot be installed here";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::system_category().message(errno);
  if (pid == 0) {
    set_backend_env(env);
    if (refuse_io_uring_setup(err) != 0) _exit(3);
    body();
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's checks failed (see its output above)";
}

/// What every refusal's message holds: what, why, how to allow it.
void expect_refusal(const std::system_error& e, int err, const char* errno_name) {
  EXPECT_EQ(e.code().value(), err);
  EXPECT_EQ(e.code().category(), std::system_category());
  const std::string what = e.what();
  EXPECT_NE(what.find("io_uring is unavailable"), std::string::npos) << what;
  EXPECT_NE(what.find(std::string("io_uring_setup failed with ") + errno_name), std::string::npos)
      << what;
  EXPECT_NE(what.find("seccomp"), std::string::npos) << what;  // we run under a filter
  if (err == EPERM) {
    EXPECT_NE(what.find("io_uring_enter"), std::string::npos) << what;
  }
  if (err == ENOSYS) {
    EXPECT_NE(what.find("gVisor"), std::string::npos) << what;
  }
}

void expect_build_refused(const kyoto::runtime::builder& b, int err, const char* name) {
  if (auto e = kyoto::test::expect_throws<std::system_error>([&] { (void)b.build(); })) {
    expect_refusal(*e, err, name);
  }
}

void every_flavour_refused(int err, const char* name) {
  using kyoto::runtime;
  expect_build_refused(runtime::builder::current_thread(), err, name);
  expect_build_refused(runtime::builder::multi_thread().worker_threads(1), err, name);
  expect_build_refused(runtime::builder::multi_thread().worker_threads(4), err, name);
  expect_build_refused(runtime::builder::multi_thread(), err, name);
  expect_build_refused(
      runtime::builder::multi_thread().unhandled_panic(kyoto::unhandled_panic::shutdown_runtime),
      err, name);
  // Refused again: nothing remembered a success that never was.
  expect_build_refused(runtime::builder::current_thread(), err, name);
}

TEST(IoUringRefused, EveryFlavourThrowsFromBuildOnEpermWhenIoUringIsForced) {
  in_child_refusing(EPERM, [] { every_flavour_refused(EPERM, "EPERM"); });
}

TEST(IoUringRefused, EveryFlavourThrowsFromBuildOnEnosysWhenIoUringIsForced) {
  in_child_refusing(ENOSYS, [] { every_flavour_refused(ENOSYS, "ENOSYS"); });
}

TEST(IoUringRefused, WorkersNeverStartWhenBuildFails) {
  in_child_refusing(EPERM, [] {
    std::atomic<int> started{0};
    EXPECT_THROW((void)kyoto::runtime::builder::multi_thread()
                     .worker_threads(3)
                     .on_thread_start([&] { ++started; })
                     .build(),
                 std::system_error);
    EXPECT_EQ(started.load(), 0);
  });
}

/// What the readiness backend serves: a TCP echo over loopback (accept,
/// connect, a MSG_WAITALL read and write), a file written and read back
/// (the file pool), and a timer. Returns what went wrong, or "".
kyoto::task<std::string> echo_file_and_sleep(std::string dir) {
  using kyoto::net::tcp_listener;
  using kyoto::net::tcp_stream;
  tcp_listener listener = co_await tcp_listener::bind(kyoto::net::socket_addr::localhost_v4());
  const kyoto::net::socket_addr addr = listener.local_addr();
  auto server = kyoto::spawn([](tcp_listener l) -> kyoto::task<> {
    auto [conn, peer] = co_await l.accept();
    std::array<std::byte, 4> got{};
    co_await conn.read_exact(got);
    co_await conn.write_all(std::span<const std::byte>(got));
  }(std::move(listener)));
  tcp_stream client = co_await tcp_stream::connect(addr);
  co_await client.write_all(std::string_view("ping"));
  std::array<std::byte, 4> back{};
  co_await client.read_exact(back);
  co_await std::move(server);
  if (std::string(reinterpret_cast<const char*>(back.data()), back.size()) != "ping") {
    co_return "the echo came back wrong";
  }
  const std::string file = dir + "/f";
  co_await kyoto::fs::write(file, std::string_view("hello, epoll"));
  if (co_await kyoto::fs::read_to_string(file) != "hello, epoll") co_return "the file read wrong";
  co_await kyoto::fs::remove_file(file);
  const auto before = std::chrono::steady_clock::now();
  co_await kyoto::time::sleep(std::chrono::milliseconds(5));
  if (std::chrono::steady_clock::now() - before < std::chrono::milliseconds(5)) {
    co_return "the sleep ended early";
  }
  co_return "";
}

TEST(IoUringRefused, EveryFlavourRunsItsIoOnTheReadinessBackend) {
  char dir[] = "/tmp/kyoto-refused-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr) << std::system_category().message(errno);
  for (const int err : {EPERM, ENOSYS}) {
    in_child_refusing(
        err,
        [&] {
          using kyoto::runtime;
          for (const runtime::builder& b : {runtime::builder::current_thread(),
                                            runtime::builder::multi_thread().worker_threads(2)}) {
            runtime rt = b.build();
            EXPECT_EQ(rt.block_on(echo_file_and_sleep(dir)), "");
          }
        },
        backend_env::automatic);
  }
  ::rmdir(dir);
}

TEST(IoUringRefused, TheBuildersIoUringChoiceThrowsWhereTheVariableIsUnset) {
  in_child_refusing(
      EPERM,
      [] {
        using kyoto::runtime;
        expect_build_refused(
            runtime::builder::current_thread().io_backend(kyoto::io_backend::io_uring), EPERM,
            "EPERM");
        expect_build_refused(runtime::builder::multi_thread().worker_threads(2).io_backend(
                                 kyoto::io_backend::io_uring),
                             EPERM, "EPERM");
      },
      backend_env::automatic);
}

TEST(IoUringRefused, TheBuildersEpollChoiceRunsWhereTheVariableForcesIoUring) {
  char dir[] = "/tmp/kyoto-refused-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr) << std::system_category().message(errno);
  in_child_refusing(EPERM, [&] {  // KYOTO_IO_BACKEND=io_uring
    using kyoto::runtime;
    for (runtime::builder b :
         {runtime::builder::current_thread(), runtime::builder::multi_thread().worker_threads(2)}) {
      runtime rt = b.io_backend(kyoto::io_backend::epoll).build();
      EXPECT_EQ(rt.block_on(echo_file_and_sleep(dir)), "");
    }
  });
  ::rmdir(dir);
}

bool body_ran = false;

kyoto::task<> marking_body() {
  body_ran = true;
  co_return;
}

kyoto::task<> marking_main(int, char**) {
  body_ran = true;
  co_return;
}

TEST(IoUringRefused, KyotoTestReportsTheRefusalWithoutRunningTheBody) {
  in_child_refusing(EPERM, [] {
    ::testing::TestPartResultArray failures;
    {
      ::testing::ScopedFakeTestPartResultReporter capture(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      kyoto::detail::run_test_body(kyoto::runtime::builder::multi_thread(), &marking_body);
      kyoto::detail::run_test_body(kyoto::runtime::builder::current_thread(), &marking_body);
    }
    ASSERT_EQ(failures.size(), 2);
    for (int i = 0; i < failures.size(); ++i) {
      const std::string message = failures.GetTestPartResult(i).message();
      EXPECT_NE(message.find("io_uring is unavailable"), std::string::npos) << message;
    }
    EXPECT_FALSE(body_ran);
  });
}

TEST(IoUringRefused, KyotoMainReturnsOneWithoutRunningTheBody) {
  in_child_refusing(ENOSYS, [] {
    char name[] = "main";
    char* argv[] = {name, nullptr};
    EXPECT_EQ(
        kyoto::detail::run_main(kyoto::runtime::builder::multi_thread(), &marking_main, 1, argv),
        1);
    EXPECT_FALSE(body_ran);
  });
}

/// The environment of a child that runs a sample: this one's, with
/// KYOTO_IO_BACKEND as `env` says (made before the fork: the child only
/// calls execve).
std::vector<std::string> child_environment(backend_env env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("KYOTO_IO_BACKEND=")) continue;
    vars.emplace_back(*e);
  }
  if (env == backend_env::forced_io_uring) vars.emplace_back("KYOTO_IO_BACKEND=io_uring");
  return vars;
}

/// Runs `exe` under the filter; its exit status and everything it printed.
std::pair<int, std::string> run_refused(const std::string& exe, int err, backend_env env) {
  std::vector<std::string> vars = child_environment(env);
  std::vector<char*> envp;
  for (std::string& v : vars)
    envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string name = exe;
  char* argv[] = {name.data(), nullptr};
  int out[2];
  if (::pipe(out) != 0) return {-1, std::system_category().message(errno)};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    if (refuse_io_uring_setup(err) != 0) _exit(120);
    ::execve(exe.c_str(), argv, envp.data());
    _exit(121);
  }
  ::close(out[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return {-WTERMSIG(status), got};
  return {WEXITSTATUS(status), got};
}

/// The hello sample's path, or null (the test skips).
const char* hello_sample() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  const char* hello = std::getenv("KYOTO_HELLO");
  if (hello == nullptr || !can_filter() || kyoto::detail::thread_sanitizer) return nullptr;
  // Under ThreadSanitizer the forked child's execl of the sanitized sample
  // fails (the child exits 121); the in-process tests check the same.
  return hello;
}

TEST(IoUringRefused, HelloSampleRunsOnTheReadinessBackend) {
  const char* hello = hello_sample();
  if (hello == nullptr) GTEST_SKIP() << "no KYOTO_HELLO, no seccomp filter, or TSan";
  for (const int err : {EPERM, ENOSYS}) {
    const auto [rc, output] = run_refused(hello, err, backend_env::automatic);
    EXPECT_EQ(rc, 0) << output;
    EXPECT_NE(output.find("got 1\ngot 4\ngot 9\n"), std::string::npos) << output;
    EXPECT_NE(output.find("4² + 5² = 41"), std::string::npos) << output;
  }
}

TEST(IoUringRefused, HelloSampleExitsOneWithTheReasonWhenIoUringIsForced) {
  const char* hello = hello_sample();
  if (hello == nullptr) GTEST_SKIP() << "no KYOTO_HELLO, no seccomp filter, or TSan";
  for (const auto& [err, name] : {std::pair{EPERM, "EPERM"}, std::pair{ENOSYS, "ENOSYS"}}) {
    const auto [rc, output] = run_refused(hello, err, backend_env::forced_io_uring);
    EXPECT_EQ(rc, 1) << output;  // not 134 (abort), not a signal
    EXPECT_NE(output.find("io_uring is unavailable"), std::string::npos) << output;
    EXPECT_NE(output.find(std::string("io_uring_setup failed with ") + name), std::string::npos)
        << output;
    EXPECT_EQ(output.find("terminate"), std::string::npos) << output;
    EXPECT_EQ(output.find("got "), std::string::npos) << output;  // the body never ran
  }
}

TEST(IoUringRefused, OtherSyscallsStillWorkUnderTheFilter) {
  // The filter refuses io_uring_setup only: the failures above are about
  // io_uring, not a broken test harness.
  in_child_refusing(EPERM, [] {
    EXPECT_EQ(::syscall(__NR_io_uring_setup, 0, nullptr), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_GE(::getpid(), 1);
  });
}

}  // namespace
