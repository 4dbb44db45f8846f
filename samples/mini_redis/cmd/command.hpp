// mini-redis's commands (upstream src/cmd/mod.rs): a request frame decoded
// into one of the supported commands, and applied.
#pragma once

#include "../connection.hpp"
#include "../db.hpp"
#include "../frame.hpp"
#include "../shutdown.hpp"
#include "get.hpp"
#include "ping.hpp"
#include "publish.hpp"
#include "set.hpp"
#include "subscribe.hpp"
#include "unknown.hpp"

#include <kyoto/runtime/task.hpp>

#include <string_view>
#include <variant>

namespace mini_redis {

/// One command (upstream's `enum Command`).
///
/// Thread safety: a plain value.
class command {
 public:
  /// The alternatives.
  using variant_type = std::variant<cmd::get, cmd::publish, cmd::set, cmd::subscribe,
                                    cmd::unsubscribe, cmd::ping, cmd::unknown>;

  /// Holds `v`.
  explicit command(variant_type v) : v_(std::move(v)) {}

  /// Decodes an array frame whose first entry names the command (case
  /// insensitive). An unknown name gives cmd::unknown; anything else
  /// malformed (not an array, a missing or extra argument, a bad option)
  /// throws mini_redis::error, which closes the connection.
  static command from_frame(frame f);

  /// Runs the command, answering on `dst` (buffered; the caller flushes).
  /// UNSUBSCRIBE outside a subscription throws mini_redis::error, as
  /// upstream (closing the connection).
  kyoto::task<> apply(db& store, connection& dst, shutdown& sd);
  /// Beyond upstream, the server's fast path: applies every command but
  /// SUBSCRIBE and UNSUBSCRIBE without suspending (no coroutine frame),
  /// buffering the reply, and returns true; returns false, doing nothing,
  /// for those two (use apply()).
  bool apply_now(db& store, connection& dst);

  /// The command's name, lower case ("get", ..., or the unknown name).
  std::string_view get_name() const noexcept;

  /// The alternative.
  variant_type& get() noexcept { return v_; }
  /// The alternative.
  const variant_type& get() const noexcept { return v_; }

 private:
  variant_type v_;
};

}  // namespace mini_redis
