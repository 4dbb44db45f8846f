// mini-redis-server (upstream src/bin/server.rs): serves 127.0.0.1:PORT
// until Ctrl-C or SIGTERM, then shuts down gracefully.
//
//   mini-redis-server [--port PORT] [--max-connections N] [--workers W]
//
// PORT defaults to 6379 (0 picks a free port); the address is printed once
// listening. N defaults to upstream's 250. W is the runtime's worker
// threads: 1 (the default) runs every connection on one thread (a
// current_thread runtime, as redis-server's one event loop); W > 1 a
// multi_thread runtime with W workers; 0 one worker per core (upstream's
// #[tokio::main]). docs/mini_redis.md says why 1 is the default.
#include "server.hpp"

#include "error.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/signal.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

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
    "usage: mini-redis-server [--port PORT] [--max-connections N] [--workers W]\n";

struct options {
  unsigned long port = mini_redis::default_port;
  unsigned long max_connections = mini_redis::server::max_connections;
  unsigned long workers = 1;
};

kyoto::task<> serve(options opts) {
  // Listen for the signals first, so that one arriving while the server
  // starts is not missed.
  kyoto::task<> shutdown = ctrl_c_or_terminate();
  kyoto::net::tcp_listener listener = co_await kyoto::net::tcp_listener::bind(
      std::string("127.0.0.1:") + std::to_string(opts.port));
  std::cout << "mini-redis-server listening on " << listener.local_addr() << '\n' << std::flush;
  co_await mini_redis::server::run(std::move(listener), std::move(shutdown), opts.max_connections);
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
    rt.block_on(serve(opts));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
