// docs/io.md's example: a line protocol over a loopback TCP connection, in
// the spirit of tokio's tutorial (a tiny key-value server). Both ends read
// lines with io::buf_reader + lines() and write through an io::buf_writer,
// flushing after each message. Only the client prints, so the output is
// the same on every run.
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <array>
#include <iostream>
#include <istream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace io = kyoto::io;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_read_half;
using kyoto::net::tcp_stream;
using kyoto::net::tcp_write_half;

/// The reply to one command line: SET key value, GET key, DEL key, PING.
std::string answer(std::map<std::string, std::string>& db, const std::string& line) {
  std::istringstream in(line);
  std::string command, key, value;
  in >> command >> key;
  std::getline(in >> std::ws, value);
  if (command == "SET") {
    db[key] = value;
    return "OK";
  }
  if (command == "GET") {
    const auto it = db.find(key);
    return it == db.end() ? "(nil)" : it->second;
  }
  if (command == "DEL") return db.erase(key) != 0 ? "1" : "0";
  if (command == "PING") return "PONG";
  return "ERR unknown command '" + command + "'";
}

/// Serves one connection until the client ends it; gives the number of
/// commands answered.
kyoto::task<int> serve(tcp_stream stream) {
  auto [rd, wr] = std::move(stream).split();
  io::lines<tcp_read_half> requests = io::buf_reader<tcp_read_half>(std::move(rd)).lines();
  io::buf_writer<tcp_write_half> out(std::move(wr));
  std::map<std::string, std::string> db;
  int handled = 0;
  for (;;) {
    std::optional<std::string> line = co_await requests.next_line();
    if (!line) break;  // the client shut its side down
    const std::string reply = answer(db, *line) + "\n";
    co_await out.write_all(reply);
    co_await out.flush();  // a buf_writer sends only when flushed (or full)
    ++handled;
  }
  co_await out.shutdown();
  co_return handled;
}

KYOTO_MAIN() {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = listener.local_addr();
  auto server = kyoto::spawn(
      [](tcp_listener l) -> kyoto::task<int> {
        auto [stream, peer] = co_await l.accept();
        const int handled = co_await serve(std::move(stream));
        co_return handled;
      },
      std::move(listener));

  tcp_stream client = co_await tcp_stream::connect(addr);
  auto [rd, wr] = std::move(client).split();
  io::lines<tcp_read_half> replies = io::buf_reader<tcp_read_half>(std::move(rd)).lines();
  io::buf_writer<tcp_write_half> out(std::move(wr));

  const std::array<std::string_view, 7> commands{
      "SET greeting hello, world",
      "GET greeting",
      "GET missing",
      "DEL greeting",
      "GET greeting",
      "PING",
      "INCR counter",
  };
  for (const std::string_view command : commands) {
    std::cout << "> " << command << '\n';
    // "\r\n", as Redis clients send: lines() strips it like "\n".
    const std::string line = std::string(command) + "\r\n";
    co_await out.write_all(line);
    co_await out.flush();
    const std::optional<std::string> reply = co_await replies.next_line();
    std::cout << "< " << reply.value_or("(connection closed)") << '\n';
  }
  co_await out.shutdown();  // the server's next_line() gives std::nullopt

  const int handled = co_await server;
  std::cout << "server answered " << handled << " commands\n";
}
