// mini-redis's server module (upstream src/server.rs).
#include "server.hpp"

#include "cmd/command.hpp"
#include "connection.hpp"
#include "db.hpp"
#include "shutdown.hpp"

#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/sync/broadcast.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/semaphore.hpp>
#include <kyoto/time/sleep.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

namespace mini_redis::server {
namespace {

// The server's state (upstream's Listener).
struct listener_state {
  db_drop_guard db_holder;
  kyoto::net::tcp_listener listener;
  std::shared_ptr<kyoto::sync::semaphore> limit_connections;
  // Dropped (reset) to tell every handler to shut down.
  std::optional<kyoto::sync::broadcast::sender<std::monostate>> notify_shutdown;
  // Each handler holds a copy; the receiver closes when the last is gone.
  std::optional<kyoto::sync::mpsc::sender<std::monostate>> shutdown_complete_tx;
};

// One connection (upstream's Handler).
struct handler {
  db store;
  connection conn;
  shutdown sd;
  kyoto::sync::mpsc::sender<std::monostate> shutdown_complete;  // held, never used

  // Reads frames and applies them until the peer closes or the server shuts
  // down. Beyond upstream: the replies to every whole frame already read
  // are buffered and sent with one flush (pipelining).
  kyoto::task<> run() {
    while (!sd.is_shutdown()) {
      std::optional<frame> maybe_frame = conn.parse_frame();
      if (!maybe_frame) {
        co_await conn.flush();
        auto r = co_await kyoto::select(conn.read_frame(), sd.recv());
        if (r.index() == 1) co_return;
        maybe_frame = std::move(std::get<0>(r));
        if (!maybe_frame) co_return;  // the peer closed
      }
      command cmd = command::from_frame(std::move(*maybe_frame));
      // Beyond upstream: every command but SUBSCRIBE is applied without a
      // coroutine frame (apply_now buffers its reply).
      if (cmd.apply_now(store, conn)) {
        co_await conn.write_out_if_full();
      } else {
        co_await cmd.apply(store, conn, sd);
      }
    }
    co_await conn.flush();
  }
};

kyoto::task<> serve(handler h, kyoto::sync::owned_semaphore_permit permit) {
  try {
    co_await h.run();
  } catch (const std::exception& e) {
    // Upstream logs "connection error" with the cause; the connection is
    // then dropped.
    std::cerr << "mini-redis: connection error: " << e.what() << '\n';
  }
  (void)permit;  // released here, with the connection
}

// Accepts a connection, backing off 1, 2, 4, ... 64 s on errors before
// giving up (upstream's Listener::accept); nullopt once it gave up.
kyoto::task<std::optional<kyoto::net::tcp_stream>> accept(kyoto::net::tcp_listener& listener) {
  std::chrono::seconds backoff(1);
  for (;;) {
    try {
      auto [socket, peer] = co_await listener.accept();
      co_return std::move(socket);
    } catch (const std::system_error& e) {
      if (backoff > std::chrono::seconds(64)) {
        std::cerr << "mini-redis: failed to accept: " << e.what() << '\n';
        co_return std::nullopt;
      }
    }
    co_await kyoto::time::sleep(backoff);
    backoff *= 2;
  }
}

// Accepts connections until accepting fails for good (upstream's
// Listener::run): each gets a permit first, so that at most the limit are
// served at once, and its own handler task.
kyoto::task<> accept_loop(listener_state& server) {
  // Both are reset only after this loop has stopped (run() below).
  if (!server.notify_shutdown.has_value() || !server.shutdown_complete_tx.has_value()) co_return;
  const auto& notify_shutdown = server.notify_shutdown.value();
  const auto& shutdown_complete_tx = server.shutdown_complete_tx.value();
  for (;;) {
    auto permit = co_await kyoto::sync::semaphore::acquire_owned(server.limit_connections);
    std::optional<kyoto::net::tcp_stream> socket = co_await accept(server.listener);
    if (!socket.has_value()) co_return;  // accepting failed for good: stop serving (upstream)
    try {
      handler h{server.db_holder.get(), connection(std::move(*socket)),
                shutdown(notify_shutdown.subscribe()), shutdown_complete_tx};
      kyoto::spawn(serve(std::move(h), std::move(permit).value()));
    } catch (const std::exception& e) {
      // This connection only (e.g. out of memory): it is dropped.
      std::cerr << "mini-redis: connection error: " << e.what() << '\n';
    }
  }
}

}  // namespace

kyoto::task<> run(kyoto::net::tcp_listener listener, kyoto::task<> shutdown_signal,
                  std::size_t connection_limit) {
  auto [notify_shutdown, unused_rx] = kyoto::sync::broadcast::channel<std::monostate>(1);
  auto [shutdown_complete_tx, shutdown_complete_rx] = kyoto::sync::mpsc::channel<std::monostate>(1);
  listener_state server{db_drop_guard(), std::move(listener),
                        std::make_shared<kyoto::sync::semaphore>(connection_limit),
                        std::move(notify_shutdown), std::move(shutdown_complete_tx)};
  {
    // `unused_rx` goes: only handlers' receivers should see the close.
    auto drop = std::move(unused_rx);
  }
  // Whichever ends first: accepting failed for good, or the signal came.
  (void)co_await kyoto::select(accept_loop(server), std::move(shutdown_signal));
  // Tell every handler, then wait for the last one to go.
  server.notify_shutdown.reset();
  server.shutdown_complete_tx.reset();
  (void)co_await shutdown_complete_rx.recv();
}

}  // namespace mini_redis::server
