// tokio's tutorial, "I/O": AsyncRead and AsyncWrite on a file, and the
// io::copy helper (docs/tutorial/io.md). Each step runs in a fresh
// directory, on "foo.txt" as in the chapter.
#include <kyoto/fs.hpp>
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace io = kyoto::io;
using kyoto::fs::file;

// Rust's {:?} of a byte slice: [104, 101, ...].
void print_bytes(std::string_view label, std::span<const std::byte> bytes) {
  std::cout << label << '[';
  for (std::size_t i = 0; i < bytes.size(); ++i)
    std::cout << (i == 0 ? "" : ", ") << std::to_integer<int>(bytes[i]);
  std::cout << "]\n";
}

kyoto::task<> read() {
  file f = co_await file::open("foo.txt");
  std::array<std::byte, 10> buffer{};

  // read up to 10 bytes
  const std::size_t n = co_await f.read(buffer);

  print_bytes("The bytes: ", std::span(buffer).first(n));
}

kyoto::task<> read_to_end() {
  file f = co_await file::open("foo.txt");
  std::vector<std::byte> buffer;

  // read the whole file
  co_await io::read_to_end(f, buffer);

  print_bytes("The whole file: ", buffer);
}

kyoto::task<> write() {
  file file = co_await file::create("foo.txt");

  // Writes some prefix of the byte string, but not necessarily all of it.
  const std::size_t n =
      co_await file.write(std::as_bytes(std::span(std::string_view("some bytes"))));

  std::cout << "Wrote the first " << n << " bytes of 'some bytes'.\n";
}

kyoto::task<> write_all() {
  file file = co_await file::create("foo.txt");

  co_await file.write_all(std::string_view("some bytes"));
}

// tokio's `&[u8]` is an AsyncRead; in kyoto any type with a read() is an
// io::async_read (docs/io.md). This one reads from a byte string.
struct slice_reader {
  std::string_view rest;

  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    const std::size_t n = std::min(buf.size(), rest.size());
    std::copy_n(reinterpret_cast<const std::byte*>(rest.data()), n, buf.begin());
    rest.remove_prefix(n);
    co_return n;
  }
};
static_assert(io::async_read<slice_reader>);

kyoto::task<> copy() {
  slice_reader reader{"hello"};
  file file = co_await file::create("foo.txt");

  co_await io::copy(reader, file);
}

KYOTO_MAIN() {
  std::string dir = "/tmp/kyoto-tutorial-io-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) throw std::system_error(errno, std::system_category());
  std::filesystem::current_path(dir);

  co_await write_all();
  co_await read();
  co_await read_to_end();
  co_await write();
  co_await copy();
  std::cout << "foo.txt: " << co_await kyoto::fs::read_to_string("foo.txt") << '\n';

  std::filesystem::current_path("/");
  std::filesystem::remove_all(dir);
}
