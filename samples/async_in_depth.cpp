// tokio's tutorial, "Async in depth": the hand-written Delay future, whose
// poll() spawns a thread that sleeps and then calls the task's waker. In
// kyoto a leaf awaitable is an awaiter: await_ready() is poll()'s "is it
// done?", await_suspend() is its Pending branch (it arms a
// kyoto::suspension with the suspending coroutine and hands the waker to
// the thread), await_resume() is its Ready branch. docs/awaitables.md
// explains every line.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <coroutine>
#include <iostream>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Completes at `when`, woken by a thread of its own (tokio's Delay).
///
/// Cancel safe: destroying a waiting Delay (its task cancelled, or a
/// timeout) disarms its suspension, so the thread's later wake does
/// nothing; the thread holds only the waker, which keeps what it needs.
class delay {
 public:
  explicit delay(clock_type::time_point when) noexcept : when_(when) {}

  /// poll()'s first question: is the deadline already past?
  bool await_ready() const noexcept { return clock_type::now() >= when_; }

  /// poll() returning Pending: get a waker for this suspension and give it
  /// to a thread that wakes the task at `when`.
  void await_suspend(std::coroutine_handle<> h) {
    std::thread([waker = suspension_.arm(h), when = when_]() mutable {
      std::this_thread::sleep_until(when);
      waker.wake();
    }).detach();
  }

  /// poll() returning Ready.
  std::string_view await_resume() const {
    std::cout << "Hello world\n";
    return "done";
  }

 private:
  clock_type::time_point when_;
  kyoto::suspension suspension_;
};

KYOTO_MAIN() {
  // The chapter's main: await a Delay 10 ms away.
  const std::string_view out = co_await delay(clock_type::now() + 10ms);
  std::cout << out << '\n';

  // Cancelling it: the timeout destroys the Delay after 10 ms; its thread
  // still wakes at 50 ms, and that wake does nothing.
  auto late = co_await kyoto::time::timeout(10ms, delay(clock_type::now() + 50ms));
  if (!late.has_value()) std::cout << "the 50 ms delay timed out after 10 ms\n";

  // A later Delay is a new suspension: the stale wake at 50 ms does not
  // resume it early.
  const clock_type::time_point start = clock_type::now();
  co_await delay(start + 100ms);
  std::cout << "the 100 ms delay resumed "
            << (clock_type::now() - start >= 100ms ? "on time" : "EARLY") << '\n';
}
