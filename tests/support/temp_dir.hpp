// Test helper: a fresh directory under /tmp, removed with everything in it
// when the test ends (tokio's tempdir()).
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace kyoto::test {

/// A fresh mkdtemp directory, /tmp/kyoto-test-XXXXXX (mode 0700), removed
/// with its contents on destruction. /tmp keeps socket paths in it short
/// (a sockaddr_un holds 107 bytes).
class temp_dir {
 public:
  temp_dir() {
    std::string t = "/tmp/kyoto-test-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) throw std::system_error(errno, std::system_category());
    path_ = t;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  /// The path of `name` in the directory.
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  /// The directory's path.
  const std::filesystem::path& get() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kyoto::test
