// kyoto::test::scoped_env: an environment variable set for one scope (the
// runtime's knobs read at build(), e.g. KYOTO_CONCENTRATE). Not thread-safe
// (setenv): use it where no other thread reads the environment -- before a
// runtime is built and after it is dropped.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace kyoto::test {

/// Sets `name` to `value` until the end of the scope, then restores it.
class scoped_env {
 public:
  // NOLINTBEGIN(concurrency-mt-unsafe): see the file comment
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  // NOLINTEND(concurrency-mt-unsafe)
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace kyoto::test
