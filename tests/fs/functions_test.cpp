// kyoto::fs's free functions on real files and directories: ports of tokio
// 1.24's tests/fs.rs, fs_dir.rs, fs_copy.rs and fs_link.rs, then errors,
// metadata and large files. Each test works in a fresh mkdtemp directory
// under /tmp.
//
// Not ported from fs_dir.rs: build_dir (tokio's DirBuilder is not
// provided: create_dir and create_dir_all cover it); read_inherent and
// read_dir_entry_info are in read_dir_test.cpp.
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "fs_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace fs = kyoto::fs;
using kyoto::task;
using namespace kyoto::test;
using std::filesystem::path;

// ---- tokio's fs.rs ----

KYOTO_TEST(Fs, WriteThenReadGivesTheBytesBack) {
  temp_dir dir;
  co_await fs::write(dir / "bar", std::string_view("bytes"));
  const std::vector<std::byte> out = co_await fs::read(dir / "bar");
  EXPECT_EQ(text(out), "bytes");
}

// ---- tokio's fs_dir.rs ----

KYOTO_TEST(Fs, CreateDirMakesADirectory) {
  temp_dir dir;
  co_await fs::create_dir(dir / "foo");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "foo"));
}

KYOTO_TEST(Fs, CreateDirAllMakesEveryLevel) {
  temp_dir dir;
  co_await fs::create_dir_all(dir / "foo" / "bar");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "foo" / "bar"));
}

KYOTO_TEST(Fs, RemoveDirRemovesAnEmptyDirectory) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "foo");
  co_await fs::remove_dir(dir / "foo");
  EXPECT_FALSE(std::filesystem::exists(dir / "foo"));
}

// ---- tokio's fs_copy.rs ----

KYOTO_TEST(Fs, CopyDuplicatesTheContents) {
  temp_dir dir;
  co_await fs::write(dir / "foo.txt", std::string_view("Hello File!"));
  EXPECT_EQ(co_await fs::copy(dir / "foo.txt", dir / "bar.txt"), 11u);
  const std::vector<std::byte> from = co_await fs::read(dir / "foo.txt");
  const std::vector<std::byte> to = co_await fs::read(dir / "bar.txt");
  EXPECT_EQ(from, to);
}

KYOTO_TEST(Fs, CopyCarriesThePermissions) {
  temp_dir dir;
  fs::file from = co_await fs::file::create(dir / "foo.txt");
  fs::permissions from_perms = (co_await from.metadata()).permissions();
  from_perms.set_readonly(true);
  co_await from.set_permissions(from_perms);
  co_await fs::copy(dir / "foo.txt", dir / "bar.txt");
  const fs::permissions to_perms = (co_await fs::metadata(dir / "bar.txt")).permissions();
  EXPECT_EQ(from_perms, to_perms);
}

// ---- tokio's fs_link.rs ----

KYOTO_TEST(Fs, HardLinkSharesTheContents) {
  temp_dir dir;
  std_write(dir / "src.txt", "hello");
  co_await fs::hard_link(dir / "src.txt", dir / "dst.txt");
  EXPECT_EQ(std_read(dir / "dst.txt"), "hello");
  EXPECT_EQ((co_await fs::metadata(dir / "src.txt")).nlink(), 2u);
}

KYOTO_TEST(Fs, SymlinkPointsAtTheTargetAndReadLinkGivesIt) {
  temp_dir dir;
  std_write(dir / "src.txt", "hello");
  co_await fs::symlink(dir / "src.txt", dir / "dst.txt");
  EXPECT_EQ(std_read(dir / "dst.txt"), "hello");
  EXPECT_EQ(co_await fs::read_link(dir / "dst.txt"), dir / "src.txt");
  const fs::file_metadata link = co_await fs::symlink_metadata(dir / "dst.txt");
  EXPECT_TRUE(link.is_symlink());
  const fs::file_metadata target = co_await fs::metadata(dir / "dst.txt");
  EXPECT_TRUE(target.is_file()) << "metadata follows the link";
  EXPECT_EQ(target.len(), 5u);
}

// ---- errors: the errno, and a message naming the operation and path ----

KYOTO_TEST(Fs, ReadOfAMissingFileFailsWithEnoent) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::read(dir / "missing")), ENOENT, "kyoto::fs::read",
                  dir / "missing");
}

KYOTO_TEST(Fs, RemoveFileOfAMissingFileFailsWithEnoent) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::remove_file(dir / "missing")), ENOENT,
                  "kyoto::fs::remove_file", dir / "missing");
}

KYOTO_TEST(Fs, RemoveFileOfADirectoryFailsWithEisdir) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "d");
  expect_fs_error(co_await error_of(fs::remove_file(dir / "d")), EISDIR);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "d"));
}

KYOTO_TEST(Fs, RemoveFileRemovesAFile) {
  temp_dir dir;
  std_write(dir / "f", "x");
  co_await fs::remove_file(dir / "f");
  EXPECT_FALSE(std::filesystem::exists(dir / "f"));
}

KYOTO_TEST(Fs, RemoveDirOfANonEmptyDirectoryFailsWithEnotempty) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "d");
  std_write(dir / "d" / "f", "x");
  expect_fs_error(co_await error_of(fs::remove_dir(dir / "d")), ENOTEMPTY, "kyoto::fs::remove_dir",
                  dir / "d");
}

KYOTO_TEST(Fs, CreateDirOfAnExistingPathFailsWithEexist) {
  temp_dir dir;
  std::filesystem::create_directory(dir / "d");
  expect_fs_error(co_await error_of(fs::create_dir(dir / "d")), EEXIST, "kyoto::fs::create_dir",
                  dir / "d");
}

KYOTO_TEST(Fs, CreateDirWithoutItsParentFailsWithEnoent) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::create_dir(dir / "a" / "b")), ENOENT);
}

KYOTO_TEST(Fs, RenameOfAMissingFileNamesBothPaths) {
  temp_dir dir;
  const auto e = co_await error_of(fs::rename(dir / "a", dir / "b"));
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(std::string(e->what()), "kyoto::fs::rename \"" + (dir / "a").string() + "\" -> \"" +
                                        (dir / "b").string() +
                                        "\": " + std::system_category().message(ENOENT));
}

KYOTO_TEST(Fs, ReadLinkOfAFileThatIsNoLinkFailsWithEinval) {
  temp_dir dir;
  std_write(dir / "f", "x");
  expect_fs_error(co_await error_of(fs::read_link(dir / "f")), EINVAL);
}

KYOTO_TEST(Fs, MetadataOfAMissingPathFailsWithEnoent) {
  temp_dir dir;
  expect_fs_error(co_await error_of(fs::metadata(dir / "missing")), ENOENT, "kyoto::fs::metadata",
                  dir / "missing");
}

// ---- create_dir_all ----

KYOTO_TEST(Fs, CreateDirAllOfAnExistingDirectorySucceeds) {
  temp_dir dir;
  co_await fs::create_dir_all(dir.get());
  co_await fs::create_dir_all(dir / "a" / "b" / "c");
  co_await fs::create_dir_all(dir / "a" / "b");
  co_await fs::create_dir_all(dir / "a" / "b" / "c");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a" / "b" / "c"));
}

KYOTO_TEST(Fs, CreateDirAllAcceptsATrailingSeparatorAndDots) {
  temp_dir dir;
  co_await fs::create_dir_all(dir.get() / "x" / "y" / "");
  co_await fs::create_dir_all(dir.get() / "x" / "." / "z");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "x" / "y"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "x" / "z"));
}

KYOTO_TEST(Fs, CreateDirAllOverAFileFailsWithEexist) {
  temp_dir dir;
  std_write(dir / "f", "x");
  expect_fs_error(co_await error_of(fs::create_dir_all(dir / "f")), EEXIST,
                  "kyoto::fs::create_dir_all", dir / "f");
}

KYOTO_TEST(Fs, CreateDirAllBelowAFileFailsWithEnotdir) {
  temp_dir dir;
  std_write(dir / "f", "x");
  expect_fs_error(co_await error_of(fs::create_dir_all(dir / "f" / "a" / "b")), ENOTDIR);
}

KYOTO_TEST(Fs, CreateDirAllFromSeveralTasksAtOnceSucceedsForAll) {
  temp_dir dir;
  std::vector<kyoto::join_handle<void>> handles;
  for (int i = 0; i < 8; ++i)
    handles.push_back(kyoto::spawn(fs::create_dir_all, dir / "p" / "q" / "r" / "s"));
  for (auto& h : handles)
    co_await h;
  EXPECT_TRUE(std::filesystem::is_directory(dir / "p" / "q" / "r" / "s"));
}

// ---- read, write, rename, metadata ----

KYOTO_TEST(Fs, WriteReplacesTheContentsOfAnExistingFile) {
  temp_dir dir;
  std_write(dir / "f", "a much longer original text");
  co_await fs::write(dir / "f", std::string_view("short"));
  EXPECT_EQ(co_await fs::read_to_string(dir / "f"), "short");
}

KYOTO_TEST(Fs, ReadToStringGivesTheText) {
  temp_dir dir;
  std_write(dir / "f", "line one\nline two\n");
  EXPECT_EQ(co_await fs::read_to_string(dir / "f"), "line one\nline two\n");
  std_write(dir / "empty", "");
  EXPECT_EQ(co_await fs::read_to_string(dir / "empty"), "");
}

KYOTO_TEST(Fs, FourMebibyteRoundTrip) {
  temp_dir dir;
  const std::vector<std::byte> data = pattern_bytes(4 << 20);
  co_await fs::write(dir / "big", data);
  EXPECT_EQ(std::filesystem::file_size(dir / "big"), data.size());
  const std::vector<std::byte> back = co_await fs::read(dir / "big");
  EXPECT_TRUE(back == data);
  EXPECT_EQ((co_await fs::read_to_string(dir / "big")).size(), data.size());
  EXPECT_EQ(co_await fs::copy(dir / "big", dir / "copy"), data.size());
  EXPECT_TRUE(co_await fs::read(dir / "copy") == data);
}

KYOTO_TEST(Fs, ReadOfAFileWhoseSizeIsUnknownReadsToTheEnd) {
  // /proc files report size 0: the size hint is wrong and reading must
  // continue until end of file.
  const std::string status = co_await fs::read_to_string("/proc/self/status");
  EXPECT_EQ(status.rfind("Name:", 0), 0u) << status;
  EXPECT_NE(status.find("\nPid:"), std::string::npos);
}

KYOTO_TEST(Fs, RenameMovesAFileAndReplacesTheTarget) {
  temp_dir dir;
  std_write(dir / "a", "from a");
  std_write(dir / "b", "old b");
  co_await fs::rename(dir / "a", dir / "b");
  EXPECT_FALSE(std::filesystem::exists(dir / "a"));
  EXPECT_EQ(std_read(dir / "b"), "from a");
}

KYOTO_TEST(Fs, MetadataDescribesFilesAndDirectories) {
  temp_dir dir;
  std_write(dir / "f", "12345");
  const fs::file_metadata f = co_await fs::metadata(dir / "f");
  EXPECT_TRUE(f.is_file());
  EXPECT_FALSE(f.is_dir());
  EXPECT_EQ(f.len(), 5u);
  struct stat st{};
  KYOTO_ASSERT_EQ(::stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(f.ino(), st.st_ino);
  EXPECT_EQ(f.mode(), st.st_mode);
  EXPECT_EQ(
      f.modified().time_since_epoch(),
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  EXPECT_LE(f.modified(), std::chrono::system_clock::now());
  EXPECT_GT(f.modified(), std::chrono::system_clock::now() - std::chrono::hours(1));

  const fs::file_metadata d = co_await fs::metadata(dir.get());
  EXPECT_TRUE(d.is_dir());
  EXPECT_FALSE(d.is_file());
  EXPECT_EQ(d.file_type(), std::filesystem::file_type::directory);
  EXPECT_EQ(d.permissions().mode(), 0700u) << "mkdtemp makes 0700 directories";
}

KYOTO_TEST(Fs, TryExistsIsFalseOnlyForMissingPaths) {
  temp_dir dir;
  std_write(dir / "f", "x");
  EXPECT_TRUE(co_await fs::try_exists(dir / "f"));
  EXPECT_TRUE(co_await fs::try_exists(dir.get()));
  EXPECT_FALSE(co_await fs::try_exists(dir / "missing"));
  expect_fs_error(co_await error_of(fs::try_exists(dir / "f" / "below-a-file")), ENOTDIR);
}

KYOTO_TEST(Fs, SetPermissionsChangesTheMode) {
  temp_dir dir;
  std_write(dir / "f", "x");
  co_await fs::set_permissions(dir / "f", fs::permissions::from_mode(0640));
  EXPECT_EQ((co_await fs::metadata(dir / "f")).permissions().mode(), 0640u);
}

// ---- every runtime flavour ----

class FsFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(FsFlavours, DirectoryAndFileLifecycle) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> task<> {
    temp_dir dir;
    co_await fs::create_dir_all(dir / "a" / "b");
    co_await fs::write(dir / "a" / "b" / "f", std::string_view("contents"));
    co_await kyoto::yield_now();
    co_await fs::rename(dir / "a" / "b" / "f", dir / "a" / "g");
    EXPECT_EQ(co_await fs::read_to_string(dir / "a" / "g"), "contents");
    EXPECT_EQ((co_await fs::metadata(dir / "a" / "g")).len(), 8u);
    co_await fs::remove_file(dir / "a" / "g");
    co_await fs::remove_dir(dir / "a" / "b");
    co_await fs::remove_dir(dir / "a");
    EXPECT_FALSE(co_await fs::try_exists(dir / "a"));
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(FsFlavours);

}  // namespace
