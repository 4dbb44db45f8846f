// tokio's topic "Getting started with Tracing" (docs/tutorial/tracing.md):
// the server of "Shared state" reports what it does through kyoto::trace —
// a subscriber (an spdlog logger) set up in main, each connection's task
// instrumented with a span, and events at levels with fields, each printed
// in its span's context.
//
//   tracing_server [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "cmd/command.hpp"
#include "connection.hpp"
#include "error.hpp"
#include "frame.hpp"

#include <kyoto/kyoto.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

struct shared_map {
  std::mutex mutex;
  std::unordered_map<std::string, kyoto::bytes> map;
};
using shared_db = std::shared_ptr<shared_map>;

/// Rust's {:?} of a command.
std::string describe(const mini_redis::command& cmd) {
  std::ostringstream text;
  if (const auto* set = std::get_if<mini_redis::cmd::set>(&cmd.get())) {
    text << "Set { key: \"" << set->key() << "\", value: " << set->value() << ", expire: ";
    if (const std::optional<std::chrono::milliseconds> expire = set->expire()) {
      text << "Some(" << expire->count() << "ms) }";
    } else {
      text << "None }";
    }
  } else if (const auto* get = std::get_if<mini_redis::cmd::get>(&cmd.get())) {
    text << "Get { key: \"" << get->key() << "\" }";
  } else {
    text << "Unknown { command_name: \"" << cmd.get_name() << "\" }";
  }
  return text.str();
}

kyoto::task<> process(tcp_stream socket, shared_db db) {
  mini_redis::connection connection(std::move(socket));

  while (std::optional<mini_redis::frame> frame = co_await connection.read_frame()) {
    // Convert the frame into a command. This throws if the frame is not a
    // valid command.
    std::optional<mini_redis::command> cmd;
    std::string cause;
    try {
      cmd = mini_redis::command::from_frame(std::move(*frame));
    } catch (const mini_redis::error& e) {
      cause = e.what();
    }

    // Null unless the command says otherwise (a GET of a missing key).
    mini_redis::frame response = mini_redis::frame::null{};
    if (!cmd) {
      // The frame was malformed and could not be parsed. This is probably
      // an issue with the client (as opposed to our server), so we (1)
      // emit a warning...
      kyoto::trace::warn("failed to parse command from frame", {{"cause", cause}});
      // ...and (2) respond to the client with the error.
      response = mini_redis::frame::error{std::string("ERR ") + cause};
    } else if (const auto* set = std::get_if<mini_redis::cmd::set>(&cmd->get())) {
      kyoto::trace::debug("", {{"cmd", describe(*cmd)}});
      const std::lock_guard lock(db->mutex);
      db->map.insert_or_assign(set->key(), set->value());
      response = mini_redis::frame::simple{"OK"};
    } else if (const auto* get = std::get_if<mini_redis::cmd::get>(&cmd->get())) {
      kyoto::trace::debug("", {{"cmd", describe(*cmd)}});
      const std::lock_guard lock(db->mutex);
      if (auto value = db->map.find(get->key()); value != db->map.end()) {
        response = mini_redis::frame::bulk{value->second};
      }
    } else {
      kyoto::trace::warn("unimplemented command", {{"cmd", describe(*cmd)}});
      response = mini_redis::frame::error{"ERR unknown command"};
    }
    co_await connection.write_frame(response);
    co_await connection.flush();
  }
}

KYOTO_MAIN(argc, argv) {
  // construct a subscriber that prints formatted traces to stdout: the
  // level, then the message (no timestamps, so that the test can compare)
  std::shared_ptr<spdlog::logger> subscriber = spdlog::stdout_logger_mt("mini-redis");
  subscriber->set_pattern("%l %v");
  subscriber->set_level(spdlog::level::debug);
  subscriber->flush_on(spdlog::level::debug);
  // use that subscriber to process traces emitted after this point
  spdlog::set_default_logger(subscriber);

  tcp_listener listener = co_await tcp_listener::bind(argc > 1 ? argv[1] : "127.0.0.1:6379");
  std::cout << "Listening on " << listener.local_addr() << '\n' << std::flush;
  kyoto::trace::info("accepting inbound connections");

  const shared_db db = std::make_shared<shared_map>();
  for (std::uint64_t id = 1;; ++id) {
    auto [socket, _] = co_await listener.accept();
    // The connection's task runs in the span Handler::run{conn=<id>}: every
    // event it emits, after any co_await, on any worker, carries it.
    const kyoto::trace::span span("Handler::run", {{"conn", id}});
    kyoto::spawn(kyoto::trace::instrument(process(std::move(socket), db), span));
  }
}
