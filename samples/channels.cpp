// The seed: "Sharing data through channels" from tokio's tutorial, ported
// line by line (../shared/seed/channels.rs). Prints exactly what the tokio
// program prints.
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

using kyoto::sync::mpsc::sender;

// #[derive(Debug)]
// A constructor, not an aggregate: GCC 12 copies an aggregate temporary
// made inside a co_await expression bitwise (docs/architecture.md, compiler
// traps), and `send(user{...})` below is such an expression.
struct user {
  explicit user(std::string name) : id(std::move(name)) {}
  std::string id;
};

std::ostream& operator<<(std::ostream& os, const user& u) {
  return os << "User { id: \"" << u.id << "\" }";
}

std::ostream& operator<<(std::ostream& os, const std::vector<user>& users) {
  os << '[';
  for (std::size_t i = 0; i < users.size(); ++i)
    os << (i == 0 ? "" : ", ") << users[i];
  return os << ']';
}

kyoto::task<> lookup_user(std::string id, sender<user> user_chan) {
  (co_await user_chan.send(user{std::move(id)})).expect("can not send user on channel");
}

KYOTO_MAIN() {
  auto [tx, rx] = kyoto::sync::mpsc::channel<user>(100);
  std::vector<user> users;

  kyoto::spawn(
      [](sender<user> user_chan) -> kyoto::task<> {
        sender<user> bob_chan = user_chan;  // tx.clone(), before the move below
        co_await kyoto::join(lookup_user("bob", std::move(bob_chan)),
                             lookup_user("tom", std::move(user_chan)));
      },
      std::move(tx));

  while (std::optional<user> u = co_await rx.recv()) {
    std::cout << "received: " << *u << '\n';
    users.push_back(std::move(*u));
  }

  std::cout << "Users: " << users << '\n';
}
