// Requests with a reply channel: each command carries a oneshot sender for
// its answer (the shape of tokio's tutorial "Channels" chapter).
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <map>
#include <string>
#include <utility>

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;

struct command {
  command(std::string k, oneshot::sender<int> r) : key(std::move(k)), reply(std::move(r)) {}
  std::string key;
  oneshot::sender<int> reply;
};

// Owns the table; answers each command on its reply channel.
kyoto::task<> manager(mpsc::receiver<command> requests) {
  std::map<std::string, int> counts;
  while (std::optional<command> cmd = co_await requests.recv()) {
    const int n = ++counts[cmd->key];
    cmd->reply.send(n).expect("the client is waiting");
  }
}

kyoto::task<int> ask(mpsc::sender<command> requests, std::string key) {
  auto [reply_tx, reply_rx] = oneshot::channel<int>();
  command cmd(std::move(key), std::move(reply_tx));
  (co_await requests.send(std::move(cmd))).expect("the manager is running");
  auto answer = co_await reply_rx;
  co_return answer.expect("the manager replied");
}

KYOTO_MAIN() {
  auto [tx, rx] = mpsc::channel<command>(32);
  auto server = kyoto::spawn(manager(std::move(rx)));
  auto [a, b, c] = co_await kyoto::join(ask(tx, "apple"), ask(tx, "pear"), ask(tx, "apple"));
  std::cout << "apple: " << a << ", pear: " << b << ", apple again: " << c << '\n';
  {
    auto last = std::move(tx);
  }  // the manager's recv() ends when every sender is gone
  co_await server;
}
