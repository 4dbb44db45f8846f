// tokio's tutorial, "Select": the sections samples/select.cpp does not
// cover — an accept loop raced against a oneshot ("Syntax"), branches
// that borrow the caller's data ("Borrowing"), and select in a loop over
// three channels ("Loops") (docs/tutorial/select.md). The lines are
// checked in any order: select picks its first branch at random.
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <cstddef>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

kyoto::task<> process(tcp_stream socket) {
  (void)socket;
  co_return;
}

// ---------------------------------------------------------------- Syntax

kyoto::task<> accept_loop(tcp_listener& listener) {
  for (;;) {
    auto [socket, _] = co_await listener.accept();
    kyoto::spawn(process(std::move(socket)));
  }
}

kyoto::task<> send_done(oneshot::sender<std::monostate> tx) {
  tx.send(std::monostate{}).value();
  co_return;
}

kyoto::task<> syntax() {
  auto [tx, rx] = oneshot::channel<std::monostate>();
  kyoto::spawn(send_done(std::move(tx)));

  tcp_listener listener = co_await tcp_listener::bind("127.0.0.1:0");

  auto done = co_await kyoto::select(accept_loop(listener), std::move(rx));
  if (done.index() == 1) {
    std::cout << "terminating accept loop\n";
  }
}

// ---------------------------------------------------------------- Borrowing

/// Connects to `addr` and writes `data`: true once written, false if it
/// could not (Rust's `Ok(_)` pattern of the chapter).
kyoto::task<bool> send_to(std::span<const std::byte> data, socket_addr addr) {
  try {
    tcp_stream socket = co_await tcp_stream::connect(addr);
    co_await socket.write_all(data);
    co_return true;
  } catch (const std::system_error&) {
    co_return false;
  }
}

/// Sends `data` to whichever destination takes it first. Both branches
/// borrow `data`; a branch that fails is disabled and the other goes on.
kyoto::task<> race(std::span<const std::byte> data, socket_addr addr1, socket_addr addr2) {
  kyoto::task<bool> first = send_to(data, addr1);
  kyoto::task<bool> second = send_to(data, addr2);
  bool open1 = true;
  bool open2 = true;
  try {
    for (;;) {
      auto sent = co_await kyoto::select(kyoto::when(open1, first), kyoto::when(open2, second));
      const bool ok = sent.index() == 0 ? std::get<0>(sent) : std::get<1>(sent);
      if (ok) {
        std::cout << "race: sent to destination " << sent.index() + 1 << '\n';
        co_return;
      }
      (sent.index() == 0 ? open1 : open2) = false;
    }
  } catch (const kyoto::all_branches_disabled&) {
    std::cout << "race: no destination took the data\n";  // the `else` branch
  }
}

kyoto::task<> borrowing() {
  const std::string_view text = "some data";
  const std::span<const std::byte> data = std::as_bytes(std::span(text));

  tcp_listener destination = co_await tcp_listener::bind("127.0.0.1:0");
  socket_addr refused;
  {
    tcp_listener gone = co_await tcp_listener::bind("127.0.0.1:0");
    refused = gone.local_addr();
  }  // closed: connecting to it is refused
  co_await race(data, refused, destination.local_addr());

  // Only one handler runs, so every handler may change `out`.
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  tx1.send(1).value();
  std::string out;
  auto which = co_await kyoto::select_biased(std::move(rx1), std::move(rx2));
  if (which.index() == 0) {
    out += "rx1 completed";
  } else {
    out += "rx2 completed";
  }
  std::cout << out << '\n';
}

// ---------------------------------------------------------------- Loops

kyoto::task<> loops() {
  auto [tx1, rx1] = mpsc::channel<std::string>(128);
  auto [tx2, rx2] = mpsc::channel<std::string>(128);
  auto [tx3, rx3] = mpsc::channel<std::string>(128);
  (co_await tx1.send("hello from rx1")).value();
  (co_await tx2.send("hello from rx2")).value();
  (co_await tx3.send("hello from rx3")).value();
  {
    auto drop1 = std::move(tx1);
    auto drop2 = std::move(tx2);
    auto drop3 = std::move(tx3);
  }

  bool open1 = true;
  bool open2 = true;
  bool open3 = true;
  for (;;) {
    std::optional<std::string> msg;
    try {
      auto got =
          co_await kyoto::select(kyoto::when(open1, rx1.recv()), kyoto::when(open2, rx2.recv()),
                                 kyoto::when(open3, rx3.recv()));
      switch (got.index()) {
        case 0:
          msg = std::move(std::get<0>(got));
          open1 = msg.has_value();
          break;
        case 1:
          msg = std::move(std::get<1>(got));
          open2 = msg.has_value();
          break;
        default:
          msg = std::move(std::get<2>(got));
          open3 = msg.has_value();
          break;
      }
    } catch (const kyoto::all_branches_disabled&) {
      break;  // the `else` branch
    }
    if (msg) std::cout << "Got \"" << *msg << "\"\n";
  }
  std::cout << "All channels have been closed.\n";
}

KYOTO_MAIN() {
  co_await syntax();
  co_await borrowing();
  co_await loops();
}
