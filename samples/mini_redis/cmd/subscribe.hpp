// mini-redis's SUBSCRIBE and UNSUBSCRIBE (upstream src/cmd/subscribe.rs).
//
// SUBSCRIBE turns the connection into a subscriber: from then on it only
// forwards the messages published on its channels, and reads only
// SUBSCRIBE and UNSUBSCRIBE (any other command gets "-ERR unknown command")
// until the peer closes or the server shuts down. The channels are a
// kyoto::stream_map of broadcast streams keyed by channel name.
#pragma once

#include "../connection.hpp"
#include "../db.hpp"
#include "../frame.hpp"
#include "../parse.hpp"
#include "../shutdown.hpp"

#include <kyoto/runtime/task.hpp>

#include <string>
#include <vector>

namespace mini_redis::cmd {

/// `SUBSCRIBE channel [channel ...]`.
///
/// Thread safety: a plain value.
class subscribe {
 public:
  /// A SUBSCRIBE to `channels`.
  explicit subscribe(std::vector<std::string> channels) : channels_(std::move(channels)) {}
  /// The channels.
  const std::vector<std::string>& channels() const noexcept { return channels_; }

  /// Reads the channel names (at least one); throws mini_redis::error if
  /// there is none or one is not a string.
  static subscribe parse_frames(parse& p);
  /// Runs the subscriber until the peer closes or `sd` fires; each write
  /// is flushed before the connection waits again.
  kyoto::task<> apply(db& store, connection& dst, shutdown& sd);
  /// The request frame a client sends.
  frame into_frame() const;

 private:
  std::vector<std::string> channels_;
};

/// `UNSUBSCRIBE [channel ...]`: only valid while subscribed; with no
/// channel, every channel.
///
/// Thread safety: a plain value.
class unsubscribe {
 public:
  /// An UNSUBSCRIBE from `channels` (empty: from all).
  explicit unsubscribe(std::vector<std::string> channels) : channels_(std::move(channels)) {}
  /// The channels.
  const std::vector<std::string>& channels() const noexcept { return channels_; }
  /// The channels, to take.
  std::vector<std::string>& channels() noexcept { return channels_; }

  /// Reads the channel names (possibly none).
  static unsubscribe parse_frames(parse& p);
  /// The request frame a client sends.
  frame into_frame() const;

 private:
  std::vector<std::string> channels_;
};

}  // namespace mini_redis::cmd
