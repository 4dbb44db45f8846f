// mini-redis's shutdown module (upstream src/shutdown.rs): how a
// connection hears that the server is shutting down.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/broadcast.hpp>

#include <utility>
#include <variant>

namespace mini_redis {

/// Listens for the server's shutdown signal (upstream's Shutdown). The
/// server holds the broadcast sender; it signals shutdown by dropping it,
/// which every receiver sees as `closed`. Once seen, is_shutdown() stays
/// true.
///
/// Thread safety: one task at a time. Cancel safety: recv() is cancel safe.
class shutdown {
 public:
  /// Listens on `notify`.
  explicit shutdown(kyoto::sync::broadcast::receiver<std::monostate> notify)
      : notify_(std::move(notify)) {}

  /// Whether the shutdown signal has been received.
  bool is_shutdown() const noexcept { return is_shutdown_; }

  /// Completes once the shutdown signal has been sent (at once if it was
  /// already received).
  kyoto::task<> recv() {
    if (is_shutdown_) co_return;
    // A value, a lag or `closed`: each only ever means "shut down".
    (void)co_await notify_.recv();
    is_shutdown_ = true;
  }

 private:
  bool is_shutdown_ = false;
  kyoto::sync::broadcast::receiver<std::monostate> notify_;
};

}  // namespace mini_redis
