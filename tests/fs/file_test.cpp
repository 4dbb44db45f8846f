// kyoto::fs::file and open_options on real files: ports of tokio 1.24's
// tests/fs_file.rs, then offsets, errors, metadata, cancellation and
// concurrency. Each test works in a fresh mkdtemp directory under /tmp.
//
// Not ported from fs_file.rs: windows_handle (Windows only).
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "fs_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace fs = kyoto::fs;
using kyoto::task;
using namespace kyoto::test;
using std::filesystem::path;

constexpr std::string_view hello = "hello world...";

/// How many descriptors this process has open on `target` (not all of
/// them: workers create their rings and eventfds as they start).
int descriptors_open_on(const path& target) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec) == target) ++n;
  }
  return n;
}

/// Creates a file, writes `hello`, runs `finish` (flush or shutdown) on it:
/// the file then holds `hello`.
template <class Finish>
task<> write_hello_then(Finish finish) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  co_await f.write_all(hello);
  co_await finish(f);
  EXPECT_EQ(std_read(dir / "f"), hello);
}

// ---- tokio's fs_file.rs ----

KYOTO_TEST(File, BasicReadGetsTheContents) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  std::array<std::byte, 1024> buf{};
  const std::size_t n = co_await f.read(buf);
  EXPECT_EQ(n, hello.size());
  EXPECT_EQ(text(std::span(buf).first(n)), hello);
}

KYOTO_TEST(File, BasicWriteThenFlushLeavesTheContents) {
  co_await write_hello_then([](fs::file& f) { return f.flush(); });
}

KYOTO_TEST(File, BasicWriteThenShutdownLeavesTheContents) {
  co_await write_hello_then([](fs::file& f) { return f.shutdown(); });
}

KYOTO_TEST(File, RewindAfterSeekReturnsToTheStart) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  EXPECT_EQ(co_await f.seek(fs::seek_from::current(10)), 10u);
  co_await f.rewind();
  EXPECT_EQ(co_await f.stream_position(), 0u);
}

// tokio polls a read+seek loop by hand and asserts it returns Pending
// within 1000 polls; here a second task must get to run while the loop
// spins on one thread.
KYOTO_TEST_WITH(File, ReadLoopLetsOtherTasksRun, kyoto::runtime::builder::current_thread()) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  bool other_ran = false;
  auto other = kyoto::spawn([&other_ran]() -> task<> {
    other_ran = true;
    co_return;
  });
  for (int i = 0; i < 1000 && !other_ran; ++i) {
    std::array<std::byte, 1024> buf{};
    (void)co_await f.read(buf);
    co_await f.seek(fs::seek_from::start(0));
  }
  EXPECT_TRUE(other_ran) << "1000 reads never let another task run";
  co_await other;
}

KYOTO_TEST(File, NativeHandleIsAnOpenDescriptor) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  EXPECT_GT(f.native_handle(), 0);
  EXPECT_TRUE(f.is_open());
  EXPECT_EQ(f.path(), dir / "f");
  EXPECT_NE(::fcntl(f.native_handle(), F_GETFD) & FD_CLOEXEC, 0) << "opened without O_CLOEXEC";
}

// ---- errors ----

KYOTO_TEST(File, OpenOfAMissingFileFailsWithEnoentNamingOperationAndPath) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::file::open(dir / "missing")), ENOENT,
                  "kyoto::fs::file::open", dir / "missing");
}

KYOTO_TEST(File, CreateNewOnAnExistingFileFailsWithEexist) {
  temp_dir dir;
  std_write(dir / "f", hello);
  expect_fs_error(
      co_await error_of(fs::file::options().write(true).create_new(true).open(dir / "f")), EEXIST,
      "kyoto::fs::open_options::open", dir / "f");
  EXPECT_EQ(std_read(dir / "f"), hello) << "the existing file was touched";
}

KYOTO_TEST(File, InvalidOpenOptionsFailWithEinval) {
  temp_dir dir;
  const path p = dir / "f";
  std_write(p, hello);
  const fs::open_options invalid[] = {
      fs::open_options(),                              // no access mode
      fs::open_options().read(true).truncate(true),    // truncate without write
      fs::open_options().read(true).create(true),      // create without write
      fs::open_options().append(true).truncate(true),  // append and truncate
      fs::open_options().read(true).create_new(true),  // create_new without write
  };
  for (const fs::open_options& o : invalid) {
    expect_fs_error(co_await error_of(o.open(p)), EINVAL);
  }
  EXPECT_EQ(std_read(p), hello);
}

KYOTO_TEST(File, ReadOfADirectoryFailsWithEisdirNamingTheRead) {
  temp_dir dir;
  fs::file d = co_await fs::file::open(dir.get());
  std::array<std::byte, 16> buf{};
  expect_fs_error(co_await error_of(d.read(buf)), EISDIR, "kyoto::fs::file::read", dir.get());
}

KYOTO_TEST(File, WriteToAReadOnlyFileFailsWithEbadf) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  expect_fs_error(co_await error_of(f.write_all(std::string_view("x"))), EBADF,
                  "kyoto::fs::file::write_all", dir / "f");
}

KYOTO_TEST(File, ReadExactPastTheEndFailsWithUnexpectedEof) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  std::array<std::byte, 100> buf{};
  const auto e = co_await error_of(f.read_exact(buf));
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(kyoto::io::is_unexpected_eof(*e)) << e->what();
  EXPECT_EQ(text(std::span(buf).first(hello.size())), hello);
}

// ---- open options ----

KYOTO_TEST(File, AppendWritesGoToTheEnd) {
  temp_dir dir;
  std_write(dir / "f", "abc");
  fs::file f = co_await fs::file::options().append(true).open(dir / "f");
  co_await f.write_all(std::string_view("def"));
  co_await f.write_all(std::string_view("gh"));
  EXPECT_EQ(std_read(dir / "f"), "abcdefgh");
}

KYOTO_TEST(File, CreateNewMakesAFileWithTheGivenMode) {
  temp_dir dir;
  fs::file f = co_await fs::file::options().write(true).create_new(true).mode(0600).open(dir / "f");
  const fs::file_metadata m = co_await f.metadata();
  EXPECT_EQ(m.permissions().mode(), 0600u);
  EXPECT_TRUE(m.is_file());
  EXPECT_EQ(m.len(), 0u);
}

KYOTO_TEST(File, TruncateEmptiesAnExistingFile) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::options().write(true).truncate(true).open(dir / "f");
  EXPECT_EQ((co_await f.metadata()).len(), 0u);
}

KYOTO_TEST(File, ReadWriteOptionsAllowBoth) {
  temp_dir dir;
  fs::file f = co_await fs::file::options().read(true).write(true).create(true).open(dir / "f");
  co_await f.write_all(hello);
  co_await f.rewind();
  std::string back;
  EXPECT_EQ(co_await f.read_to_string(back), hello.size());
  EXPECT_EQ(back, hello);
}

// ---- cursor and offsets ----

KYOTO_TEST(File, ReadsContinueFromTheCursor) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  std::array<std::byte, 5> first{};
  co_await f.read_exact(first);
  EXPECT_EQ(text(first), "hello");
  EXPECT_EQ(co_await f.stream_position(), 5u);
  std::vector<std::byte> rest;
  EXPECT_EQ(co_await f.read_to_end(rest), hello.size() - 5);
  EXPECT_EQ(text(rest), hello.substr(5));
  std::array<std::byte, 5> more{};
  EXPECT_EQ(co_await f.read(more), 0u) << "at the end of the file";
}

KYOTO_TEST(File, ReadAtAndWriteAtUseTheirOffsetsAndLeaveTheCursor) {
  temp_dir dir;
  fs::file f = co_await fs::file::options().read(true).write(true).create(true).open(dir / "f");
  co_await f.write_all_at(bytes("world"), 6);
  co_await f.write_all_at(bytes("hello "), 0);
  EXPECT_EQ(co_await f.stream_position(), 0u);
  EXPECT_EQ(std_read(dir / "f"), "hello world");

  std::array<std::byte, 5> buf{};
  EXPECT_EQ(co_await f.read_at(buf, 6), 5u);
  EXPECT_EQ(text(buf), "world");
  EXPECT_EQ(co_await f.read_at(std::span(buf).first(3), 2), 3u);
  EXPECT_EQ(text(std::span(buf).first(3)), "llo");
  EXPECT_EQ(co_await f.read_at(buf, 9), 2u) << "a short read at the end";
  EXPECT_EQ(co_await f.read_at(buf, 100), 0u) << "past the end";
  EXPECT_EQ(co_await f.stream_position(), 0u);

  // write_at past the end leaves a hole of zeros.
  EXPECT_EQ(co_await f.write_at(bytes("!"), 13), 1u);
  EXPECT_EQ(std_read(dir / "f"), std::string("hello world\0\0!", 14));
}

KYOTO_TEST(File, SeekFromEndAndCurrentMoveTheCursor) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  EXPECT_EQ(co_await f.seek(fs::seek_from::end(-3)), hello.size() - 3);
  std::array<std::byte, 3> buf{};
  co_await f.read_exact(buf);
  EXPECT_EQ(text(buf), "...");
  EXPECT_EQ(co_await f.seek(fs::seek_from::current(-9)), hello.size() - 9);
  co_await f.read_exact(buf);
  EXPECT_EQ(text(buf), " wo");
  expect_fs_error(co_await error_of(f.seek(fs::seek_from::current(-100))), EINVAL);
}

KYOTO_TEST(File, EmptyBuffersCompleteWithZero) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::options().read(true).write(true).open(dir / "f");
  EXPECT_EQ(co_await f.read(std::span<std::byte>()), 0u);
  EXPECT_EQ(co_await f.write(std::span<const std::byte>()), 0u);
  EXPECT_EQ(co_await f.stream_position(), 0u);
}

// ---- sync, length, metadata, permissions, close ----

KYOTO_TEST(File, SyncAllAndSyncDataSucceedAfterWrites) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  co_await f.write_all(hello);
  co_await f.sync_data();
  co_await f.sync_all();
  EXPECT_EQ(std_read(dir / "f"), hello);
}

KYOTO_TEST(File, SetLenTruncatesAndExtendsWithZeros) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  co_await f.write_all(hello);
  co_await f.set_len(5);
  EXPECT_EQ(std_read(dir / "f"), "hello");
  co_await f.set_len(8);
  EXPECT_EQ(std_read(dir / "f"), std::string("hello\0\0\0", 8));
  EXPECT_EQ(co_await f.stream_position(), hello.size()) << "set_len moved the cursor";
}

// Kernels before 6.9 answer IORING_OP_FTRUNCATE with EINVAL (unknown
// opcode); the fault injector plays such a kernel.
KYOTO_TEST(File, SetLenFallsBackToFtruncateWithoutTheOpcode) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  co_await f.write_all(hello);
  kyoto::detail::set_fault_injector([](std::uint8_t op, int result) noexcept {
    return op == kyoto::detail::opcode::ftruncate ? -EINVAL : result;
  });
  const auto e = co_await error_of(f.set_len(5));
  kyoto::detail::set_fault_injector(nullptr);
  EXPECT_FALSE(e.has_value()) << e->what();
  EXPECT_EQ(std_read(dir / "f"), "hello");
}

KYOTO_TEST(File, SetLenOfAReadOnlyFileFails) {
  temp_dir dir;
  std_write(dir / "f", hello);
  fs::file f = co_await fs::file::open(dir / "f");
  const auto e = co_await error_of(f.set_len(0));
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->code().value() == EINVAL || e->code().value() == EBADF) << e->what();
  EXPECT_EQ(std_read(dir / "f"), hello);
}

KYOTO_TEST(File, MetadataMatchesStat) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  co_await f.write_all(hello);
  const fs::file_metadata m = co_await f.metadata();
  struct stat st{};
  KYOTO_ASSERT_EQ(::stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(m.len(), hello.size());
  EXPECT_TRUE(m.is_file());
  EXPECT_FALSE(m.is_dir());
  EXPECT_FALSE(m.is_symlink());
  EXPECT_EQ(m.file_type(), std::filesystem::file_type::regular);
  EXPECT_EQ(m.mode(), st.st_mode);
  EXPECT_EQ(m.permissions().mode(), st.st_mode & 07777);
  EXPECT_EQ(m.ino(), st.st_ino);
  EXPECT_EQ(m.dev(), st.st_dev);
  EXPECT_EQ(m.uid(), st.st_uid);
  EXPECT_EQ(m.gid(), st.st_gid);
  EXPECT_EQ(m.nlink(), st.st_nlink);
  const auto mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  EXPECT_EQ(m.modified(), mtime);
}

KYOTO_TEST(File, SetPermissionsChangesTheMode) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  fs::permissions p = (co_await f.metadata()).permissions();
  p.set_readonly(true);
  co_await f.set_permissions(p);
  const fs::file_metadata m = co_await f.metadata();
  EXPECT_TRUE(m.permissions().readonly());
  EXPECT_EQ(m.permissions(), p);
}

KYOTO_TEST(File, CloseReleasesTheDescriptor) {
  temp_dir dir;
  fs::file f = co_await fs::file::create(dir / "f");
  const int fd = f.native_handle();
  struct stat before{};
  KYOTO_ASSERT_EQ(::fstat(fd, &before), 0);
  co_await f.write_all(hello);
  co_await f.close();
  EXPECT_FALSE(f.is_open());
  // The number may be reused at once (another worker creating its ring, a
  // test thread opening a file): what must hold is that it no longer
  // refers to this file.
  struct stat after{};
  if (::fstat(fd, &after) == 0) {
    EXPECT_FALSE(after.st_dev == before.st_dev && after.st_ino == before.st_ino)
        << "the descriptor still refers to the file";
  }
  co_await f.close();  // closing an empty file does nothing
  EXPECT_EQ(std_read(dir / "f"), hello);
}

// ---- large files ----

KYOTO_TEST(File, FourMebibyteRoundTripThroughTheCursor) {
  temp_dir dir;
  const std::vector<std::byte> data = pattern_bytes(4 << 20);
  {
    fs::file f = co_await fs::file::create(dir / "big");
    co_await f.write_all(data);
    co_await f.close();
  }
  fs::file f = co_await fs::file::open(dir / "big");
  EXPECT_EQ((co_await f.metadata()).len(), data.size());
  std::vector<std::byte> back;
  EXPECT_EQ(co_await f.read_to_end(back), data.size());
  EXPECT_TRUE(back == data);
  std::vector<std::byte> exact(data.size());
  co_await f.rewind();
  co_await f.read_exact(exact);
  EXPECT_TRUE(exact == data);
}

// ---- cancellation ----

/// One cursor read of up to 7 bytes into a buffer in this frame.
task<std::vector<std::byte>> read_some(const fs::file& f) {
  std::array<std::byte, 7> buf{};
  const std::size_t n = co_await f.read(buf);
  co_return std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

class FileFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

/// Checks that `got` continues the pattern at `*at`; advances `*at`.
bool continues_pattern(const std::vector<std::byte>& got, std::size_t* at) {
  for (std::byte b : got) {
    if (b != pattern(*at)) {
      ADD_FAILURE() << "wrong byte at " << *at;
      return false;
    }
    ++*at;
  }
  return true;
}

// Two cursor reads race in a select; the loser is cancelled, often after
// its read completed (page-cache reads complete as they are submitted, so
// both completions arrive in one batch): its cursor must be moved back so
// that the next read returns those bytes again. Under ASan this also
// proves that a cancelled read's frame outlives the kernel's use of its
// buffer (see tests/io/cancel_test.cpp).
//
// (A read that loses *every* time makes no progress: its bytes are read
// again each round. So the competitor is another read, not yield_now.)
TEST_P(FileFlavours, CursorReadsCancelledBySelectLoseNoBytes) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> task<> {
    temp_dir dir;
    constexpr std::size_t total = 20'000;
    co_await fs::write(dir / "f", pattern_bytes(total));
    fs::file a = co_await fs::file::open(dir / "f");
    fs::file b = co_await fs::file::open(dir / "f");  // its own cursor
    std::size_t at_a = 0, at_b = 0, rounds = 0;
    while (at_a < total && at_b < total) {
      ++rounds;
      auto v = co_await kyoto::select(read_some(a), read_some(b));
      if (v.index() == 0) {
        KYOTO_ASSERT_TRUE(continues_pattern(std::get<0>(v), &at_a));
      } else {
        KYOTO_ASSERT_TRUE(continues_pattern(std::get<1>(v), &at_b));
      }
    }
    // Whichever finished first, the other reads on from its cursor.
    for (auto [f, at] : {std::pair{&a, &at_a}, std::pair{&b, &at_b}}) {
      std::vector<std::byte> rest;
      co_await f->read_to_end(rest);
      KYOTO_ASSERT_TRUE(continues_pattern(rest, at));
      EXPECT_EQ(*at, total);
    }
    EXPECT_GE(rounds, total / 7) << "a round returns at most 7 bytes";
  }());
}

TEST_P(FileFlavours, CancelledOpensLeakNoDescriptor) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> task<> {
    temp_dir dir;
    std_write(dir / "f", hello);
    int opened = 0, cancelled = 0;
    for (int i = 0; i < 500; ++i) {
      auto v = co_await kyoto::select(fs::file::open(dir / "f"), kyoto::yield_now());
      if (v.index() == 0) {
        ++opened;
      } else {
        ++cancelled;
      }
    }
    EXPECT_GT(cancelled, 0) << "no open was cancelled (" << opened << " opened)";
    EXPECT_EQ(descriptors_open_on(dir / "f"), 0);
  }());
}

TEST_P(FileFlavours, WriteThenReadBackOnEveryFlavour) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> task<> {
    temp_dir dir;
    fs::file w = co_await fs::file::create(dir / "f");
    for (int i = 0; i < 100; ++i) {
      co_await w.write_all(hello);
      co_await kyoto::yield_now();  // on multi_thread the task may move
    }
    co_await w.sync_all();
    fs::file r = co_await fs::file::open(dir / "f");
    std::string back;
    co_await r.read_to_string(back);
    KYOTO_ASSERT_EQ(back.size(), 100 * hello.size());
    for (std::size_t i = 0; i < 100; ++i)
      EXPECT_EQ(std::string_view(back).substr(i * hello.size(), hello.size()), hello);
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(FileFlavours);

// ---- concurrency ----

KYOTO_TEST_WITH(File, ConcurrentReadAtFromSpawnedTasksOnTwoWorkers,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  temp_dir dir;
  constexpr std::size_t chunk = 64 << 10;
  constexpr std::size_t tasks = 8;
  const std::vector<std::byte> data = pattern_bytes(chunk * tasks);
  co_await fs::write(dir / "f", data);
  auto f = std::make_shared<const fs::file>(co_await fs::file::open(dir / "f"));
  std::vector<kyoto::join_handle<bool>> handles;
  for (std::size_t t = 0; t < tasks; ++t) {
    handles.push_back(kyoto::spawn(
        [](std::shared_ptr<const fs::file> file, std::size_t index) -> task<bool> {
          // Every task reads every chunk, starting from its own, in 4 KiB
          // pieces, yielding between them (so it may change workers).
          std::vector<std::byte> piece(4096);
          for (std::size_t k = 0; k < tasks; ++k) {
            const std::size_t c = (index + k) % tasks;
            for (std::size_t at = c * chunk; at < (c + 1) * chunk; at += piece.size()) {
              const std::size_t n = co_await file->read_at(piece, at);
              if (n != piece.size()) co_return false;
              for (std::size_t i = 0; i < n; ++i) {
                if (piece[i] != pattern(at + i)) co_return false;
              }
              co_await kyoto::yield_now();
            }
          }
          co_return true;
        },
        f, t));
  }
  for (auto& h : handles)
    EXPECT_TRUE(co_await h);
}

KYOTO_TEST_WITH(File, ConcurrentWholeFileReadsOnTwoWorkers,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  temp_dir dir;
  const std::vector<std::byte> data = pattern_bytes(300'000);
  co_await fs::write(dir / "f", data);
  std::vector<kyoto::join_handle<std::vector<std::byte>>> handles;
  for (int t = 0; t < 6; ++t) {
    handles.push_back(kyoto::spawn(
        [](path p) -> task<std::vector<std::byte>> {
          fs::file f = co_await fs::file::open(std::move(p));
          std::vector<std::byte> out;
          co_await f.read_to_end(out);
          co_return out;
        },
        dir / "f"));
  }
  for (auto& h : handles)
    EXPECT_TRUE(co_await h == data);
}

}  // namespace
