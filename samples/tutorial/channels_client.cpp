// tokio's tutorial, "Channels": two tasks share one mini-redis client
// through a manager task; requests go over an mpsc channel, each with a
// oneshot channel for its response (docs/tutorial/channels.md).
//
//   channels_client [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "clients/client.hpp"

#include <kyoto/kyoto.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;

/// mini-redis's `Result<T>`: a value, or the error's message.
template <class T>
using result = kyoto::result<T, std::string>;

/// Provided by the requester and used by the manager task to send the
/// command response back to the requester.
template <class T>
using responder = oneshot::sender<result<T>>;

/// Multiple different commands are multiplexed over a single channel.
struct get {
  std::string key;
  responder<std::optional<kyoto::bytes>> resp;
};
struct set {
  std::string key;
  kyoto::bytes val;
  responder<std::monostate> resp;
};
using command = std::variant<get, set>;

// Rust's {:?} of what the requester receives: Ok(Ok(..)), Ok(Err(..)) or
// Err(RecvError).
template <class T>
std::ostream& operator<<(std::ostream& os, const result<T>& r) {
  if (!r.has_value()) return os << "Err(\"" << r.error() << "\")";
  if constexpr (std::is_same_v<T, std::monostate>) {
    return os << "Ok(())";
  } else {
    const std::optional<kyoto::bytes>& value = *r;
    if (!value.has_value()) return os << "Ok(None)";
    return os << "Ok(Some(" << *value << "))";
  }
}

/// The manager task: it owns the connection and runs the commands one at a
/// time. The client throws on errors; the manager sends them back as
/// results.
kyoto::task<> manager(mpsc::receiver<command> rx, std::string addr) {
  // Establish a connection to the server
  auto client = co_await mini_redis::clients::client::connect(addr);

  // Start receiving messages
  while (std::optional<command> cmd = co_await rx.recv()) {
    if (auto* g = std::get_if<get>(&*cmd)) {
      result<std::optional<kyoto::bytes>> res = kyoto::unexpected(std::string());
      try {
        res = co_await client.get(g->key);
      } catch (const std::exception& e) {
        res = kyoto::unexpected(std::string(e.what()));
      }
      // Ignore errors
      (void)g->resp.send(std::move(res));
    } else if (auto* s = std::get_if<set>(&*cmd)) {
      result<std::monostate> res = std::monostate{};
      try {
        co_await client.set(s->key, s->val);
      } catch (const std::exception& e) {
        res = kyoto::unexpected(std::string(e.what()));
      }
      // Ignore errors
      (void)s->resp.send(std::move(res));
    }
  }
}

template <class T>
void print_response(const kyoto::result<result<T>, oneshot::recv_error>& res) {
  // One write per line: the two tasks may print at the same time.
  std::ostringstream line;
  if (res.has_value()) {
    line << "GOT = Ok(" << *res << ")\n";
  } else {
    line << "GOT = Err(RecvError)\n";
  }
  std::cout << line.str() << std::flush;
}

/// Task 1: GET foo through the manager.
kyoto::task<> get_foo(mpsc::sender<command> tx) {
  auto [resp_tx, resp_rx] = oneshot::channel<result<std::optional<kyoto::bytes>>>();
  command cmd = get{"foo", std::move(resp_tx)};

  // Send the GET request
  (co_await tx.send(std::move(cmd))).value();

  // Await the response
  auto res = co_await std::move(resp_rx);
  print_response(res);
}

/// Task 2: SET foo bar through the manager.
kyoto::task<> set_foo(mpsc::sender<command> tx2) {
  auto [resp_tx, resp_rx] = oneshot::channel<result<std::monostate>>();
  command cmd = set{"foo", kyoto::bytes::from_static("bar"), std::move(resp_tx)};

  // Send the SET request
  (co_await tx2.send(std::move(cmd))).value();

  // Await the response
  auto res = co_await std::move(resp_rx);
  print_response(res);
}

KYOTO_MAIN(argc, argv) {
  const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:6379";

  // Create a new channel with a capacity of at most 32.
  auto [tx, rx] = mpsc::channel<command>(32);
  // A copy of the sender: each task gets one.
  mpsc::sender<command> tx2 = tx;

  auto manager_task = kyoto::spawn(manager(std::move(rx), addr));

  // Spawn two tasks, one gets a key, the other sets a key
  auto t1 = kyoto::spawn(get_foo(std::move(tx)));
  auto t2 = kyoto::spawn(set_foo(std::move(tx2)));

  co_await t1;
  co_await t2;
  co_await manager_task;
}
