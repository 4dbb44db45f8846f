// docs/testing.md, "Simulated networks": the tutorial's echo server and a
// client, unchanged kyoto::net code, run on a simulated network (tokio's
// turmoil) inside a deterministic runtime. The client's requests cross a
// partition (they wait, nothing is lost) and a crash of the server (the
// connection is reset; the client reconnects to the restarted server).
// Every time printed is virtual, decided by the seed: the output is the
// same on every run and every machine.
#include <kyoto/kyoto.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

namespace {

// ---- the program under test: plain kyoto::net code ----

kyoto::task<> echo(tcp_stream socket) {
  std::array<std::byte, 1024> buf{};
  try {
    for (;;) {
      const std::size_t n = co_await socket.read(buf);
      if (n == 0) co_return;
      co_await socket.write_all(std::span<const std::byte>(buf).first(n));
    }
  } catch (const std::system_error&) {  // NOLINT(bugprone-empty-catch)
    // The peer went away: this connection ends, the server goes on.
  }
}

kyoto::task<> echo_server(std::string addr) {
  tcp_listener listener = co_await tcp_listener::bind(addr);
  for (;;) {
    auto [socket, peer] = co_await listener.accept();
    (void)kyoto::spawn(echo(std::move(socket)));
  }
}

/// Sends `text`, gives the echo.
kyoto::task<std::string> ask(tcp_stream& s, std::string text) {
  co_await s.write_all(std::as_bytes(std::span<const char>(text)));
  std::string back(text.size(), '\0');
  co_await s.read_exact(std::as_writable_bytes(std::span<char>(back)));
  co_return back;
}

// ---- the simulation ----

kyoto::task<> simulate() {
  kyoto::sim::config cfg;
  cfg.min_latency = 2ms;
  cfg.max_latency = 8ms;
  kyoto::sim::network net(cfg);
  const auto t0 = kyoto::time::clock::now();
  auto at = [t0] {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(kyoto::time::clock::now() - t0);
    std::string stamp = "[";
    stamp += std::to_string(ms.count());
    stamp += " ms] ";
    return stamp;
  };

  net.host("server", [] { return echo_server("0.0.0.0:6142"); });
  net.client("client", [&]() -> kyoto::task<> {
    tcp_stream s = co_await tcp_stream::connect("server:6142");
    std::cout << at() << "connected to " << s.peer_addr() << '\n';
    std::string reply = co_await ask(s, "hello");
    std::cout << at() << "echo: " << reply << '\n';

    net.partition("client", "server");
    auto heal = kyoto::spawn([&]() -> kyoto::task<> {
      co_await kyoto::time::sleep(500ms);
      net.repair("client", "server");
    });
    std::cout << at() << "partitioned; asking anyway\n";
    reply = co_await ask(s, "patience");
    std::cout << at() << "echo: " << reply << " (after the repair)\n";
    co_await heal;

    net.crash("server");
    std::array<std::byte, 16> buf{};
    try {
      (void)co_await s.read(buf);
    } catch (const std::system_error& e) {
      std::cout << at() << "server crashed: " << e.code().message() << '\n';
    }
    net.restart("server");
    co_await kyoto::time::sleep(10ms);  // the server binds its port again
    tcp_stream again = co_await tcp_stream::connect("server:6142");
    reply = co_await ask(again, "restarted");
    std::cout << at() << "echo: " << reply << '\n';
  });
  co_await net.run();
}

}  // namespace

int main() {
  auto rt = kyoto::runtime::builder::deterministic(42).build();
  rt.block_on(simulate());
}
