// tokio's tutorial, "I/O": the echo server, "Using io::copy()": each
// connection's read half is copied to its write half
// (docs/tutorial/io.md). samples/echo_server.cpp is the chapter's "Manual
// copying" version.
//
//   echo_server_copy [ADDR]      (default: the chapter's 127.0.0.1:6142)
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <exception>
#include <iostream>

namespace io = kyoto::io;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

// Each connection's task: copy what it reads back to it.
kyoto::task<> echo(tcp_stream socket) {
  auto [rd, wr] = std::move(socket).split();

  try {
    co_await io::copy(rd, wr);
  } catch (const std::exception& e) {
    std::cerr << "failed to copy: " << e.what() << '\n';
  }
}

KYOTO_MAIN(argc, argv) {
  tcp_listener listener = co_await tcp_listener::bind(argc > 1 ? argv[1] : "127.0.0.1:6142");
  std::cout << "Listening on " << listener.local_addr() << '\n' << std::flush;

  for (;;) {
    auto [socket, _] = co_await listener.accept();

    kyoto::spawn(echo(std::move(socket)));
  }
}
