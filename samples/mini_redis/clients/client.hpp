// mini-redis's async client (upstream src/clients/client.rs): one
// connection, one request at a time.
#pragma once

#include "../connection.hpp"
#include "../frame.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis::clients {

class subscriber;

/// A message received on a subscribed channel.
struct message {
  std::string channel;   ///< where it was published
  kyoto::bytes content;  ///< what (as upstream: the frame's text)
};

/// A connection to a Redis server (upstream's Client). Every call sends one
/// request, flushes it, and reads the reply. Errors: mini_redis::error for
/// an error reply (its text), an unexpected reply ("unexpected frame: ..."),
/// or a connection closed by the server; std::system_error from the socket.
///
/// Thread safety: one task at a time. Cancel safety: none of the calls (a
/// cancelled call may leave its reply unread on the connection).
class client {
 public:
  /// Connects to `addr` ("host:port").
  static kyoto::task<client> connect(std::string addr);

  /// PING: "PONG", or `msg` echoed back.
  kyoto::task<kyoto::bytes> ping(std::optional<kyoto::bytes> msg = std::nullopt);
  /// GET: the value, or nullopt if there is none.
  kyoto::task<std::optional<kyoto::bytes>> get(std::string_view key);
  /// SET without expiry.
  kyoto::task<> set(std::string_view key, kyoto::bytes value);
  /// SET with an expiry (sent as PX milliseconds).
  kyoto::task<> set_expires(std::string_view key, kyoto::bytes value,
                            std::chrono::milliseconds expiration);
  /// PUBLISH: how many subscribers got the message.
  kyoto::task<std::uint64_t> publish(std::string_view channel, kyoto::bytes message);
  /// SUBSCRIBE: turns this client into a subscriber (this client is moved
  /// into it; it must stay alive until the await completes).
  kyoto::task<subscriber> subscribe(std::vector<std::string> channels) &&;

 private:
  friend class subscriber;
  explicit client(connection conn) : connection_(std::move(conn)) {}
  kyoto::task<> subscribe_cmd(const std::vector<std::string>& channels);
  kyoto::task<frame> read_response();
  kyoto::task<> send(const frame& request);

  connection connection_;
};

/// A client in subscriber mode (upstream's Subscriber): it can only receive
/// messages and change its subscriptions.
///
/// Thread safety: one task at a time. Cancel safety: next_message() is
/// cancel safe (a message half-read stays buffered); the others are not.
class subscriber {
 public:
  /// The channels subscribed to.
  const std::vector<std::string>& get_subscribed() const noexcept { return subscribed_channels_; }
  /// The next message, or nullopt when the server closed the connection.
  kyoto::task<std::optional<message>> next_message();
  /// The messages as a stream (errors are thrown by its next()).
  kyoto::stream<message> into_stream() &&;
  /// Subscribes to more channels.
  kyoto::task<> subscribe(const std::vector<std::string>& channels);
  /// Unsubscribes from `channels`, or from all if empty.
  kyoto::task<> unsubscribe(const std::vector<std::string>& channels);

 private:
  friend class client;
  subscriber(client c, std::vector<std::string> channels)
      : client_(std::move(c)), subscribed_channels_(std::move(channels)) {}

  client client_;
  std::vector<std::string> subscribed_channels_;
};

}  // namespace mini_redis::clients
