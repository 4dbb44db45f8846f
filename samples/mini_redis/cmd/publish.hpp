// mini-redis's PUBLISH (upstream src/cmd/publish.rs).
#pragma once

#include "../connection.hpp"
#include "../db.hpp"
#include "../frame.hpp"
#include "../parse.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/task.hpp>

#include <string>

namespace mini_redis::cmd {

/// `PUBLISH channel message`: sends the message to the channel's
/// subscribers; answers with how many there are.
///
/// Thread safety: a plain value.
class publish {
 public:
  /// A PUBLISH of `message` on `channel`.
  publish(std::string channel, kyoto::bytes message)
      : channel_(std::move(channel)), message_(std::move(message)) {}

  /// Reads the arguments after the command name; throws mini_redis::error
  /// if one is missing.
  static publish parse_frames(parse& p);
  /// Publishes and answers on `dst` (buffered).
  kyoto::task<> apply(db& store, connection& dst);
  /// The same, without suspending: the reply is only buffered (the
  /// server's fast path; the caller flushes, and writes out a full buffer).
  void apply_now(db& store, connection& dst);
  /// The request frame a client sends.
  frame into_frame() const;

 private:
  std::string channel_;
  kyoto::bytes message_;
};

}  // namespace mini_redis::cmd
