// tokio's tutorial, "Async in depth", "Mini Tokio": a minimal executor,
// in standard C++ only, to show what kyoto's runtime does for a coroutine
// (docs/tutorial/async-in-depth.md). Tasks are coroutines; a task that
// suspends hands out a "waker" — a function that puts it back on the
// executor's queue — and the executor resumes whatever the queue brings.
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// The executor's queue of scheduled tasks: std::sync::mpsc in tokio's
/// page. Any thread may push (a waker runs on the timer thread).
class scheduled_queue {
 public:
  void push(std::coroutine_handle<> task) {
    // Notified under the lock: once the executor sees the task it may run
    // it, finish and destroy this queue; a notify after the unlock could
    // touch the queue's condition variable after that (a detached timer
    // thread does this push).
    const std::lock_guard lock(mutex_);
    tasks_.push_back(task);
    ready_.notify_one();
  }

  /// The next task; waits while the queue is empty and tasks are alive.
  std::coroutine_handle<> pop(const std::size_t& alive) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !tasks_.empty() || alive == 0; });
    if (tasks_.empty()) return nullptr;
    std::coroutine_handle<> task = tasks_.front();
    tasks_.pop_front();
    return task;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::coroutine_handle<>> tasks_;
};

/// Wakes the task it was made for: schedules it again (tokio's Waker).
using waker = std::function<void()>;

/// A spawned task: a coroutine that starts suspended, and the executor's
/// waker for it (the promise plays tokio's Task struct).
struct task {
  struct promise_type {
    waker wake;

    task get_return_object() {
      return task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

/// The chapter's Delay, awaited from a task: on suspension it takes the
/// task's waker and hands it to a timer thread.
struct delay {
  clock_type::time_point when;

  bool await_ready() const noexcept { return clock_type::now() >= when; }

  void await_suspend(std::coroutine_handle<task::promise_type> h) const {
    // Get a handle to the waker for the current task
    waker wake = h.promise().wake;
    // Spawn a timer thread.
    std::thread([wake = std::move(wake), when = when] {
      const clock_type::time_point now = clock_type::now();
      if (now < when) {
        std::this_thread::sleep_for(when - now);
      }
      wake();
    }).detach();
  }

  std::string_view await_resume() const {
    std::cout << "Hello world\n";
    return "done";
  }
};

class mini_kyoto {
 public:
  /// Spawn a coroutine onto the mini-kyoto instance: it is scheduled, and
  /// its waker puts it back on the queue.
  void spawn(task t) {
    t.handle.promise().wake = [this, h = t.handle] {
      scheduled_.push(h);
    };
    ++alive_;
    scheduled_.push(t.handle);
  }

  /// Resumes scheduled tasks until every task has finished (tokio's
  /// run() loops forever; this one returns, so that main can end).
  void run() {
    while (std::coroutine_handle<> task = scheduled_.pop(alive_)) {
      task.resume();
      if (task.done()) {
        task.destroy();
        --alive_;
      }
    }
  }

 private:
  scheduled_queue scheduled_;
  std::size_t alive_ = 0;  // touched by run()'s thread only
};

task hello() {
  const clock_type::time_point when = clock_type::now() + 10ms;
  const delay future{when};

  const std::string_view out = co_await future;
  std::cout << "out = " << out << '\n';
}

int main() {
  mini_kyoto mini_kyoto;

  mini_kyoto.spawn(hello());

  mini_kyoto.run();
}
