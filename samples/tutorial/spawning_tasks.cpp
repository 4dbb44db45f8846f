// tokio's tutorial, "Spawning": tasks and their join handles, what a
// spawned task may refer to ("'static bound"), and what it may hold across
// a co_await ("Send bound") (docs/tutorial/spawning.md).
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <string>
#include <utility>
#include <vector>

// Each worker thread's own counter.
thread_local int calls_on_this_thread = 0;

KYOTO_MAIN() {
  // Tasks
  kyoto::join_handle<std::string> handle = kyoto::spawn([]() -> kyoto::task<std::string> {
    // Do some async work
    co_return "return value";
  });

  // Do some other work

  std::string out = co_await handle;
  std::cout << "GOT " << out << '\n';

  // 'static bound: the task owns its data (the vector is moved into the
  // lambda, which spawn keeps alive as long as the task).
  std::vector<int> v = {1, 2, 3};

  kyoto::join_handle<void> printed = kyoto::spawn([v = std::move(v)]() -> kyoto::task<> {
    std::cout << "Here's a vec: [" << v[0] << ", " << v[1] << ", " << v[2] << "]\n";
    co_return;
  });
  co_await printed;

  // Send bound: nothing that belongs to this thread is held across the
  // co_await, after which the task may run on another worker.
  kyoto::join_handle<void> yielded = kyoto::spawn([]() -> kyoto::task<> {
    // The scope ends `calls`'s life before the co_await.
    {
      int& calls = calls_on_this_thread;
      ++calls;
    }

    // `calls` is no longer used. It is **not** kept in the task's state
    // when the task yields to the scheduler
    co_await kyoto::yield_now();
  });
  co_await yielded;
  std::cout << "the task yielded and finished\n";
}
