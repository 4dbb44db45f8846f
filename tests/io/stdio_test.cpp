// kyoto::io::stdin(), stdout(), stderr() and their types. tokio 1.24 has no
// test file for its standard streams (their behaviour is documented only),
// so these check that documented behaviour on kyoto's:
//
// - The reader and writer types, over descriptors from pipe(2) and a
//   pseudo-terminal (the public constructors take any descriptor), with
//   kyoto's io utilities: buf_reader, lines, read_to_end, framed_read.
// - That a read of an empty pipe or a silent terminal waits on io_uring
//   without holding its worker (the file comment of kyoto/io/stdio.hpp):
//   on a current_thread runtime another task must run meanwhile.
// - io::stdin()/stdout()/stderr() themselves, on the process's descriptors
//   0, 1 and 2: this test binary runs itself as a child (the StdioChild
//   test, which does nothing unless KYOTO_STDIO_CHILD is set) with its
//   standard streams piped. Redirecting descriptor 0 inside the test
//   process would race every other thread that uses it, so the child is a
//   process of its own.
#include "bytes.hpp"
#include "errors.hpp"
#include "net_support.hpp"

#include <kyoto/codec.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/process.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace io = kyoto::io;

namespace {

using namespace kyoto::test;

static_assert(io::async_read<io::stdin_reader>);
static_assert(io::async_write<io::stdio_writer>);

/// An owned descriptor (closed on destruction).
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
  fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_guard& operator=(fd_guard&&) = delete;
  ~fd_guard() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
};

/// A pipe: {read end, write end}.
std::pair<fd_guard, fd_guard> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
  return {fd_guard(fds[0]), fd_guard(fds[1])};
}

/// A pseudo-terminal: {master, slave}. The slave is a terminal in
/// canonical mode: a read gives a line once its "\n" is written to the
/// master.
std::pair<fd_guard, fd_guard> make_pty() {
  fd_guard master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master.get() < 0 || ::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) {
    throw std::system_error(errno, std::system_category(), "posix_openpt");
  }
  std::array<char, 128> name{};
  if (::ptsname_r(master.get(), name.data(), name.size()) != 0) {
    throw std::system_error(errno, std::system_category(), "ptsname_r");
  }
  fd_guard slave(::open(name.data(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (slave.get() < 0) throw std::system_error(errno, std::system_category(), "open pty slave");
  if (::isatty(slave.get()) != 1) throw std::runtime_error("the pty slave is not a terminal");
  return {std::move(master), std::move(slave)};
}

/// write(2) of all of `s`; fails the test on error.
void write_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      ADD_FAILURE() << "write: " << std::system_category().message(errno);
      return;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Writes `text` to `fd` after 5 s unless stopped first: unblocks a read
/// that a blocked worker would otherwise wait on forever, so that a
/// regression fails the test instead of hanging it.
class watchdog {
 public:
  watchdog(int fd, std::string text)
      : thread_([this, fd, t = std::move(text)] {
          std::unique_lock lock(m_);
          if (!cv_.wait_for(lock, 5s, [this] { return stopped_; })) write_fd(fd, t);
        }) {}
  ~watchdog() {
    {
      std::lock_guard lock(m_);
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

/// Reads `fd` through a stdin_reader into a string until `want` bytes
/// came (or the end of input).
kyoto::task<std::string> read_some(io::stdin_reader r, std::size_t want) {
  std::string got;
  std::array<std::byte, 256> buf{};
  while (got.size() < want) {
    const std::size_t n = co_await r.read(buf);
    if (n == 0) break;
    got += text(std::span(buf).first(n));
  }
  co_return got;
}

// ---- the reader over a pipe ----

KYOTO_TEST(StdinReader, ReadsWhatThePipesWriterWroteThenEndOfInput) {
  auto [rd, wr] = make_pipe();
  io::stdin_reader r(rd.get());
  EXPECT_EQ(r.native_handle(), rd.get());
  write_fd(wr.get(), "hello");
  std::array<std::byte, 16> buf{};
  const std::size_t n = co_await r.read(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "hello");
  wr.reset();
  EXPECT_EQ(co_await r.read(buf), 0u);
  EXPECT_EQ(co_await r.read(std::span<std::byte>()), 0u);  // an empty buffer: 0 at once
}

KYOTO_TEST(StdinReader, LinesThroughABufReader) {
  auto [rd, wr] = make_pipe();
  write_fd(wr.get(), "one\ntwo\r\nthree");
  wr.reset();
  io::lines<io::stdin_reader> lines =
      io::buf_reader<io::stdin_reader>(io::stdin_reader(rd.get())).lines();
  std::vector<std::string> got;
  while (std::optional<std::string> line = co_await lines.next_line())
    got.push_back(*line);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
}

KYOTO_TEST(StdinReader, LinesThroughAFramedReadWithALinesCodec) {
  auto [rd, wr] = make_pipe();
  write_fd(wr.get(), "alpha\nbeta\n");
  wr.reset();
  kyoto::codec::framed_read<io::stdin_reader, kyoto::codec::lines_codec> frames(
      io::stdin_reader(rd.get()), kyoto::codec::lines_codec());
  std::vector<std::string> got;
  while (auto item = co_await frames.next()) {
    KYOTO_ASSERT_TRUE(item->has_value());
    got.push_back(item->value());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"alpha", "beta"}));
}

KYOTO_TEST(StdinReader, ReadToEndTakesEverythingUntilTheWriterCloses) {
  auto [rd, wr] = make_pipe();
  std::string sent(100'000, 'x');
  for (std::size_t i = 0; i < sent.size(); ++i)
    sent[i] = static_cast<char>('a' + i % 26);
  std::thread writer([fd = std::move(wr), &sent]() mutable {
    write_fd(fd.get(), sent);
    fd.reset();
  });
  io::stdin_reader r(rd.get());
  std::vector<std::byte> got;
  const std::size_t n = co_await io::read_to_end(r, got);
  writer.join();
  EXPECT_EQ(n, sent.size());
  EXPECT_EQ(text(got), sent);
}

// ---- not blocking the worker ----

// The read waits for the pipe; the other task (same thread) must run
// meanwhile and is the one that writes.
KYOTO_TEST_WITH(StdinReader, AReadOfAnEmptyPipeLeavesTheWorkerFree,
                kyoto::runtime::builder::current_thread()) {
  auto [rd, wr] = make_pipe();
  const watchdog dog(wr.get(), "watchdog");
  kyoto::join_handle<std::string> reader = kyoto::spawn(read_some(io::stdin_reader(rd.get()), 4));
  co_await kyoto::time::sleep(20ms);  // the reader is waiting on the ring by now
  EXPECT_FALSE(reader.is_finished());
  write_fd(wr.get(), "task");
  EXPECT_EQ(co_await std::move(reader), "task");
}

// The same on a terminal, which the kernel hands to the ring's io-wq
// thread (a terminal cannot be read without blocking).
KYOTO_TEST_WITH(StdinReader, AReadOfATerminalLeavesTheWorkerFree,
                kyoto::runtime::builder::current_thread()) {
  auto [master, slave] = make_pty();
  const watchdog dog(master.get(), "watchdog\n");
  kyoto::join_handle<std::string> reader =
      kyoto::spawn(read_some(io::stdin_reader(slave.get()), 5));
  co_await kyoto::time::sleep(20ms);
  EXPECT_FALSE(reader.is_finished());
  write_fd(master.get(), "line\n");
  EXPECT_EQ(co_await std::move(reader), "line\n");
}

// A read of a terminal cancelled while it waits (in io-wq) ends at once,
// and the line typed afterwards goes to the next read.
KYOTO_TEST(StdinReader, ACancelledReadOfATerminalEndsAndLosesNothing) {
  auto [master, slave] = make_pty();
  io::stdin_reader r(slave.get());
  std::array<std::byte, 32> buf{};
  const auto start = std::chrono::steady_clock::now();
  auto v = co_await kyoto::select(r.read(buf), kyoto::time::sleep(10ms));
  EXPECT_EQ(v.index(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  write_fd(master.get(), "typed\n");
  const std::size_t n = co_await within_10s(r.read(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "typed\n");
}

// A descriptor in O_NONBLOCK mode: the kernel answers EAGAIN, and the read
// waits for readiness instead of failing.
KYOTO_TEST(StdinReader, ANonBlockingPipeIsWaitedFor) {
  auto [rd, wr] = make_pipe();
  KYOTO_ASSERT_EQ(::fcntl(rd.get(), F_SETFL, O_NONBLOCK), 0);
  const watchdog dog(wr.get(), "watchdog");
  kyoto::join_handle<std::string> reader = kyoto::spawn(read_some(io::stdin_reader(rd.get()), 4));
  co_await kyoto::time::sleep(20ms);
  EXPECT_FALSE(reader.is_finished());
  write_fd(wr.get(), "late");
  EXPECT_EQ(co_await within_10s(std::move(reader)), "late");
}

// ---- cancel safety ----

// The bytes are in the pipe before the select starts, so the read
// completes in the kernel as soon as it is submitted; it is then
// cancelled. Its bytes must come from the next read.
KYOTO_TEST(StdinReader, BytesACancelledReadGotAreReadNext) {
  auto [rd, wr] = make_pipe();
  io::stdin_reader r(rd.get());
  write_fd(wr.get(), "kept");
  std::array<std::byte, 16> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(r.read(lost)));
  write_fd(wr.get(), "+more");
  std::string got = co_await within_10s(read_some(r, 9));
  EXPECT_EQ(got, "kept+more");
}

// Copies of a handle share the stream's stash.
KYOTO_TEST(StdinReader, ACopyOfTheHandleReadsWhatACancelledReadKept) {
  auto [rd, wr] = make_pipe();
  io::stdin_reader r(rd.get());
  const io::stdin_reader copy = r;  // NOLINT(performance-unnecessary-copy-initialization): tested
  write_fd(wr.get(), "shared");
  std::array<std::byte, 16> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(r.read(lost)));
  std::array<std::byte, 16> buf{};
  const std::size_t n = co_await within_10s(copy.read(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "shared");
}

// The end of input a cancelled read saw is given by the next read, once.
KYOTO_TEST(StdinReader, EndOfInputACancelledReadSawIsGivenNext) {
  auto [rd, wr] = make_pipe();
  io::stdin_reader r(rd.get());
  wr.reset();
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(r.read(buf)));
  EXPECT_EQ(co_await within_10s(r.read(buf)), 0u);
  EXPECT_EQ(co_await within_10s(r.read(buf)), 0u);  // and the pipe's own end after it
}

// ---- errors ----

KYOTO_TEST(StdinReader, AReadOfABadDescriptorIsEbadfNamingTheOperation) {
  io::stdin_reader r(-1);
  std::array<std::byte, 4> buf{};
  const auto e = co_await error_of(r.read(buf));
  expect_error(e, EBADF, "kyoto::io::stdin_reader::read");
}

KYOTO_TEST(StdioWriter, AWriteToABadDescriptorIsEbadfNamingTheStream) {
  const io::stdio_writer w(-1, "kyoto::io::stdout::write");
  const auto e = co_await error_of(w.write("x"));
  expect_error(e, EBADF, "kyoto::io::stdout::write");
}

KYOTO_TEST(StdioWriter, AWriteToAPipeWithNoReaderIsEpipeWhenSigpipeIsIgnored) {
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  struct sigaction old{};
  KYOTO_ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old), 0);
  auto [rd, wr] = make_pipe();
  rd.reset();
  const io::stdio_writer w(wr.get());
  const auto e = co_await error_of(w.write("nobody reads"));
  ::sigaction(SIGPIPE, &old, nullptr);
  expect_error(e, EPIPE, "kyoto::io::stdio_writer::write");
}

// ---- the writer over a pipe ----

KYOTO_TEST(StdioWriter, OneTasksWritesArriveInOrder) {
  auto [rd, wr] = make_pipe();
  io::stdio_writer w(wr.get());
  for (int i = 0; i < 100; ++i) {
    const std::string s = std::to_string(i) + ",";
    co_await io::write_all(w, s);
  }
  co_await w.flush();
  co_await w.shutdown();  // the descriptor stays open: closed by the test
  wr.reset();
  std::string got;
  std::array<char, 512> buf{};
  for (ssize_t n; (n = ::read(rd.get(), buf.data(), buf.size())) > 0;)
    got.append(buf.data(), static_cast<std::size_t>(n));
  std::string want;
  for (int i = 0; i < 100; ++i)
    want += std::to_string(i) + ",";
  EXPECT_EQ(got, want);
}

// A mebibyte through a 64 KiB pipe: the writer waits while it is full (on
// the ring, not the worker), the reader is a task on the same runtime.
KYOTO_TEST_WITH(StdioWriter, AMebibyteThroughAFullPipeWithTheReaderOnTheSameThread,
                kyoto::runtime::builder::current_thread()) {
  auto [rd, wr] = make_pipe();
  const std::vector<std::byte> sent = pattern_bytes(1 << 20);
  kyoto::join_handle<std::string> reader =
      kyoto::spawn(read_some(io::stdin_reader(rd.get()), sent.size()));
  io::stdio_writer w(wr.get());
  auto done = co_await kyoto::select(io::write_all(w, sent), kyoto::time::sleep(10s));
  EXPECT_EQ(done.index(), 0u) << "the write did not end within 10 s";
  const std::string got = co_await within_10s(std::move(reader));
  EXPECT_EQ(got, text(sent));
}

KYOTO_TEST(StdioWriter, WritesThroughABufWriterArriveOnFlush) {
  auto [rd, wr] = make_pipe();
  io::buf_writer<io::stdio_writer> out(io::stdio_writer(wr.get()));
  co_await io::write_all(out, "buffered ");
  co_await io::write_all(out, "line\n");
  co_await out.flush();
  std::array<std::byte, 32> buf{};
  const std::size_t n = co_await io::stdin_reader(rd.get()).read(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "buffered line\n");
}

// Copies of one writer on four workers, to a regular file opened without
// O_APPEND: the writes go out one at a time (the stream's lock), so none
// lands on another's file position and every record is there once, whole,
// each task's in order. (io_uring does not take the file position lock, but
// the race it leaves is narrow: this checks the outcome, and fails only if
// a record is lost or torn.)
KYOTO_TEST_WITH(StdioWriter, ConcurrentWritesToARegularFileLoseNothing,
                kyoto::runtime::builder::multi_thread().worker_threads(4)) {
  char path[] = "/tmp/kyoto-stdio-XXXXXX";
  fd_guard file(::mkstemp(path));
  KYOTO_ASSERT_GE(file.get(), 0);
  ::unlink(path);
  const io::stdio_writer w(file.get());
  constexpr int tasks = 8;
  constexpr int records = 200;
  constexpr std::size_t record_size = 16;  // "t<task>-<i>", padded with '.', and "\n"
  std::vector<kyoto::join_handle<void>> writers;
  for (int t = 0; t < tasks; ++t) {
    writers.push_back(kyoto::spawn(
        [](io::stdio_writer out, int task) -> kyoto::task<> {
          for (int i = 0; i < records; ++i) {
            // Piece by piece: GCC 12 -O3's false -Wrestrict on "literal" + std::string.
            std::string r = "t";
            r += std::to_string(task);
            r += '-';
            r += std::to_string(i);
            r.resize(record_size - 1, '.');
            r += '\n';
            co_await io::write_all(out, r);
          }
        },
        w, t));
  }
  for (auto& h : writers)
    co_await std::move(h);
  constexpr std::size_t total = std::size_t{tasks} * records * record_size;
  std::string got(total + 1, '\0');
  const ssize_t n = ::pread(file.get(), got.data(), got.size(), 0);
  KYOTO_ASSERT_EQ(n, static_cast<ssize_t>(total));
  got.resize(static_cast<std::size_t>(n));
  std::vector<std::vector<int>> seen(tasks);
  for (std::size_t at = 0; at < got.size(); at += record_size) {
    const std::string r = got.substr(at, record_size);
    int task = -1;
    int i = -1;
    KYOTO_ASSERT_EQ(std::sscanf(r.c_str(), "t%d-%d", &task, &i), 2) << r;
    KYOTO_ASSERT_TRUE(task >= 0 && task < tasks) << r;
    seen[static_cast<std::size_t>(task)].push_back(i);
  }
  for (const std::vector<int>& s : seen) {
    KYOTO_ASSERT_EQ(s.size(), static_cast<std::size_t>(records));
    for (int i = 0; i < records; ++i)
      EXPECT_EQ(s[static_cast<std::size_t>(i)], i);  // in order
  }
}

// ---- io::stdin(), stdout(), stderr(): descriptors 0, 1, 2 ----

KYOTO_TEST(Stdio, TheStandardHandlesUseDescriptorsZeroOneAndTwo) {
  EXPECT_EQ(io::stdin().native_handle(), 0);
  EXPECT_EQ(io::stdout().native_handle(), 1);
  EXPECT_EQ(io::stderr().native_handle(), 2);
  co_return;
}

/// What the child writes around its echo, so that the parent finds it
/// among gtest's own output.
constexpr std::string_view begin_mark = "<<stdio-child>>\n";
constexpr std::string_view end_mark = "<</stdio-child>>\n";

// The child: upper-cases its stdin's lines to its stdout between the
// marks, and reports the count on stderr. Runs only when the parent test
// below starts this binary with KYOTO_STDIO_CHILD set.
TEST(StdioChild, UpperCasesStdinToStdout) {
  // The environment is read before any thread of this test starts.
  if (std::getenv("KYOTO_STDIO_CHILD") == nullptr) {  // NOLINT(concurrency-mt-unsafe)
    GTEST_SKIP() << "run by Stdio.TheProcesssStandardStreamsThroughAChild";
  }
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on([]() -> kyoto::task<> {
    io::stdio_writer out = io::stdout();
    co_await io::write_all(out, begin_mark);
    io::lines<io::stdin_reader> lines = io::buf_reader<io::stdin_reader>(io::stdin()).lines();
    int count = 0;
    while (std::optional<std::string> line = co_await lines.next_line()) {
      for (char& c : *line)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      *line += '\n';
      co_await io::write_all(out, *line);
      ++count;
    }
    co_await io::write_all(out, end_mark);
    io::stdio_writer err = io::stderr();
    const std::string summary = "child read " + std::to_string(count) + " lines\n";
    co_await io::write_all(err, summary);
  }());
}

KYOTO_TEST(Stdio, TheProcesssStandardStreamsThroughAChild) {
  kyoto::process::command cmd("/proc/self/exe");
  cmd.arg("--gtest_filter=StdioChild.UpperCasesStdinToStdout")
      .env("KYOTO_STDIO_CHILD", "1")
      .stdin(kyoto::process::stdio::piped())
      .stdout(kyoto::process::stdio::piped())
      .stderr(kyoto::process::stdio::piped());
  kyoto::process::child c = cmd.spawn();
  KYOTO_ASSERT_TRUE(c.stdin && c.stdout && c.stderr);
  kyoto::process::child_stdin in = std::move(*c.stdin);
  kyoto::process::child_stdout out = std::move(*c.stdout);
  kyoto::process::child_stderr err = std::move(*c.stderr);
  auto feed = [](kyoto::process::child_stdin w) -> kyoto::task<> {
    co_await io::write_all(w, "first line\nsecond\nthird without newline");
    co_await w.shutdown();
  };
  auto collect = [](auto r) -> kyoto::task<std::string> {
    std::string s;
    co_await io::read_to_string(r, s);
    co_return s;
  };
  auto [fed, stdout_text, stderr_text] = co_await within_10s(
      kyoto::try_join(feed(std::move(in)), collect(std::move(out)), collect(std::move(err))));
  const kyoto::process::exit_status st = co_await c.wait();
  EXPECT_TRUE(st.success()) << stdout_text << stderr_text;
  const std::size_t b = stdout_text.find(begin_mark);
  const std::size_t e = stdout_text.find(end_mark);
  KYOTO_ASSERT_NE(b, std::string::npos);
  KYOTO_ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(stdout_text.substr(b + begin_mark.size(), e - b - begin_mark.size()),
            "FIRST LINE\nSECOND\nTHIRD WITHOUT NEWLINE\n");
  EXPECT_NE(stderr_text.find("child read 3 lines\n"), std::string::npos) << stderr_text;
}

}  // namespace
