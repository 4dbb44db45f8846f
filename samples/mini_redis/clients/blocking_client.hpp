// mini-redis's blocking client (upstream src/clients/blocking_client.rs):
// the async client driven by its own current_thread runtime, for code that
// is not async.
#pragma once

#include "client.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/runtime.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis::clients {

class blocking_subscriber;

/// A client whose calls block the calling thread (upstream's
/// BlockingClient): each runs the async call with block_on on a runtime
/// the client owns. Errors as client's.
///
/// Thread safety: one thread at a time; never from inside a kyoto runtime
/// thread (block_on would block a worker: kyoto throws std::logic_error).
/// Moved-from (subscribe() consumes it): may only be destroyed.
class blocking_client {
 public:
  /// Connects to `addr` ("host:port").
  static blocking_client connect(const std::string& addr);

  /// PING.
  kyoto::bytes ping(std::optional<kyoto::bytes> msg = std::nullopt);
  /// GET.
  std::optional<kyoto::bytes> get(std::string_view key);
  /// SET.
  void set(std::string_view key, kyoto::bytes value);
  /// SET with an expiry.
  void set_expires(std::string_view key, kyoto::bytes value, std::chrono::milliseconds expiration);
  /// PUBLISH.
  std::uint64_t publish(std::string_view channel, kyoto::bytes message);
  /// SUBSCRIBE: this client becomes the subscriber.
  blocking_subscriber subscribe(std::vector<std::string> channels) &&;

 private:
  blocking_client(std::unique_ptr<kyoto::runtime> rt, client inner)
      : rt_(std::move(rt)), inner_(std::move(inner)) {}

  std::unique_ptr<kyoto::runtime> rt_;
  client inner_;
};

/// A blocking client in subscriber mode (upstream's BlockingSubscriber).
///
/// Thread safety: as blocking_client.
class blocking_subscriber {
 public:
  /// The channels subscribed to.
  const std::vector<std::string>& get_subscribed() const noexcept {
    return inner_.get_subscribed();
  }
  /// The next message, or nullopt once the server closed the connection.
  std::optional<message> next_message();
  /// Subscribes to more channels.
  void subscribe(const std::vector<std::string>& channels);
  /// Unsubscribes from `channels` (all if empty).
  void unsubscribe(const std::vector<std::string>& channels);

 private:
  friend class blocking_client;
  blocking_subscriber(std::unique_ptr<kyoto::runtime> rt, subscriber inner)
      : rt_(std::move(rt)), inner_(std::move(inner)) {}

  std::unique_ptr<kyoto::runtime> rt_;
  subscriber inner_;
};

}  // namespace mini_redis::clients
