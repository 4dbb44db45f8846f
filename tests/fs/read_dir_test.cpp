// kyoto::fs::read_dir, dir_entry, remove_dir_all and canonicalize on real
// directories: the ports of tokio 1.24's tests/fs_dir.rs that concern them
// (read_inherent; read_dir_entry_info from later tokio), then types,
// metadata, errors, directories of several batches, cancel safety and the
// directory's descriptor. Each test works in a fresh mkdtemp directory
// under /tmp.
//
// The lstat fallback for a file system that leaves d_type unknown is not
// exercised: tmpfs and ext4, where /tmp lives, fill d_type in.
#include "errors.hpp"
#include "flavours.hpp"
#include "fs_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace fs = kyoto::fs;
namespace oneshot = kyoto::sync::oneshot;
using kyoto::task;
using namespace kyoto::test;
using std::filesystem::file_type;
using std::filesystem::path;

/// Every name read_dir lists in `dir`, sorted (the order is the file
/// system's).
task<std::vector<std::string>> names_in(path dir) {
  fs::read_dir_stream rd = co_await fs::read_dir(std::move(dir));
  std::vector<std::string> names;
  while (std::optional<fs::dir_entry> e = co_await rd.next_entry())
    names.push_back(e->file_name().string());
  std::sort(names.begin(), names.end());
  co_return names;
}

/// "f000", "f001", ...: `n` names, sorted.
std::vector<std::string> numbered(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) {
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), "f%03d", i);
    v.emplace_back(buf.data());
  }
  return v;
}

/// Makes an empty file for each name in `dir`.
void touch_all(const temp_dir& dir, const std::vector<std::string>& names) {
  for (const std::string& n : names)
    std_write(dir / n, "");
}

/// How many of this process's descriptors are open on the directory `p`.
int descriptors_on(const path& p) {
  const path target = std::filesystem::canonical(p);
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(fd.path(), ec) == target) ++n;
  }
  return n;
}

// ---- tokio's fs_dir.rs ----

KYOTO_TEST(ReadDir, ListsEveryEntryOnce) {
  // tokio: read_inherent
  temp_dir dir;
  std::filesystem::create_directory(dir / "aa");
  std::filesystem::create_directory(dir / "bb");
  std::filesystem::create_directory(dir / "cc");
  const std::vector<std::string> names = co_await names_in(dir.get());
  EXPECT_EQ(names, (std::vector<std::string>{"aa", "bb", "cc"}));
}

KYOTO_TEST(ReadDir, EntryGivesItsPathNameMetadataAndType) {
  // tokio: read_dir_entry_info
  temp_dir dir;
  co_await fs::write(dir / "a.txt", std::string_view("Hello File!"));
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  std::optional<fs::dir_entry> first = co_await rd.next_entry();
  KYOTO_ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->path(), dir / "a.txt");
  EXPECT_EQ(first->file_name(), path("a.txt"));
  EXPECT_TRUE((co_await first->metadata()).is_file());
  EXPECT_EQ(first->file_type(), file_type::regular);
}

// ---- listing ----

KYOTO_TEST(ReadDir, ListsFilesAndSubdirectoriesButNotDotAndDotDot) {
  temp_dir dir;
  std_write(dir / "file", "x");
  std_write(dir / ".hidden", "x");
  std::filesystem::create_directory(dir / "sub");
  std_write(dir / "sub" / "nested", "x");  // not listed: read_dir does not recurse
  const std::vector<std::string> names = co_await names_in(dir.get());
  EXPECT_EQ(names, (std::vector<std::string>{".hidden", "file", "sub"}));
}

KYOTO_TEST(ReadDir, EntryPathsStartWithTheGivenPath) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "d");
  std_write(dir / "d" / "f", "x");
  // A path with a trailing separator and a "..": kept as given, as tokio's
  // path() joins the name to the path read_dir was given.
  const path given = dir.get() / "d" / ".." / "d" / "";
  fs::read_dir_stream rd = co_await fs::read_dir(given);
  std::optional<fs::dir_entry> e = co_await rd.next_entry();
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->path(), given / "f");
  EXPECT_EQ(e->file_name(), path("f"));
  EXPECT_FALSE((co_await rd.next_entry()).has_value());
}

KYOTO_TEST(ReadDir, FileTypeTellsFilesDirectoriesLinksAndFifosApart) {
  temp_dir dir;
  std_write(dir / "file", "x");
  std::filesystem::create_directory(dir / "dir");
  std::filesystem::create_symlink(dir / "file", dir / "link");
  std::filesystem::create_directory_symlink(dir / "dir", dir / "dirlink");
  KYOTO_ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  std::vector<std::pair<std::string, file_type>> seen;
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  while (std::optional<fs::dir_entry> e = co_await rd.next_entry())
    seen.emplace_back(e->file_name().string(), e->file_type());
  std::sort(seen.begin(), seen.end());
  const std::vector<std::pair<std::string, file_type>> expected{
      {"dir", file_type::directory}, {"dirlink", file_type::symlink},  // links are not followed
      {"fifo", file_type::fifo},     {"file", file_type::regular},    {"link", file_type::symlink},
  };
  EXPECT_EQ(seen, expected);
}

KYOTO_TEST(ReadDir, EntryInoIsTheInodeNumber) {
  temp_dir dir;
  std_write(dir / "f", "x");
  struct stat st{};
  KYOTO_ASSERT_EQ(::lstat((dir / "f").c_str(), &st), 0);
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  std::optional<fs::dir_entry> e = co_await rd.next_entry();
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ino(), st.st_ino);
}

KYOTO_TEST(ReadDir, EntryMetadataDescribesALinkNotItsTarget) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "d");
  std_write(dir / "d" / "file", "12345");
  std::filesystem::create_symlink(dir / "d" / "file", dir / "d" / "link");
  fs::read_dir_stream rd = co_await fs::read_dir(dir / "d");
  int checked = 0;
  while (std::optional<fs::dir_entry> e = co_await rd.next_entry()) {
    const fs::file_metadata m = co_await e->metadata();
    const fs::file_metadata expected = co_await fs::symlink_metadata(e->path());
    EXPECT_EQ(m.ino(), expected.ino());
    EXPECT_EQ(m.mode(), expected.mode());
    EXPECT_EQ(m.len(), expected.len());
    if (e->file_name() == "file") {
      EXPECT_TRUE(m.is_file());
      EXPECT_EQ(m.len(), 5u);
    } else {
      EXPECT_TRUE(m.is_symlink()) << e->path();
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

KYOTO_TEST(ReadDir, EntryMetadataOfARemovedEntryFailsWithEnoent) {
  temp_dir dir;
  std_write(dir / "f", "x");
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  std::optional<fs::dir_entry> e = co_await rd.next_entry();
  KYOTO_ASSERT_TRUE(e.has_value());
  std::filesystem::remove(dir / "f");
  expect_fs_error(co_await error_of(e->metadata()), ENOENT, "kyoto::fs::dir_entry::metadata",
                  dir / "f");
}

KYOTO_TEST(ReadDir, EmptyDirectoryGivesNulloptAndKeepsGivingIt) {
  temp_dir dir;
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  EXPECT_FALSE((co_await rd.next_entry()).has_value());
  EXPECT_FALSE((co_await rd.next_entry()).has_value());
}

KYOTO_TEST(ReadDir, ListsADirectoryOfSeveralBatchesEachEntryOnce) {
  // 150 entries: the first batch of 32 with the opendir, then four more.
  temp_dir dir;
  const std::vector<std::string> names = numbered(150);
  touch_all(dir, names);
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  std::vector<std::string> seen;
  while (std::optional<fs::dir_entry> e = co_await rd.next_entry()) {
    EXPECT_EQ(e->file_type(), file_type::regular);
    seen.push_back(e->file_name().string());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, names);  // none missing, none twice
  EXPECT_FALSE((co_await rd.next_entry()).has_value());
}

KYOTO_TEST(ReadDir, AStreamMovedBetweenEntriesKeepsItsPlace) {
  temp_dir dir;
  const std::vector<std::string> names = numbered(40);
  touch_all(dir, names);
  fs::read_dir_stream a = co_await fs::read_dir(dir.get());
  std::vector<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    std::optional<fs::dir_entry> e = co_await a.next_entry();
    KYOTO_ASSERT_TRUE(e.has_value());
    seen.push_back(e->file_name().string());
  }
  fs::read_dir_stream b = std::move(a);
  EXPECT_THROW((void)a.next_entry(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  while (std::optional<fs::dir_entry> e = co_await b.next_entry())
    seen.push_back(e->file_name().string());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, names);
}

// ---- errors ----

KYOTO_TEST(ReadDir, MissingDirectoryFailsWithEnoentNamingReadDirAndThePath) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::read_dir(dir / "missing")), ENOENT, "kyoto::fs::read_dir",
                  dir / "missing");
}

KYOTO_TEST(ReadDir, AFileFailsWithEnotdir) {
  temp_dir dir;
  std_write(dir / "f", "x");
  expect_fs_error(co_await error_of(fs::read_dir(dir / "f")), ENOTDIR, "kyoto::fs::read_dir",
                  dir / "f");
}

// ---- cancel safety and the descriptor ----

/// Holds the blocking pool's only thread (a runtime built with
/// max_blocking_threads(1)) until release(): a batch spawned meanwhile
/// waits in the pool's queue behind it, so it is certainly in flight when
/// a select cancels the next_entry() that spawned it. Dropping the gate
/// without release() also lets the thread go (a broken promise).
class pool_gate {
 public:
  pool_gate() : held_(kyoto::spawn_blocking([f = open_.get_future()] { f.wait(); })) {}

  /// Lets the thread go and waits until it has.
  task<> release() {
    open_.set_value();
    co_await held_;
  }

 private:
  std::promise<void> open_;
  kyoto::join_handle<void> held_;
};

/// The runtime of the tests that hold the blocking pool with a pool_gate.
kyoto::runtime::builder one_blocking_thread() {
  kyoto::runtime::builder b = kyoto::runtime::builder::multi_thread();
  b.max_blocking_threads(1);
  return b;
}

KYOTO_TEST_WITH(ReadDir, ACancelledNextEntryLosesNoEntry, one_blocking_thread()) {
  // Each next_entry() runs first in a select_biased against a oneshot that
  // is ready, while the pool is held: one that needs a batch from the pool
  // is cancelled with its batch queued, and the plain next_entry() after
  // it, once the pool is free, must give that batch's first entry.
  temp_dir dir;
  const std::vector<std::string> names = numbered(150);
  touch_all(dir, names);
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  std::vector<std::string> seen;
  int cancels = 0;
  for (;;) {
    pool_gate gate;
    auto [tx, rx] = oneshot::channel<int>();
    EXPECT_TRUE(tx.send(1).has_value());
    auto v = co_await kyoto::select_biased(rd.next_entry(), std::move(rx));
    co_await gate.release();
    std::optional<fs::dir_entry> e;
    if (v.index() == 0) {
      e = std::move(std::get<0>(v));  // from the current batch
    } else {
      ++cancels;
      e = co_await rd.next_entry();
    }
    if (!e) break;
    seen.push_back(e->file_name().string());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, names);
  // 150 entries: 32 read with the opendir, then batches of 32, 32, 32 and
  // 22 (which meets the end); each of those four was cancelled once.
  EXPECT_EQ(cancels, 4);
}

KYOTO_TEST(ReadDir, ReadingToTheEndClosesTheDirectory) {
  temp_dir dir;
  touch_all(dir, numbered(40));
  fs::read_dir_stream rd = co_await fs::read_dir(dir.get());
  EXPECT_EQ(descriptors_on(dir.get()), 1);
  while ((co_await rd.next_entry()).has_value()) {
  }
  EXPECT_EQ(descriptors_on(dir.get()), 0) << "closed by the last batch, with the stream alive";
}

TEST(ReadDir, AStreamDroppedWithABatchInFlightClosesItsDirectory) {
  temp_dir dir;
  touch_all(dir, numbered(40));
  {
    kyoto::runtime rt = one_blocking_thread().build();
    rt.block_on([](const path& p) -> task<> {
      std::optional<pool_gate> gate;
      {
        fs::read_dir_stream rd = co_await fs::read_dir(p);
        for (int i = 0; i < 32; ++i)  // the first batch
          KYOTO_ASSERT_TRUE((co_await rd.next_entry()).has_value());
        gate.emplace();
        auto [tx, rx] = oneshot::channel<int>();
        EXPECT_TRUE(tx.send(1).has_value());
        auto v = co_await kyoto::select_biased(rd.next_entry(), std::move(rx));
        EXPECT_EQ(v.index(), 1u) << "the next batch waits for the pool";
        EXPECT_EQ(descriptors_on(p), 1);
      }  // rd goes, its batch queued on the pool
      co_await gate->release();
    }(dir.get()));
  }  // dropping the runtime waits for the pool's tasks: the batch, dropped
  EXPECT_EQ(descriptors_on(dir.get()), 0);
}

// ---- every runtime flavour ----

class ReadDirFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(ReadDirFlavours, ListsSeveralBatches) {
  temp_dir dir;
  const std::vector<std::string> names = numbered(101);
  touch_all(dir, names);
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  std::vector<std::string> seen = rt.block_on(names_in(dir.get()));
  EXPECT_EQ(seen, names);
}

KYOTO_INSTANTIATE_FLAVOURS(ReadDirFlavours);

// ---- remove_dir_all ----

KYOTO_TEST(RemoveDirAll, RemovesANestedTree) {
  temp_dir dir;
  std::filesystem::create_directories(dir / "t" / "a" / "b" / "c");
  std::filesystem::create_directories(dir / "t" / "empty");
  std_write(dir / "t" / "top", "x");
  std_write(dir / "t" / "a" / "b" / "c" / "deep", "x");
  for (const std::string& n : numbered(40))
    std_write(dir / "t" / "a" / n, "x");
  co_await fs::remove_dir_all(dir / "t");
  EXPECT_FALSE(std::filesystem::exists(dir / "t"));
  EXPECT_TRUE(std::filesystem::exists(dir.get()));
}

KYOTO_TEST(RemoveDirAll, RemovesLinksInTheTreeNotWhatTheyPointAt) {
  temp_dir dir;
  std::filesystem::create_directories(dir / "keep");
  std_write(dir / "keep" / "f", "x");
  std::filesystem::create_directories(dir / "t");
  std::filesystem::create_directory_symlink(dir / "keep", dir / "t" / "dirlink");
  co_await fs::remove_dir_all(dir / "t");
  EXPECT_FALSE(std::filesystem::exists(dir / "t"));
  EXPECT_EQ(std_read(dir / "keep" / "f"), "x");
}

KYOTO_TEST(RemoveDirAll, OfALinkRemovesOnlyTheLink) {
  temp_dir dir;
  std::filesystem::create_directories(dir / "keep");
  std_write(dir / "keep" / "f", "x");
  std::filesystem::create_directory_symlink(dir / "keep", dir / "link");
  co_await fs::remove_dir_all(dir / "link");
  EXPECT_FALSE(std::filesystem::is_symlink(std::filesystem::symlink_status(dir / "link")));
  EXPECT_EQ(std_read(dir / "keep" / "f"), "x");
}

KYOTO_TEST(RemoveDirAll, OfAMissingPathFailsWithEnoent) {
  // Unlike std::filesystem::remove_all, as tokio (std::fs::remove_dir_all).
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::remove_dir_all(dir / "missing")), ENOENT,
                  "kyoto::fs::remove_dir_all", dir / "missing");
}

KYOTO_TEST(RemoveDirAll, OfAFileFailsWithEnotdirAndKeepsIt) {
  temp_dir dir;
  std_write(dir / "f", "x");
  expect_fs_error(co_await error_of(fs::remove_dir_all(dir / "f")), ENOTDIR,
                  "kyoto::fs::remove_dir_all", dir / "f");
  EXPECT_EQ(std_read(dir / "f"), "x");
}

// ---- canonicalize ----

KYOTO_TEST(Canonicalize, ResolvesDotDotAndSymlinks) {
  temp_dir dir;
  std::filesystem::create_directories(dir / "a" / "b");
  std_write(dir / "a" / "b" / "f", "x");
  std::filesystem::create_directory_symlink(dir / "a", dir / "link");
  const path real = std::filesystem::canonical(dir.get());  // /tmp may be a link
  EXPECT_EQ(co_await fs::canonicalize(dir.get() / "link" / "b" / ".." / "b" / "." / "f"),
            real / "a" / "b" / "f");
  // ".." after a link goes up from the link's target, not from the link.
  EXPECT_EQ(co_await fs::canonicalize(dir.get() / "link" / "b" / ".." / ".."), real);
  EXPECT_EQ(co_await fs::canonicalize(dir / "link"), real / "a");
}

KYOTO_TEST(Canonicalize, MakesARelativePathAbsolute) {
  EXPECT_EQ(co_await fs::canonicalize("."),
            std::filesystem::canonical(std::filesystem::current_path()));
}

KYOTO_TEST(Canonicalize, OfAMissingPathFailsWithEnoent) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::canonicalize(dir / "missing" / ".." / "x")), ENOENT,
                  "kyoto::fs::canonicalize", dir / "missing" / ".." / "x");
  std::filesystem::create_symlink(dir / "nowhere", dir / "dangling");
  expect_fs_error(co_await error_of(fs::canonicalize(dir / "dangling")), ENOENT,
                  "kyoto::fs::canonicalize", dir / "dangling");
}

}  // namespace
