// What the mini-redis tests share: a server started in-process on port 0
// (upstream's start_server()), and raw-socket helpers.
#pragma once

#include "server.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>
#include <kyoto/process.hpp>
#include <kyoto/signal.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis_test {

// The server upstream's tests start: listens on 127.0.0.1:0, shuts down on
// Ctrl-C (never, in a test); the runtime's end drops it.
inline kyoto::task<kyoto::net::socket_addr> start_server(
    std::size_t connection_limit = mini_redis::server::max_connections) {
  kyoto::net::tcp_listener listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
  const kyoto::net::socket_addr addr = listener.local_addr();
  kyoto::task<> shutdown = []() -> kyoto::task<> {
    co_await kyoto::signal::ctrl_c();
  }();
  kyoto::spawn(mini_redis::server::run(std::move(listener), std::move(shutdown), connection_limit));
  co_return addr;
}

// Reads exactly n bytes, as text.
inline kyoto::task<std::string> read_n(kyoto::net::tcp_stream& s, std::size_t n) {
  std::string out(n, '\0');
  co_await s.read_exact(std::as_writable_bytes(std::span(out.data(), out.size())));
  co_return out;
}

// Whether the peer closes the connection (end of stream or reset) within
// `bound`, reading and discarding anything before; false on timeout.
inline kyoto::task<bool> closes_within(kyoto::net::tcp_stream& s, std::chrono::milliseconds bound,
                                       std::string* got = nullptr) {
  const auto deadline = kyoto::time::clock::now() + bound;
  std::array<std::byte, 4096> buf{};
  for (;;) {
    std::size_t n = 0;
    try {
      auto r = co_await kyoto::time::timeout_at(deadline, s.read(buf));
      if (!r) co_return false;
      n = *r;
    } catch (const std::system_error&) {
      co_return true;  // reset
    }
    if (n == 0) co_return true;
    if (got != nullptr) got->append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

// mini-redis-server (the program, path in $MINI_REDIS_SERVER) run as a
// child on a free port; killed when dropped.
struct server_process {
  kyoto::process::child child;
  std::string addr;  ///< "127.0.0.1:PORT"
};

// `extra` are further flags (e.g. "--threads", "2").
inline kyoto::task<server_process> spawn_server_process(std::vector<std::string> extra = {}) {
  const char* path = std::getenv("MINI_REDIS_SERVER");
  if (path == nullptr)
    throw std::runtime_error("MINI_REDIS_SERVER is not set (run through meson test)");
  std::vector<std::string> args{"--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  kyoto::process::child child = kyoto::process::command(path)
                                    .args(args)
                                    .stdout(kyoto::process::stdio::piped())
                                    .kill_on_drop(true)
                                    .spawn();
  // "mini-redis-server listening on 127.0.0.1:PORT"
  kyoto::io::buf_reader<kyoto::process::child_stdout> out(std::move(*child.stdout));
  child.stdout.reset();
  std::string line;
  co_await out.read_line(line);
  const auto at = line.rfind(' ');
  if (at == std::string::npos || line.find("listening on") == std::string::npos) {
    throw std::runtime_error(std::string("mini-redis-server said: ") + line);
  }
  std::string addr = line.substr(at + 1);
  while (!addr.empty() && (addr.back() == '\n' || addr.back() == '\r'))
    addr.pop_back();
  co_return server_process{std::move(child), std::move(addr)};
}

}  // namespace mini_redis_test
