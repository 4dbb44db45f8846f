// mini-redis's SET (upstream src/cmd/set.rs).
#pragma once

#include "../connection.hpp"
#include "../db.hpp"
#include "../frame.hpp"
#include "../parse.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/task.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace mini_redis::cmd {

/// `SET key value [EX seconds | PX milliseconds]`: stores the value,
/// replacing any previous one and its expiry; answers OK.
///
/// Thread safety: a plain value.
class set {
 public:
  /// A SET of `value` under `key`, expiring after `expire` if given.
  set(std::string key, kyoto::bytes value, std::optional<std::chrono::milliseconds> expire)
      : key_(std::move(key)), value_(std::move(value)), expire_(expire) {}
  /// The key.
  const std::string& key() const noexcept { return key_; }
  /// The value.
  const kyoto::bytes& value() const noexcept { return value_; }
  /// The expiry, if any.
  std::optional<std::chrono::milliseconds> expire() const noexcept { return expire_; }

  /// Reads the arguments after the command name; throws mini_redis::error
  /// on a missing key or value, an option other than EX or PX (case
  /// insensitive), or a bad number.
  static set parse_frames(parse& p);
  /// Stores and answers on `dst` (buffered).
  kyoto::task<> apply(db& store, connection& dst);
  /// The same, without suspending: the reply is only buffered (the
  /// server's fast path; the caller flushes, and writes out a full buffer).
  void apply_now(db& store, connection& dst);
  /// The request frame a client sends (the expiry as `px` milliseconds).
  frame into_frame() const;

 private:
  std::string key_;
  kyoto::bytes value_;
  std::optional<std::chrono::milliseconds> expire_;
};

}  // namespace mini_redis::cmd
