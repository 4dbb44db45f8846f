// mini-redis's GET (upstream src/cmd/get.rs).
#pragma once

#include "../connection.hpp"
#include "../db.hpp"
#include "../frame.hpp"
#include "../parse.hpp"

#include <kyoto/runtime/task.hpp>

#include <string>

namespace mini_redis::cmd {

/// `GET key`: the value, or null if there is none.
///
/// Thread safety: a plain value.
class get {
 public:
  /// A GET of `key`.
  explicit get(std::string key) : key_(std::move(key)) {}
  /// The key.
  const std::string& key() const noexcept { return key_; }

  /// Reads the arguments after the command name; throws mini_redis::error
  /// if the key is missing or not a string.
  static get parse_frames(parse& p);
  /// Answers on `dst` (buffered; the caller flushes).
  kyoto::task<> apply(const db& store, connection& dst) const;
  /// The same, without suspending: the reply is only buffered (the
  /// server's fast path; the caller flushes, and writes out a full buffer).
  void apply_now(const db& store, connection& dst) const;
  /// The request frame a client sends.
  frame into_frame() const;

 private:
  std::string key_;
};

}  // namespace mini_redis::cmd
