// mini-redis's server module (upstream src/server.rs): the accept loop and
// one handler task per connection.
//
// Shutdown, as upstream:
//   1. run() races the accept loop against the `shutdown` task.
//   2. When `shutdown` completes, run() drops the broadcast sender every
//      handler's mini_redis::shutdown listens on: each handler finishes the
//      command it is applying (its reply is flushed), then returns.
//   3. Each handler holds a copy of an mpsc sender; run() drops its own and
//      waits on the receiver, which reports "closed" once the last handler
//      is gone. Only then does run() return (and the db's expiry task stop).
#pragma once

#include "db.hpp"

#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/semaphore.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace mini_redis::server {

/// How many connections are served at once unless told otherwise (as
/// upstream); further connections wait in the listen backlog until one
/// closes.
inline constexpr std::size_t max_connections = 250;

/// Serves `listener` until `shutdown` completes, then shuts down
/// gracefully (see the file comment): every connection finishes the
/// command in flight before run() returns. At most `connection_limit`
/// connections at once.
///
/// Thread safety: runs in the calling task; connections run as spawned
/// tasks on the current runtime. Cancel safety: cancelling run() drops the
/// listener and stops the accept loop, but not the handlers already
/// spawned (they end with their connections or the runtime).
kyoto::task<> run(kyoto::net::tcp_listener listener, kyoto::task<> shutdown,
                  std::size_t connection_limit = max_connections);

/// As above, with a database and a connection limit the caller owns and
/// may share with other run()s: mini-redis-server's `--threads N` runs one
/// per thread, each on its own current_thread runtime and its own
/// SO_REUSEPORT listener, all on one db and one semaphore. The caller
/// keeps the db's db_drop_guard alive until every run() has returned.
///
/// With `busy_poll` above zero (mini-redis-server's `--busy-poll`), the
/// runtime's thread keeps polling io_uring for that long after each
/// completed read before it sleeps (a task that yields; see server.cpp):
/// lower latency at the cost of a busy core while requests keep coming.
/// Meant for a current_thread runtime: on a multi_thread one it occupies
/// a worker.
///
/// Thread safety and cancel safety: as above; `connection_limit` and
/// `store` may be shared with run()s on other threads and runtimes.
kyoto::task<> run(kyoto::net::tcp_listener listener, kyoto::task<> shutdown,
                  std::shared_ptr<kyoto::sync::semaphore> connection_limit, db store,
                  std::chrono::microseconds busy_poll = std::chrono::microseconds(0));

}  // namespace mini_redis::server
