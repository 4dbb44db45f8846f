// mini-redis's PING (upstream src/cmd/ping.rs).
#pragma once

#include "../connection.hpp"
#include "../frame.hpp"
#include "../parse.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/task.hpp>

#include <optional>

namespace mini_redis::cmd {

/// `PING [message]`: answers PONG, or the message as a bulk string.
///
/// Thread safety: a plain value.
class ping {
 public:
  /// A PING with an optional message.
  explicit ping(std::optional<kyoto::bytes> msg = std::nullopt) : msg_(std::move(msg)) {}

  /// Reads the optional message after the command name.
  static ping parse_frames(parse& p);
  /// Answers on `dst` (buffered).
  kyoto::task<> apply(connection& dst);
  /// The same, without suspending: the reply is only buffered (the
  /// server's fast path; the caller flushes, and writes out a full buffer).
  void apply_now(connection& dst);
  /// The request frame a client sends.
  frame into_frame() const;

 private:
  std::optional<kyoto::bytes> msg_;
};

}  // namespace mini_redis::cmd
