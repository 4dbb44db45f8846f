// A counter shared by tasks through an async mutex (tokio's Mutex docs:
// "Arc<Mutex<_>>" shared state), and a guard held across an await.
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

using kyoto::sync::mutex;

KYOTO_MAIN() {
  auto count = std::make_shared<mutex<int>>(0);
  std::vector<kyoto::join_handle<void>> tasks;
  tasks.reserve(5);
  for (int i = 0; i < 5; ++i) {
    tasks.push_back(kyoto::spawn(
        [](std::shared_ptr<mutex<int>> c) -> kyoto::task<> {
          for (int k = 0; k < 100; ++k) {
            auto lock = co_await c->lock();
            *lock += 1;
          }
        },
        count));
  }
  for (auto& t : tasks)
    co_await t;
  std::cout << "count = " << *co_await count->lock() << '\n';

  // The guard may be held across an await: the log's lines stay together.
  mutex<std::vector<std::string>> log;
  {
    auto lines = co_await log.lock();
    lines->push_back("first");
    co_await kyoto::yield_now();
    lines->push_back("second");
  }
  std::cout << "try_lock while free: " << (log.try_lock() ? "ok" : "busy") << '\n';
  auto held = co_await log.lock();
  std::cout << "try_lock while held: " << (log.try_lock() ? "ok" : log.try_lock().error().what())
            << '\n';
  for (const auto& l : *held)
    std::cout << l << '\n';
}
