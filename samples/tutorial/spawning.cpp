// tokio's tutorial, "Spawning", its last step: a task per connection, and
// each connection stores the values it is sent in its own map
// (docs/tutorial/spawning.md).
//
//   spawning [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "cmd/command.hpp"
#include "connection.hpp"
#include "frame.hpp"

#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

kyoto::task<> process(tcp_stream socket) {
  // A hashmap is used to store data
  std::unordered_map<std::string, kyoto::bytes> db;

  // Connection, provided by `mini-redis`, handles parsing frames from
  // the socket
  mini_redis::connection connection(std::move(socket));

  // Use `read_frame` to receive a command from the connection.
  while (std::optional<mini_redis::frame> frame = co_await connection.read_frame()) {
    const mini_redis::command command = mini_redis::command::from_frame(std::move(*frame));
    // Null unless the command says otherwise (a GET of a missing key).
    mini_redis::frame response = mini_redis::frame::null{};
    if (const auto* set = std::get_if<mini_redis::cmd::set>(&command.get())) {
      // The value is stored as a `kyoto::bytes`
      db.insert_or_assign(set->key(), set->value());
      response = mini_redis::frame::simple{"OK"};
    } else if (const auto* get = std::get_if<mini_redis::cmd::get>(&command.get())) {
      if (auto value = db.find(get->key()); value != db.end()) {
        // `frame` expects data to be of type `kyoto::bytes`.
        response = mini_redis::frame::bulk{value->second};
      }
    } else {
      throw std::logic_error(std::string("unimplemented ") + std::string(command.get_name()));
    }

    // Write the response to the client
    co_await connection.write_frame(response);
    co_await connection.flush();
  }
}

KYOTO_MAIN(argc, argv) {
  tcp_listener listener = co_await tcp_listener::bind(argc > 1 ? argv[1] : "127.0.0.1:6379");
  std::cout << "Listening on " << listener.local_addr() << '\n' << std::flush;

  for (;;) {
    auto [socket, _] = co_await listener.accept();
    // A new task is spawned for each inbound socket. The socket is
    // moved to the new task and processed there.
    kyoto::spawn(process(std::move(socket)));
  }
}
