// mini-redis's server module (upstream src/server.rs).
#include "server.hpp"

#include "cmd/command.hpp"
#include "connection.hpp"
#include "db.hpp"
#include "fast_path.hpp"
#include "shutdown.hpp"

#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/yield_now.hpp>
#include <kyoto/sync/broadcast.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/notify.hpp>
#include <kyoto/sync/semaphore.hpp>
#include <kyoto/time/sleep.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

namespace mini_redis::server {
namespace {

// --busy-poll (beyond upstream): after a read completes, the thread keeps
// polling io_uring for a while instead of sleeping in the kernel when it
// runs out of work, as a spinning worker does. At -P 1 the server waits
// for each client's next request; sleeping and being woken for it costs a
// context switch each time (finish_task_switch was a quarter of the
// server's samples at -c 50 -P 1). One poller per run(), on run()'s
// runtime; it sleeps (and costs nothing) once no read has completed for
// `spin_for`.
struct busy_poller {
  explicit busy_poller(std::chrono::nanoseconds d) : spin_for(d) {}

  std::chrono::nanoseconds spin_for;
  // Reads completed: the poller only compares values, so relaxed (a lost
  // increment between two handlers on two workers still changes it).
  std::atomic<std::uint64_t> reads{0};
  // Relaxed: the wake-up itself goes through `wake` (a notify keeps a
  // permit, so a notify_one before the poller awaits is not lost).
  std::atomic<bool> sleeping{false};
  std::atomic<bool> stopped{false};
  kyoto::sync::notify wake;

  // A handler's read completed.
  void on_read() noexcept {
    reads.store(reads.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (sleeping.load(std::memory_order_relaxed) &&
        sleeping.exchange(false, std::memory_order_relaxed)) {
      wake.notify_one();
    }
  }

  void stop() noexcept {
    stopped.store(true, std::memory_order_relaxed);
    wake.notify_one();
  }
};

// Yields (so the scheduler polls io_uring without blocking) until no read
// has completed for `spin_for`, then sleeps until the next one.
kyoto::task<> busy_poll(std::shared_ptr<busy_poller> p) {
  using clock = std::chrono::steady_clock;
  std::uint64_t seen = p->reads.load(std::memory_order_relaxed);
  clock::time_point idle_since = clock::now();
  while (!p->stopped.load(std::memory_order_relaxed)) {
    co_await kyoto::yield_now();
    const clock::time_point now = clock::now();
    const std::uint64_t r = p->reads.load(std::memory_order_relaxed);
    if (r != seen) {
      seen = r;
      idle_since = now;
    } else if (now - idle_since >= p->spin_for) {
      p->sleeping.store(true, std::memory_order_relaxed);
      co_await p->wake.notified();
      seen = p->reads.load(std::memory_order_relaxed);
      idle_since = clock::now();
    }
  }
}

// The server's state (upstream's Listener).
struct listener_state {
  db store;
  kyoto::net::tcp_listener listener;
  std::shared_ptr<kyoto::sync::semaphore> limit_connections;
  // Dropped (reset) to tell every handler to shut down.
  std::optional<kyoto::sync::broadcast::sender<std::monostate>> notify_shutdown;
  // Each handler holds a copy; the receiver closes when the last is gone.
  std::optional<kyoto::sync::mpsc::sender<std::monostate>> shutdown_complete_tx;
  // --busy-poll's poller, or null.
  std::shared_ptr<busy_poller> poller;
};

// One connection (upstream's Handler).
struct handler {
  db store;
  connection conn;
  shutdown sd;
  kyoto::sync::mpsc::sender<std::monostate> shutdown_complete;  // held, never used
  std::shared_ptr<busy_poller> poller;                          // or null

  // Reads frames and applies them until the peer closes or the server shuts
  // down. Beyond upstream: the replies to every whole frame already read
  // are buffered and sent with one flush (pipelining).
  kyoto::task<> run() {
    while (!sd.is_shutdown()) {
      // Beyond upstream: GET and SET straight from the read buffer
      // (fast_path.hpp); anything else below, as upstream.
      if (const std::size_t n = apply_fast(conn.buffered(), store, conn); n != 0) {
        conn.consume(n);
        if (conn.out_full()) co_await conn.flush();
        continue;
      }
      std::optional<frame> maybe_frame = conn.parse_frame();
      if (!maybe_frame) {
        if (conn.has_output()) co_await conn.flush();
        // Read, then start over: the next request may be the fast path's.
        auto r = co_await kyoto::select(conn.read_more(), sd.recv());
        if (r.index() == 1) co_return;
        if (poller) poller->on_read();
        if (!std::get<0>(r)) co_return;  // the peer closed
        continue;
      }
      command cmd = command::from_frame(std::move(*maybe_frame));
      // Beyond upstream: every command but SUBSCRIBE is applied without a
      // coroutine frame (apply_now buffers its reply).
      if (cmd.apply_now(store, conn)) {
        if (conn.out_full()) co_await conn.flush();
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
      handler h{server.store, connection(std::move(*socket)), shutdown(notify_shutdown.subscribe()),
                shutdown_complete_tx, server.poller};
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
  const db_drop_guard db_holder;
  co_await run(std::move(listener), std::move(shutdown_signal),
               std::make_shared<kyoto::sync::semaphore>(connection_limit), db_holder.get());
}

kyoto::task<> run(kyoto::net::tcp_listener listener, kyoto::task<> shutdown_signal,
                  std::shared_ptr<kyoto::sync::semaphore> connection_limit, db store,
                  std::chrono::microseconds busy_poll_for) {
  auto [notify_shutdown, unused_rx] = kyoto::sync::broadcast::channel<std::monostate>(1);
  auto [shutdown_complete_tx, shutdown_complete_rx] = kyoto::sync::mpsc::channel<std::monostate>(1);
  listener_state server{std::move(store),
                        std::move(listener),
                        std::move(connection_limit),
                        std::move(notify_shutdown),
                        std::move(shutdown_complete_tx),
                        nullptr};
  if (busy_poll_for.count() > 0) {
    server.poller = std::make_shared<busy_poller>(busy_poll_for);
    kyoto::spawn(busy_poll(server.poller));
  }
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
  if (server.poller) server.poller->stop();
}

}  // namespace mini_redis::server
