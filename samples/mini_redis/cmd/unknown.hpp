// mini-redis's answer to a command it does not know (upstream
// src/cmd/unknown.rs).
#pragma once

#include "../connection.hpp"

#include <kyoto/runtime/task.hpp>

#include <string>

namespace mini_redis::cmd {

/// Any other command: answers `-ERR unknown command '<name>'` (the name
/// lower-cased) and keeps the connection open.
///
/// Thread safety: a plain value.
class unknown {
 public:
  /// An unknown command named `name`.
  explicit unknown(std::string name) : command_name_(std::move(name)) {}
  /// The command's name.
  const std::string& get_name() const noexcept { return command_name_; }
  /// Answers on `dst` (buffered).
  kyoto::task<> apply(connection& dst) const;
  /// The same, without suspending: the reply is only buffered (the
  /// server's fast path; the caller flushes, and writes out a full buffer).
  void apply_now(connection& dst) const;

 private:
  std::string command_name_;
};

}  // namespace mini_redis::cmd
