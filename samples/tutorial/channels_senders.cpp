// tokio's tutorial, "Channels", "Create the channel": two tasks send on
// copies of one mpsc sender; main receives until every sender is gone
// (docs/tutorial/channels.md).
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace mpsc = kyoto::sync::mpsc;

kyoto::task<> send_first(mpsc::sender<std::string> tx) {
  (co_await tx.send("sending from first handle")).value();
}

kyoto::task<> send_second(mpsc::sender<std::string> tx2) {
  (co_await tx2.send("sending from second handle")).value();
}

KYOTO_MAIN() {
  auto [tx, rx] = mpsc::channel<std::string>(32);
  mpsc::sender<std::string> tx2 = tx;

  kyoto::spawn(send_first(std::move(tx)));
  kyoto::spawn(send_second(std::move(tx2)));

  while (std::optional<std::string> message = co_await rx.recv()) {
    std::cout << "GOT = " << *message << '\n';
  }
}
