// tokio's tutorial, "Shared state": the server of "Spawning", with one map
// shared by every connection behind a std::mutex
// (docs/tutorial/shared-state.md).
//
//   shared_state [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "cmd/command.hpp"
#include "connection.hpp"
#include "frame.hpp"

#include <kyoto/kyoto.hpp>

#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

// Arc<Mutex<HashMap<String, Bytes>>>: the map and its lock, shared.
struct shared_map {
  std::mutex mutex;
  std::unordered_map<std::string, kyoto::bytes> map;
};
using shared_db = std::shared_ptr<shared_map>;

kyoto::task<> process(tcp_stream socket, shared_db db) {
  // Connection, provided by `mini-redis`, handles parsing frames from
  // the socket
  mini_redis::connection connection(std::move(socket));

  while (std::optional<mini_redis::frame> frame = co_await connection.read_frame()) {
    const mini_redis::command command = mini_redis::command::from_frame(std::move(*frame));
    // Null unless the command says otherwise (a GET of a missing key).
    mini_redis::frame response = mini_redis::frame::null{};
    if (const auto* set = std::get_if<mini_redis::cmd::set>(&command.get())) {
      const std::lock_guard lock(db->mutex);
      db->map.insert_or_assign(set->key(), set->value());
      response = mini_redis::frame::simple{"OK"};
    } else if (const auto* get = std::get_if<mini_redis::cmd::get>(&command.get())) {
      const std::lock_guard lock(db->mutex);
      if (auto value = db->map.find(get->key()); value != db->map.end()) {
        response = mini_redis::frame::bulk{value->second};
      }
    } else {
      throw std::logic_error(std::string("unimplemented ") + std::string(command.get_name()));
    }

    // The lock is released at the end of its block: never held across
    // the co_await below.
    co_await connection.write_frame(response);
    co_await connection.flush();
  }
}

KYOTO_MAIN(argc, argv) {
  tcp_listener listener = co_await tcp_listener::bind(argc > 1 ? argv[1] : "127.0.0.1:6379");

  std::cout << "Listening on " << listener.local_addr() << '\n' << std::flush;

  const shared_db db = std::make_shared<shared_map>();

  for (;;) {
    auto [socket, _] = co_await listener.accept();
    // Copy the handle to the hash map.
    std::cout << "Accepted\n" << std::flush;
    kyoto::spawn(process(std::move(socket), db));
  }
}
