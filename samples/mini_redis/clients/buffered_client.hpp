// mini-redis's buffered client (upstream src/clients/buffered_client.rs):
// a client shared by many tasks, its requests queued on a channel to one
// task that owns the connection.
#pragma once

#include "client.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/oneshot.hpp>

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mini_redis::clients {

namespace detail {
/// A queued GET.
struct buffered_get {
  std::string key;  ///< the key
};
/// A queued SET.
struct buffered_set {
  std::string key;     ///< the key
  kyoto::bytes value;  ///< the value
};
/// A request and where its reply goes (upstream's `Message`).
struct buffered_request {
  std::variant<buffered_get, buffered_set> command;  ///< what to send
  /// The reply: the value (GET; nullopt for SET or a missing key) or the
  /// client's exception.
  kyoto::sync::oneshot::sender<kyoto::result<std::optional<kyoto::bytes>, std::exception_ptr>> tx;
};
}  // namespace detail

/// A client handle that queues GET and SET requests (upstream's
/// BufferedClient). Copies share the connection: each request goes through
/// an mpsc channel (32 deep) to the task that owns the client, and the
/// reply comes back on a oneshot. Errors as client's; an error of the
/// connection task ends it, and later calls throw mini_redis::error
/// ("channel closed").
///
/// Thread safety: copies may be used from different tasks at once.
/// Cancel safety: a cancelled call's request may still be sent.
class buffered_client {
 public:
  /// Spawns the task owning `c` (on the current runtime) and gives a
  /// handle to it.
  static buffered_client buffer(client c);

  /// GET through the shared connection.
  kyoto::task<std::optional<kyoto::bytes>> get(std::string_view key);
  /// SET through the shared connection.
  kyoto::task<> set(std::string_view key, kyoto::bytes value);

 private:
  explicit buffered_client(kyoto::sync::mpsc::sender<detail::buffered_request> tx)
      : tx_(std::move(tx)) {}
  kyoto::task<std::optional<kyoto::bytes>> request(
      std::variant<detail::buffered_get, detail::buffered_set> command);

  kyoto::sync::mpsc::sender<detail::buffered_request> tx_;
};

}  // namespace mini_redis::clients
