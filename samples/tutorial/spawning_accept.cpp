// tokio's tutorial, "Spawning", its first step: accept connections one at
// a time, print the first frame each one sends, answer "unimplemented"
// (docs/tutorial/spawning.md).
//
//   spawning_accept [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "cmd/command.hpp"
#include "connection.hpp"
#include "frame.hpp"

#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>
#include <string>

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

kyoto::task<> process(tcp_stream socket) {
  // The `connection` lets us read/write redis **frames** instead of
  // byte streams. The `connection` type is defined by mini-redis.
  mini_redis::connection connection(std::move(socket));

  if (std::optional<mini_redis::frame> frame = co_await connection.read_frame()) {
    std::cout << "GOT: " << frame->debug_string() << '\n' << std::flush;

    // Respond with an error
    const mini_redis::frame response = mini_redis::frame::error{"unimplemented"};
    co_await connection.write_frame(response);
    co_await connection.flush();
  }
}

KYOTO_MAIN(argc, argv) {
  // Bind the listener to the address
  tcp_listener listener = co_await tcp_listener::bind(argc > 1 ? argv[1] : "127.0.0.1:6379");
  std::cout << "Listening on " << listener.local_addr() << '\n' << std::flush;

  for (;;) {
    // The second item contains the IP and port of the new connection.
    auto [socket, _] = co_await listener.accept();
    co_await process(std::move(socket));
  }
}
