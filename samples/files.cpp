// Files on io_uring (docs/fs.md): write a file, read it back, append to it,
// read at an offset, look at its metadata, list the directory, rename it,
// and clean up. The tokio program it ports:
//
//   let dir = tempfile::tempdir()?;
//   fs::write(dir.path().join("notes.txt"), "hello, kyoto\n").await?;
//   let text = fs::read_to_string(dir.path().join("notes.txt")).await?;
//   let mut f = OpenOptions::new().append(true).open(&path).await?;
//   f.write_all(b"second line\n").await?;
//   ...
//   let mut entries = fs::read_dir(dir.path()).await?;
//   while let Some(e) = entries.next_entry().await? { ... }
//   ...
#include <kyoto/fs.hpp>
#include <kyoto/kyoto.hpp>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fs = kyoto::fs;

KYOTO_MAIN() {
  // A fresh directory, so that the output does not depend on what exists.
  std::string tmpl = "/tmp/kyoto-files-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::system_category());
  const std::filesystem::path dir = tmpl;
  const std::filesystem::path notes = dir / "notes.txt";

  // Whole-file helpers: one open, the writes or reads, one close.
  co_await fs::write(notes, std::string_view("hello, kyoto\n"));
  std::string text = co_await fs::read_to_string(notes);
  std::cout << "wrote " << text.size() << " bytes: " << text;

  // open_options: append a line at the end.
  {
    fs::file f = co_await fs::file::options().append(true).open(notes);
    co_await f.write_all(std::string_view("second line\n"));
    co_await f.sync_data();  // on the disk before we go on
  }

  // read_at: bytes at an offset, without moving the cursor.
  fs::file f = co_await fs::file::open(notes);
  std::array<std::byte, 5> word{};
  const std::size_t n = co_await f.read_at(word, 7);
  std::cout << "at offset 7: " << std::string_view(reinterpret_cast<const char*>(word.data()), n)
            << '\n';

  // The cursor: read everything from the start.
  std::string all;
  co_await f.read_to_string(all);
  std::cout << "now " << all.size() << " bytes:\n" << all;

  const fs::file_metadata m = co_await f.metadata();
  std::cout << "is_file: " << std::boolalpha << m.is_file() << ", len: " << m.len() << '\n';
  co_await f.close();

  // Directories, rename and removal.
  co_await fs::create_dir_all(dir / "archive" / "2024");

  // read_dir: the entries come in the file system's order (sorted here, so
  // that the output does not vary); file_type() costs no syscall.
  std::vector<std::string> listing;
  fs::read_dir_stream entries = co_await fs::read_dir(dir);
  while (std::optional<fs::dir_entry> e = co_await entries.next_entry()) {
    const bool is_dir = e->file_type() == std::filesystem::file_type::directory;
    listing.push_back(e->file_name().string() + (is_dir ? "/" : ""));
  }
  std::sort(listing.begin(), listing.end());
  std::cout << "in the directory:";
  for (const std::string& name : listing)
    std::cout << ' ' << name;
  std::cout << '\n';

  co_await fs::rename(notes, dir / "archive" / "2024" / "notes.txt");
  std::cout << "moved: " << !co_await fs::try_exists(notes) << '\n';

  // Errors name the operation and the path; the path is ours, so print
  // only the error code.
  try {
    co_await fs::remove_file(notes);
  } catch (const std::system_error& e) {
    std::cout << "remove_file again: " << e.code().message() << '\n';
  }

  co_await fs::remove_file(dir / "archive" / "2024" / "notes.txt");
  co_await fs::remove_dir(dir / "archive" / "2024");
  co_await fs::remove_dir(dir / "archive");
  co_await fs::remove_dir(dir);
  std::cout << "cleaned up: " << !co_await fs::try_exists(dir) << '\n';
}
