// Limits how many tasks work at once: ten downloads, at most three at a
// time (tokio's Semaphore docs: "limit the number of simultaneously
// opened files"). An owned permit moves into each spawned task.
#include <kyoto/kyoto.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <vector>

using kyoto::sync::semaphore;

std::atomic<int> running{0};
std::atomic<int> most_at_once{0};

kyoto::task<int> download(int id, [[maybe_unused]] kyoto::sync::owned_semaphore_permit permit) {
  const int now = ++running;
  for (int seen = most_at_once; now > seen && !most_at_once.compare_exchange_weak(seen, now);) {
  }
  co_await kyoto::yield_now();  // the "download"
  --running;
  co_return id* id;  // the permit goes back when the task ends
}

KYOTO_MAIN() {
  auto sem = std::make_shared<semaphore>(3);
  std::vector<kyoto::join_handle<int>> downloads;
  for (int id = 0; id < 10; ++id) {
    auto permit = (co_await semaphore::acquire_owned(sem)).value();
    downloads.push_back(kyoto::spawn(download(id, std::move(permit))));
  }
  int total = 0;
  for (auto& d : downloads)
    total += co_await d;
  std::cout << "downloaded 10 files, sum of sizes " << total << '\n';
  std::cout << "at most " << (most_at_once <= 3 ? "3" : "MORE THAN 3") << " at once\n";
  std::cout << "permits back: " << sem->available_permits() << '\n';

  // try_acquire never waits.
  auto all = (co_await sem->acquire_many(3)).value();
  std::cout << "try_acquire with none free: " << sem->try_acquire().error().what() << '\n';
  sem->close();
  std::cout << "acquire after close: " << (co_await sem->acquire()).error().what() << '\n';
}
