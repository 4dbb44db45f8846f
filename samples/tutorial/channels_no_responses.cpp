// tokio's tutorial, "Channels", before "Receive responses": a manager task
// owns the mini-redis client; two tasks send it commands over an mpsc
// channel, and get nothing back yet (docs/tutorial/channels.md).
//
//   channels_no_responses [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "clients/client.hpp"

#include <kyoto/kyoto.hpp>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mpsc = kyoto::sync::mpsc;

struct get {
  std::string key;
};
struct set {
  std::string key;
  kyoto::bytes val;
};
using command = std::variant<get, set>;

/// The manager task: it owns the connection and runs the commands.
kyoto::task<> manager(mpsc::receiver<command> rx, std::string addr) {
  // Establish a connection to the server
  auto client = co_await mini_redis::clients::client::connect(addr);

  // Start receiving messages
  while (std::optional<command> cmd = co_await rx.recv()) {
    if (auto* g = std::get_if<get>(&*cmd)) {
      (void)co_await client.get(g->key);
    } else if (auto* s = std::get_if<set>(&*cmd)) {
      co_await client.set(s->key, s->val);
    }
  }
}

kyoto::task<> get_foo(mpsc::sender<command> tx) {
  command cmd = get{"foo"};

  (co_await tx.send(std::move(cmd))).value();
}

kyoto::task<> set_foo(mpsc::sender<command> tx2) {
  command cmd = set{"foo", kyoto::bytes::from_static("bar")};

  (co_await tx2.send(std::move(cmd))).value();
}

KYOTO_MAIN(argc, argv) {
  const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:6379";

  // Create a new channel with a capacity of at most 32.
  auto [tx, rx] = mpsc::channel<command>(32);

  // The receiver is moved into the task.
  auto manager_task = kyoto::spawn(manager(std::move(rx), addr));

  // The senders are moved into the tasks. As there are two tasks, we need
  // a second sender.
  mpsc::sender<command> tx2 = tx;

  // Spawn two tasks, one gets a key, the other sets a key
  auto t1 = kyoto::spawn(get_foo(std::move(tx)));
  auto t2 = kyoto::spawn(set_foo(std::move(tx2)));

  co_await t1;
  co_await t2;
  co_await manager_task;
}
