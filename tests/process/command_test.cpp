// kyoto::process, ported from tokio 1.24 tests/process_smoke.rs,
// process_arg0.rs, process_issue_42.rs, process_issue_2174.rs,
// process_kill_on_drop.rs (process_raw_handle.rs is Windows-only), then
// kyoto's own: spawn errors naming the program and the cause, environment,
// working directory, pipes both ways, output(), try_wait, kill, process
// groups, and no zombie left by a dropped child.
#include "ct_test.hpp"

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/process.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using kyoto::process::command;
using kyoto::process::stdio;

namespace {

static_assert(kyoto::io::async_write<kyoto::process::child_stdin>);
static_assert(kyoto::io::async_read<kyoto::process::child_stdout>);
static_assert(kyoto::io::async_read<kyoto::process::child_stderr>);
static_assert(!std::is_copy_constructible_v<kyoto::process::child>);

/// Whether process `pid` is gone, reaped (not even a zombie).
bool reaped(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// tokio: process_smoke.rs simple
KYOTO_TEST(Process, Simple) {
  command cmd("sh");
  cmd.arg("-c");
  kyoto::process::child child = cmd.arg("exit 2").spawn();
  const auto id = child.id();
  KYOTO_ASSERT_TRUE(id.has_value());
  EXPECT_GT(*id, 0u);
  const auto status = co_await child.wait();
  EXPECT_EQ(status.code(), 2);
  // wait() is fused, as std's
  const auto again = co_await child.wait();
  EXPECT_EQ(again.code(), 2);
  // no id once it has exited
  EXPECT_FALSE(child.id().has_value());
  EXPECT_THROW(child.start_kill(), std::system_error);
}

// tokio: process_arg0.rs arg0
KYOTO_TEST(Process, Arg0) {
  command cmd("sh");
  cmd.arg0("test_string").arg("-c").arg("echo $0");
  const kyoto::process::output out = co_await cmd.output();
  EXPECT_EQ(out.stdout, "test_string\n");
}

kyoto::task<> spawn_batch() {
  std::vector<kyoto::task<kyoto::process::exit_status>> waits;
  std::vector<kyoto::process::child> children;
  for (int i = 0; i < 10; ++i) {
    children.push_back(command("echo")
                           .arg("I am spawned process #" + std::to_string(i))
                           .stdin(stdio::null())
                           .stdout(stdio::null())
                           .stderr(stdio::null())
                           .kill_on_drop(true)
                           .spawn());
  }
  for (auto& c : children)
    waits.push_back(c.wait());
  auto statuses = co_await kyoto::join_all(std::move(waits));
  for (const auto& s : statuses)
    EXPECT_TRUE(s.success());
}

// tokio: process_issue_42.rs issue_42 (many children exiting at once: one
// exit's readiness must not starve another's)
KYOTO_TEST(Process, Issue42ManyChildrenExitingTogether) {
  std::vector<kyoto::join_handle<void>> hs;
  for (int i = 0; i < 10; ++i)
    hs.push_back(kyoto::spawn(spawn_batch()));
  for (auto& h : hs)
    co_await h;
}

// tokio: process_issue_2174.rs issue_2174 (a writer blocked on a full pipe
// fails once the child is killed)
KYOTO_TEST(Process, Issue2174WriterFailsAfterKill) {
  kyoto::process::child child =
      command("sleep").arg("2").stdin(stdio::piped()).stdout(stdio::null()).spawn();
  kyoto::process::child_stdin input = std::move(*child.stdin);
  child.stdin.reset();
  auto handle = kyoto::spawn(
      [](kyoto::process::child_stdin in) -> kyoto::task<> {
        std::vector<std::byte> data(8192);
        for (;;)
          co_await kyoto::io::write_all(in, std::span<const std::byte>(data));
      },
      std::move(input));
  co_await kyoto::time::sleep(1s);
  co_await child.kill();
  bool failed = false;
  try {
    co_await handle;
  } catch (const std::system_error& e) {
    failed = true;
    EXPECT_EQ(e.code().value(), EPIPE) << e.what();
  }
  EXPECT_TRUE(failed);
}

// tokio: process_kill_on_drop.rs kill_on_drop (sh instead of bash)
KYOTO_TEST(Process, KillOnDrop) {
  command cmd("sh");
  cmd.args({"-c",
            "\n"
            "  # Fork another child that won't get killed\n"
            "  sh -c 'sleep 1; echo child ran' &\n"
            "  # Await our death\n"
            "  sleep 5\n"
            "  echo hello from beyond the grave\n"});
  std::optional<kyoto::process::child> child =
      cmd.kill_on_drop(true).stdout(stdio::piped()).spawn();
  co_await kyoto::time::sleep(2s);
  kyoto::process::child_stdout out = std::move(*child->stdout);
  child.reset();
  std::string msg;
  (void)co_await kyoto::io::read_to_string(out, msg);
  EXPECT_EQ(msg, "child ran\n");
}

TEST(Process, MissingProgramErrorNamesProgramAndCause) {
  try {
    (void)command("/nonexistent/kyoto-no-such-program").spawn();
    ADD_FAILURE() << "spawned";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("kyoto-no-such-program"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)command("kyoto-no-such-program-on-path").spawn(), std::system_error);
}

TEST(Process, BadWorkingDirectoryErrorNamesIt) {
  try {
    (void)command("/bin/true").current_dir("/nonexistent-kyoto-dir").spawn();
    ADD_FAILURE() << "spawned";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    const std::string what = e.what();
    EXPECT_NE(what.find("/bin/true"), std::string::npos) << what;
    EXPECT_NE(what.find("/nonexistent-kyoto-dir"), std::string::npos) << what;
  }
}

KYOTO_TEST(Process, StatusTrueAndFalse) {
  command t("/bin/true");
  const auto ok = co_await t.status();
  EXPECT_TRUE(ok.success());
  command f("/bin/false");
  const auto bad = co_await f.status();
  EXPECT_FALSE(bad.success());
  EXPECT_EQ(bad.code(), 1);
  EXPECT_EQ(bad.to_string(), "exit status: 1");
}

KYOTO_TEST(Process, OutputCollectsStdoutAndStderr) {
  command cmd("/bin/sh");
  cmd.args({"-c", "echo out; echo err 1>&2; exit 3"});
  const kyoto::process::output o = co_await cmd.output();
  EXPECT_EQ(o.stdout, "out\n");
  EXPECT_EQ(o.stderr, "err\n");
  EXPECT_EQ(o.status.code(), 3);
}

KYOTO_TEST(Process, LargeOutputOnBothStreamsDoesNotDeadlock) {
  command cmd("/bin/sh");
  cmd.args({"-c",
            "i=0; while [ $i -lt 3000 ]; do echo 0123456789012345678901234567890123456789; "
            "echo abcdefghijabcdefghijabcdefghijabcdefghij 1>&2; i=$((i+1)); done"});
  const kyoto::process::output o = co_await cmd.output();
  EXPECT_EQ(o.stdout.size(), 3000u * 41);
  EXPECT_EQ(o.stderr.size(), 3000u * 41);
  EXPECT_TRUE(o.status.success());
}

KYOTO_TEST(Process, PipesBothWaysThroughCat) {
  kyoto::process::child c =
      command("/bin/cat").stdin(stdio::piped()).stdout(stdio::piped()).spawn();
  co_await kyoto::io::write_all(*c.stdin, std::string_view("hello through cat\n"));
  co_await c.stdin->shutdown();
  std::string got;
  (void)co_await kyoto::io::read_to_string(*c.stdout, got);
  EXPECT_EQ(got, "hello through cat\n");
  const auto st = co_await c.wait();
  EXPECT_TRUE(st.success());
}

KYOTO_TEST(Process, EnvironmentSetRemoveClear) {
  ::setenv("KYOTO_PROCESS_TEST_INHERITED", "yes", 1);
  command a("/bin/sh");
  a.args({"-c", "echo \"$KYOTO_PROCESS_TEST_INHERITED-$KYOTO_X\""}).env("KYOTO_X", "set");
  auto oa = co_await a.output();
  EXPECT_EQ(oa.stdout, "yes-set\n");

  command b("/bin/sh");
  b.args({"-c", "echo \"[$KYOTO_PROCESS_TEST_INHERITED]\""})
      .env_remove("KYOTO_PROCESS_TEST_INHERITED");
  auto ob = co_await b.output();
  EXPECT_EQ(ob.stdout, "[]\n");

  command c("/bin/sh");
  c.args({"-c", "echo \"[$KYOTO_PROCESS_TEST_INHERITED][$ONLY]\""}).env_clear().env("ONLY", "1");
  auto oc = co_await c.output();
  EXPECT_EQ(oc.stdout, "[][1]\n");
}

KYOTO_TEST(Process, CurrentDir) {
  command cmd("/bin/sh");
  cmd.args({"-c", "pwd"}).current_dir("/");
  auto o = co_await cmd.output();
  EXPECT_EQ(o.stdout, "/\n");
}

KYOTO_TEST(Process, TryWaitAndKill) {
  kyoto::process::child c = command("/bin/sh").args({"-c", "sleep 10"}).spawn();
  EXPECT_FALSE(c.try_wait().has_value());
  c.start_kill();
  const auto st = co_await c.wait();
  EXPECT_EQ(st.signal(), SIGKILL);
  EXPECT_FALSE(st.success());
  EXPECT_TRUE(c.try_wait().has_value());
}

KYOTO_TEST(Process, ProcessGroup) {
  kyoto::process::child c = command("/bin/sh").args({"-c", "sleep 10"}).process_group(0).spawn();
  const pid_t pid = static_cast<pid_t>(*c.id());
  EXPECT_EQ(::getpgid(pid), pid);
  co_await c.kill();
}

KYOTO_TEST(Process, DroppedChildIsReapedInTheBackground) {
  pid_t pid;
  {
    kyoto::process::child c = command("/bin/true").spawn();
    pid = static_cast<pid_t>(*c.id());
  }
  for (int i = 0; i < 500 && !reaped(pid); ++i)
    co_await kyoto::time::sleep(2ms);
  EXPECT_TRUE(reaped(pid));
}

TEST(Process, ChildDroppedOutsideARuntimeIsReapedAtTheNextSpawn) {
  pid_t pid;
  {
    kyoto::process::child c = command("/bin/true").spawn();
    pid = static_cast<pid_t>(*c.id());
  }
  ::usleep(100000);  // it has exited: a zombie on the orphan list
  EXPECT_FALSE(reaped(pid));
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  command t("/bin/true");
  const auto st = rt.block_on(t.status());
  EXPECT_TRUE(st.success());
  EXPECT_TRUE(reaped(pid));
}

KYOTO_TEST(Process, KillOnDropKills) {
  pid_t pid;
  {
    kyoto::process::child c =
        command("/bin/sh").args({"-c", "sleep 10"}).kill_on_drop(true).spawn();
    pid = static_cast<pid_t>(*c.id());
  }
  for (int i = 0; i < 500 && !reaped(pid); ++i)
    co_await kyoto::time::sleep(2ms);
  EXPECT_TRUE(reaped(pid));
}

KYOTO_TEST(Process, WaitIsCancelSafe) {
  kyoto::process::child c = command("/bin/sh").args({"-c", "sleep 0.2"}).spawn();
  auto r = co_await kyoto::time::timeout(10ms, c.wait());
  EXPECT_FALSE(r.has_value());
  const auto st = co_await c.wait();
  EXPECT_TRUE(st.success());
}

}  // namespace

namespace {

// A runtime shut down while a task waits on a kill_on_drop child: the task
// is cancelled on a runtime thread, the child is killed, and its reaper
// (which cannot run on a runtime that is going away) hands it to the
// orphan list, reaped at the next spawn.
TEST(Process, RuntimeShutdownWithAWaitingChild) {
  std::atomic<pid_t> pid{0};
  {
    kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
    rt.spawn(
        [](std::atomic<pid_t>& out) -> kyoto::task<> {
          kyoto::process::child c =
              command("/bin/sh").args({"-c", "sleep 10"}).kill_on_drop(true).spawn();
          out.store(static_cast<pid_t>(*c.id()));
          (void)co_await c.wait();
        },
        std::ref(pid));
    while (pid.load() == 0)
      ::usleep(1000);
  }
  const pid_t p = pid.load();
  for (int i = 0; i < 200 && !reaped(p); ++i) {
    ::usleep(5000);
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    command t("/bin/true");
    (void)rt.block_on(t.status());  // each spawn reaps the orphan list
  }
  EXPECT_TRUE(reaped(p));
}

}  // namespace
