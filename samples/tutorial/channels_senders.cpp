// tokio's tutorial, "Channels", "Create the channel": two tasks send on
// copies of one mpsc sender; main receives until every sender is gone
// (docs/tutorial/channels.md).
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace mpsc = kyoto::sync::mpsc;

KYOTO_MAIN() {
  auto [tx, rx] = mpsc::channel<std::string>(32);
  mpsc::sender<std::string> tx2 = tx;

  kyoto::spawn([tx = std::move(tx)]() mutable -> kyoto::task<> {
    (co_await tx.send("sending from first handle")).value();
  });

  kyoto::spawn([tx2 = std::move(tx2)]() mutable -> kyoto::task<> {
    (co_await tx2.send("sending from second handle")).value();
  });

  while (std::optional<std::string> message = co_await rx.recv()) {
    std::cout << "GOT = " << *message << '\n';
  }
}
