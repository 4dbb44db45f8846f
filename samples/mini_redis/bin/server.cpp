// mini-redis-server (upstream src/bin/server.rs): serves 127.0.0.1:PORT
// until Ctrl-C or SIGTERM, then shuts down gracefully.
//
//   mini-redis-server [--port PORT] [--max-connections N] [--workers W]
//                     [--threads T]
//
// PORT defaults to 6379 (0 picks a free port); the address is printed once
// listening. N defaults to upstream's 250. W is the runtime's worker
// threads: 1 (the default) runs every connection on one thread (a
// current_thread runtime, as redis-server's one event loop); W > 1 a
// multi_thread runtime with W workers; 0 one worker per core (upstream's
// #[tokio::main]). T > 1 (beyond upstream) runs T threads instead, each a
// current_thread runtime with its own SO_REUSEPORT listener on the port
// (the kernel spreads connections over them), all sharing one db and one
// connection limit: no work stealing and no worker parking, each thread
// as redis-server's event loop. docs/mini_redis.md says which is the
// default and why.
#include "server.hpp"

#include "error.hpp"
#include "shutdown.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/signal.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace {

// Completes at Ctrl-C (SIGINT) or SIGTERM (upstream listens for Ctrl-C
// only; a service manager sends SIGTERM).
kyoto::task<> ctrl_c_or_terminate() {
  auto term = kyoto::signal::unix::signal(kyoto::signal::unix::signal_kind::terminate());
  (void)co_await kyoto::select(kyoto::signal::ctrl_c(), term.recv());
}

unsigned long parse_number(const std::string& flag, const char* text, unsigned long max) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (end == text || *end != '\0' || v > max) {
    throw std::invalid_argument(std::string("mini-redis-server: ") + flag +
                                ": not a number up to " + std::to_string(max) + std::string(": ") +
                                text);
  }
  return v;
}

constexpr const char* usage =
    "usage: mini-redis-server [--port PORT] [--max-connections N] [--workers W] [--threads T]\n"
    "                         [--busy-poll MICROSECONDS]\n";

struct options {
  unsigned long port = mini_redis::default_port;
  unsigned long max_connections = mini_redis::server::max_connections;
  unsigned long workers = 1;
  unsigned long threads = 1;
  unsigned long busy_poll = 0;
};

kyoto::task<> serve(options opts) {
  // Listen for the signals first, so that one arriving while the server
  // starts is not missed.
  kyoto::task<> shutdown = ctrl_c_or_terminate();
  kyoto::net::tcp_listener listener = co_await kyoto::net::tcp_listener::bind(
      std::string("127.0.0.1:") + std::to_string(opts.port));
  std::cout << "mini-redis-server listening on " << listener.local_addr() << '\n' << std::flush;
  const mini_redis::db_drop_guard db_holder;
  co_await mini_redis::server::run(std::move(listener), std::move(shutdown),
                                   std::make_shared<kyoto::sync::semaphore>(opts.max_connections),
                                   db_holder.get(), std::chrono::microseconds(opts.busy_poll));
}

// --threads: a listener on `addr` that shares the port with the others.
kyoto::net::tcp_listener reuseport_listener(const kyoto::net::socket_addr& addr) {
  kyoto::net::tcp_socket socket = kyoto::net::tcp_socket::new_v4();
  socket.set_reuseaddr(true);
  socket.set_reuseport(true);
  socket.bind(addr);
  return std::move(socket).listen(1024);
}

// --threads: completes once the main thread drops the sender.
kyoto::task<> stopped(mini_redis::shutdown sd) {
  co_await sd.recv();
}

// --threads: one thread's server, on that thread's runtime.
void serve_thread(kyoto::net::tcp_listener listener, mini_redis::shutdown sd,
                  std::shared_ptr<kyoto::sync::semaphore> limit, mini_redis::db store,
                  std::chrono::microseconds busy_poll) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on(mini_redis::server::run(std::move(listener), stopped(std::move(sd)), std::move(limit),
                                      std::move(store), busy_poll));
}

// --threads T: T threads, this one among them; see the file comment.
kyoto::task<> serve_threads(options opts) {
  kyoto::task<> shutdown = ctrl_c_or_terminate();
  const auto bind_addr =
      kyoto::net::socket_addr::parse(std::string("127.0.0.1:") + std::to_string(opts.port));
  kyoto::net::tcp_listener first = reuseport_listener(bind_addr);
  // Port 0 picked a port: the others bind that one.
  const kyoto::net::socket_addr addr = first.local_addr();
  std::vector<kyoto::net::tcp_listener> others;
  for (unsigned long i = 1; i < opts.threads; ++i)
    others.push_back(reuseport_listener(addr));
  const mini_redis::db_drop_guard db_holder;
  auto limit = std::make_shared<kyoto::sync::semaphore>(opts.max_connections);
  auto [notify_stop, unused_rx] = kyoto::sync::broadcast::channel<std::monostate>(1);
  {
    // Only the threads' receivers should see the close.
    auto drop = std::move(unused_rx);
  }
  std::vector<std::thread> threads;
  threads.reserve(others.size());
  std::vector<std::exception_ptr> failures(others.size());
  for (std::size_t i = 0; i < others.size(); ++i) {
    threads.emplace_back([&, i, listener = std::move(others[i]),
                          sd = mini_redis::shutdown(notify_stop.subscribe())]() mutable {
      try {
        serve_thread(std::move(listener), std::move(sd), limit, db_holder.get(),
                     std::chrono::microseconds(opts.busy_poll));
      } catch (...) {
        failures[i] = std::current_exception();
      }
    });
  }
  std::cout << "mini-redis-server listening on " << addr << '\n' << std::flush;
  std::exception_ptr failure;
  try {
    co_await mini_redis::server::run(std::move(first), std::move(shutdown), limit, db_holder.get(),
                                     std::chrono::microseconds(opts.busy_poll));
  } catch (...) {
    failure = std::current_exception();
  }
  // Tell the other threads; each finishes its connections' commands.
  {
    auto drop = std::move(notify_stop);
  }
  // Blocks this runtime: it has nothing left to serve but the db's expiry
  // task, which waits meanwhile.
  for (std::thread& t : threads)
    t.join();
  if (failure) std::rethrow_exception(failure);
  for (const std::exception_ptr& f : failures)
    if (f) std::rethrow_exception(f);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    options opts;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--port" && i + 1 < argc) {
        opts.port = parse_number(arg, argv[++i], 65535);
      } else if (arg == "--max-connections" && i + 1 < argc) {
        opts.max_connections = parse_number(arg, argv[++i], 1UL << 24);
        if (opts.max_connections == 0)
          throw std::invalid_argument("mini-redis-server: --max-connections 0");
      } else if (arg == "--workers" && i + 1 < argc) {
        opts.workers = parse_number(arg, argv[++i], 1024);
      } else if (arg == "--threads" && i + 1 < argc) {
        opts.threads = parse_number(arg, argv[++i], 1024);
        if (opts.threads == 0) throw std::invalid_argument("mini-redis-server: --threads 0");
      } else if (arg == "--busy-poll" && i + 1 < argc) {
        opts.busy_poll = parse_number(arg, argv[++i], 1000000);
      } else if (arg == "--help" || arg == "-h") {
        std::cout << usage;
        return 0;
      } else {
        std::cerr << usage;
        return 2;
      }
    }
    // #[tokio::main] as upstream's, with the flavour --workers picks.
    kyoto::runtime rt =
        opts.workers == 1 ? kyoto::runtime::builder::current_thread().build()
        : opts.workers == 0
            ? kyoto::runtime::builder::multi_thread().build()
            : kyoto::runtime::builder::multi_thread().worker_threads(opts.workers).build();
    if (opts.threads > 1) {
      if (opts.workers != 1)
        throw std::invalid_argument("mini-redis-server: --threads with --workers");
      rt.block_on(serve_threads(opts));
    } else if (opts.busy_poll != 0 && opts.workers != 1) {
      throw std::invalid_argument("mini-redis-server: --busy-poll with --workers");
    } else {
      rt.block_on(serve(opts));
    }
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
