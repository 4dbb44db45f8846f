// Watching a value that changes (tokio's watch example, as a configuration
// reload): a task reacts to each new version and sees only the latest one
// when several arrive while it is busy. On a current_thread runtime the
// spawned task runs exactly when main yields, so the output is fixed.
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <string>
#include <utility>

namespace watch = kyoto::sync::watch;

struct config {
  std::string name;
  int timeout_ms;
};

kyoto::task<> reloader(watch::receiver<config> rx) {
  for (;;) {
    auto changed = co_await rx.changed();
    if (!changed.has_value()) break;  // the sender is gone
    // A short borrow: read what is needed, never hold it across a co_await.
    auto cfg = rx.borrow_and_update();
    std::cout << "reloaded: " << cfg->name << ", timeout " << cfg->timeout_ms << " ms\n";
  }
  std::cout << "reloader: the sender is gone\n";
}

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread()) {
  auto [tx, rx] = watch::channel(config{"default", 100});
  std::cout << "initial: " << rx.borrow()->name << '\n';

  auto task = kyoto::spawn(reloader, rx);  // a copy of rx: tokio's rx.clone()
  co_await kyoto::yield_now();             // it starts, and waits for a change

  tx.send(config{"fast", 10}).expect("the reloader is listening");
  co_await kyoto::yield_now();  // it prints the new version

  // Three modifications while the reloader waits to run: it sees one change,
  // the latest value.
  tx.send(config{"slow", 1000}).expect("the reloader is listening");
  tx.send_modify([](config& c) { c.timeout_ms = 2000; });
  const bool modified = tx.send_if_modified([](config&) { return false; });  // no news
  std::cout << "modified: " << std::boolalpha << modified << '\n';
  co_await kyoto::yield_now();

  std::cout << "receivers: " << tx.receiver_count() << '\n';
  {
    auto last = std::move(tx);
  }  // dropping the sender ends the reloader's loop
  co_await task;
  std::cout << "final value seen by main: " << rx.borrow()->name
            << ", unseen change: " << rx.borrow().has_changed() << '\n';
}
