// tokio's topic "Bridging with sync code": "Sending messages" — a runtime
// on its own thread, and a task_spawner that plain code uses to hand it
// work through an mpsc channel (docs/tutorial/bridging.md).
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace mpsc = kyoto::sync::mpsc;

struct task {
  std::string name;
};

kyoto::task<> handle_task(task t) {
  std::cout << "Got task " << t.name << '\n';
  co_return;
}

/// The runtime thread's loop: spawn a task for each message.
kyoto::task<> receive_tasks(mpsc::receiver<task> recv) {
  kyoto::join_set<void> handled;
  while (std::optional<task> t = co_await recv.recv())
    handled.spawn(handle_task(std::move(*t)));

  // Once all senders have gone out of scope, the recv() call returns
  // std::nullopt and it will exit from the while loop and shut down the
  // thread. (Unlike tokio's page, it first waits for the tasks it spawned,
  // which the runtime's end would cancel.)
  while (co_await handled.join_next()) {
  }
}

/// Copyable, like tokio's `#[derive(Clone)]`; every copy sends to the same
/// runtime. The runtime's thread ends once the last copy is gone.
class task_spawner {
 public:
  task_spawner() : task_spawner(mpsc::channel<task>(16)) {}

  /// Hands `t` to the runtime's thread; blocks while 16 tasks wait. Not
  /// for a runtime thread (blocking_send throws there).
  void spawn_task(task t) {
    if (!spawn_.blocking_send(std::move(t)).has_value())
      throw std::runtime_error("The shared runtime has shut down.");
  }

 private:
  // Set up a channel for communicating.
  explicit task_spawner(std::pair<mpsc::sender<task>, mpsc::receiver<task>> channel)
      : spawn_(std::move(channel.first)) {
    // Build the runtime for the new thread.
    //
    // The runtime is created before spawning the thread to more cleanly
    // forward errors if the build() call fails.
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();

    thread_ = std::make_shared<std::jthread>(
        [rt = std::move(rt), recv = std::move(channel.second)]() mutable {
          rt.block_on(receive_tasks(std::move(recv)));
        });
  }

  // Declared first, destroyed last: the sender below goes first, so the
  // thread's loop ends before the last copy joins the thread.
  std::shared_ptr<std::jthread> thread_;
  mpsc::sender<task> spawn_;
};

int main() {
  task_spawner spawner;
  for (const char* name : {"one", "two", "three"})
    spawner.spawn_task(task{name});
}
