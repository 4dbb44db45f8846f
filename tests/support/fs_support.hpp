// Test helpers for kyoto::fs: files read and written with the standard
// library, and the errors kyoto::fs reports (what error_of() gave).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <ios>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace kyoto::test {

/// The file's contents, read with the standard library.
inline std::string std_read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Replaces the file's contents with `s`, with the standard library.
inline void std_write(const std::filesystem::path& p, std::string_view s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

/// What kyoto::fs's error message is: `op "path": strerror`.
inline std::string fs_message(std::string_view op, const std::filesystem::path& p, int err) {
  return std::string(op) + " \"" + p.string() + "\": " + std::system_category().message(err);
}

/// Expects `e` to be errno `err`.
inline void expect_fs_error(const std::optional<std::system_error>& e, int err) {
  ASSERT_TRUE(e.has_value()) << "no error; expected " << std::system_category().message(err);
  EXPECT_EQ(e->code(), std::error_code(err, std::system_category())) << e->what();
}

/// Expects `e` to be errno `err`, with kyoto::fs's message naming `op` and
/// `p` (fs_message).
inline void expect_fs_error(const std::optional<std::system_error>& e, int err, std::string_view op,
                            const std::filesystem::path& p) {
  expect_fs_error(e, err);
  if (e.has_value()) {
    EXPECT_EQ(std::string(e->what()), fs_message(op, p, err));
  }
}

}  // namespace kyoto::test
