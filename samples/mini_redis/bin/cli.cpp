// mini-redis-cli (upstream src/bin/cli.rs): issues one Redis command.
//
//   mini-redis-cli [--hostname HOST] [--port PORT] COMMAND
//     ping [MSG]
//     get KEY
//     set KEY VALUE [EXPIRES_MS]
//     publish CHANNEL MESSAGE
//     subscribe CHANNEL...
//
// Output as upstream's: a value in double quotes, (nil), OK, Publish OK,
// or one line per message received. Errors: "Error: ..." and exit code 1.
#include "clients/client.hpp"
#include "error.hpp"
#include "frame.hpp"

#include <kyoto/kyoto.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: mini-redis-cli [--hostname HOST] [--port PORT] COMMAND\n"
    "  ping [MSG]\n"
    "  get KEY\n"
    "  set KEY VALUE [EXPIRES_MS]\n"
    "  publish CHANNEL MESSAGE\n"
    "  subscribe CHANNEL...\n";

// A value as upstream prints it: "text" if UTF-8, else its Debug form.
void print_value(const kyoto::bytes& value) {
  if (mini_redis::is_utf8(value.as_span())) {
    std::cout << '"' << value.as_string_view() << "\"\n";
  } else {
    std::cout << mini_redis::debug_bytes(value.as_span()) << '\n';
  }
}

std::uint64_t parse_u64(const std::string& text, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-') {
    throw mini_redis::error(std::string("invalid ") + what + std::string(": ") + text);
  }
  return v;
}

kyoto::task<int> run(std::vector<std::string> args) {
  std::string host = "127.0.0.1";
  std::string port = std::to_string(mini_redis::default_port);
  std::size_t i = 0;
  for (; i < args.size() && args[i].starts_with("--"); i += 2) {
    if (i + 1 >= args.size()) break;
    if (args[i] == "--hostname") {
      host = args[i + 1];
    } else if (args[i] == "--port") {
      port = std::to_string(parse_u64(args[i + 1], "port"));
    } else {
      break;
    }
  }
  if (i >= args.size()) {
    std::cerr << usage;
    co_return 2;
  }
  const std::string command = args[i];
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                      args.end());

  auto c = co_await mini_redis::clients::client::connect(host + std::string(":") + port);
  if (command == "ping" && rest.size() <= 1) {
    std::optional<kyoto::bytes> msg;
    if (!rest.empty()) msg = kyoto::bytes::copy_from_slice(rest[0]);
    print_value(co_await c.ping(std::move(msg)));
  } else if (command == "get" && rest.size() == 1) {
    if (std::optional<kyoto::bytes> value = co_await c.get(rest[0])) {
      print_value(*value);
    } else {
      std::cout << "(nil)\n";
    }
  } else if (command == "set" && (rest.size() == 2 || rest.size() == 3)) {
    kyoto::bytes value = kyoto::bytes::copy_from_slice(rest[1]);
    if (rest.size() == 2) {
      co_await c.set(rest[0], std::move(value));
    } else {
      const auto ms = std::chrono::milliseconds(
          static_cast<std::int64_t>(parse_u64(rest[2], "expiry (milliseconds)")));
      co_await c.set_expires(rest[0], std::move(value), ms);
    }
    std::cout << "OK\n";
  } else if (command == "publish" && rest.size() == 2) {
    (void)co_await c.publish(rest[0], kyoto::bytes::copy_from_slice(rest[1]));
    std::cout << "Publish OK\n";
  } else if (command == "subscribe") {
    if (rest.empty()) throw mini_redis::error("channel(s) must be provided");
    auto subscriber = co_await std::move(c).subscribe(rest);
    for (;;) {
      std::optional<mini_redis::clients::message> msg = co_await subscriber.next_message();
      if (!msg) break;
      std::cout << "got message from the channel: " << msg->channel
                << "; message = " << mini_redis::debug_bytes(msg->content.as_span()) << '\n'
                << std::flush;
    }
  } else {
    std::cerr << usage;
    co_return 2;
  }
  co_return 0;
}

}  // namespace

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread(), argc, argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int code = 1;
  try {
    code = co_await run(std::move(args));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << '\n';
  }
  co_return kyoto::exit_code(code);
}
