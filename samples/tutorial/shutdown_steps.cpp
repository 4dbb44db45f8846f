// tokio's topic "Graceful Shutdown", step by step: deciding when to shut
// down (Ctrl-C, or a request from inside the program), telling tasks to
// shut down (a cancellation token), and waiting for them (a task tracker)
// (docs/tutorial/graceful-shutdown.md). samples/graceful_shutdown.cpp puts
// the three together in a server.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <utility>

using namespace std::chrono_literals;
namespace mpsc = kyoto::sync::mpsc;

// ---------------------------------------------------------------- when

// The application: after a while, it decides to shut down.
kyoto::task<> application(mpsc::unbounded_sender<std::monostate> shutdown_send) {
  co_await kyoto::time::sleep(10ms);
  (void)shutdown_send.send(std::monostate{});
}

kyoto::task<> figuring_out_when() {
  auto [shutdown_send, shutdown_recv] = mpsc::unbounded_channel<std::monostate>();

  // ... spawn application as separate task ...
  //
  // application uses shutdown_send in case a shutdown was issued from
  // inside the application
  kyoto::spawn(application(std::move(shutdown_send)));

  auto why = co_await kyoto::select(kyoto::signal::ctrl_c(), shutdown_recv.recv());
  std::cout << (why.index() == 0 ? "Ctrl-C" : "the application asked") << ": shutting down\n";

  // send shutdown signal to application and wait
}

// ---------------------------------------------------------------- telling

kyoto::task<> telling_things() {
  // Step 1: Create a new cancellation_token
  kyoto::sync::cancellation_token token;

  // Step 2: Copy the token for use in another task
  kyoto::sync::cancellation_token cloned_token = token;

  // Task 1 - Wait for token cancellation or a long time
  auto task1_handle = kyoto::spawn([cloned_token = std::move(cloned_token)]() -> kyoto::task<> {
    auto done = co_await kyoto::select(
        // Step 3: Using the copied token to listen to cancellation requests
        cloned_token.cancelled(), kyoto::time::sleep(9999s));
    if (done.index() == 0) {
      // The token was cancelled, task can shut down
      std::cout << "task 1: cancelled, shutting down\n";
    } else {
      // Long work has completed
      std::cout << "task 1: long work completed\n";
    }
  });

  // Task 2 - Cancel the original token after a small delay
  kyoto::spawn([token]() -> kyoto::task<> {
    co_await kyoto::time::sleep(10ms);

    // Step 4: Cancel the original or copied token to notify other tasks
    // about shutting down gracefully
    token.cancel();
  });

  // Wait for tasks to complete
  co_await task1_handle;
}

// ---------------------------------------------------------------- waiting

kyoto::task<> some_operation(std::uint64_t i) {
  co_await kyoto::time::sleep(std::chrono::milliseconds(100 * i));
  std::cout << "Task " << i << " shutting down.\n";
}

kyoto::task<> waiting_for_things() {
  kyoto::task_tracker tracker;

  for (std::uint64_t i = 0; i < 10; ++i) {
    tracker.spawn(some_operation(i));
  }

  // Once we spawned everything, we close the tracker.
  tracker.close();

  // Wait for everything to finish.
  co_await tracker.wait();

  std::cout << "This is printed after all of the tasks.\n";
}

KYOTO_MAIN() {
  co_await figuring_out_when();
  co_await telling_things();
  co_await waiting_for_things();
}
