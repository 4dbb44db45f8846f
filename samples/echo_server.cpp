// tokio's tutorial, "I/O", ported: an echo server. Every connection gets a
// task that writes back whatever it reads, until the peer closes.
//
//   echo_server [ADDR] [--connections N]
//
// ADDR defaults to the tutorial's 127.0.0.1:6142 (port 0 picks a free one;
// the address is printed). With --connections N the server stops after
// serving N connections (how the samples test runs it); without, it serves
// forever.
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

// One connection: read, write back, until end of stream or an error.
kyoto::task<> echo(tcp_stream socket) {
  std::vector<std::byte> buf(1024);
  try {
    for (;;) {
      const std::size_t n = co_await socket.read(buf);
      if (n == 0) co_return;  // the peer closed its side
      co_await socket.write_all(std::span<const std::byte>(buf).first(n));
    }
  } catch (const std::system_error& e) {
    std::cerr << "connection failed: " << e.what() << "\n";
  }
}

KYOTO_MAIN(argc, argv) {
  std::string addr = "127.0.0.1:6142";
  long connections = -1;  // forever
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--connections" && i + 1 < argc) {
      connections = std::strtol(argv[++i], nullptr, 10);
    } else {
      addr = arg;
    }
  }
  tcp_listener listener = co_await tcp_listener::bind(addr);
  std::cout << "listening on " << listener.local_addr() << '\n' << std::flush;
  kyoto::join_set<void> serving;
  for (long served = 0; connections < 0 || served < connections; ++served) {
    auto [socket, peer] = co_await listener.accept();
    serving.spawn(echo(std::move(socket)));
    // Collect the connections that have finished, so that a server that
    // runs for days keeps only its live connections in the set.
    while (serving.try_join_next()) {
    }
  }
  // Let the last connections finish before main returns.
  for (;;) {
    auto done = co_await serving.join_next();
    if (!done) break;
  }
  std::cout << "served " << connections << " connection(s)\n";
}
