// kyoto::waker and kyoto::suspension: a hand-written awaiter completed from
// plain threads. tokio has no test file of its own for Waker (it is std's);
// these check the contract in <kyoto/runtime/waker.hpp>: a wake from any
// thread before or after the suspension, coalescing, stale and late wakes
// (after an abort, after the runtime is gone), will_wake, and a stress run
// of many threads waking many tasks on a multi_thread runtime.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

/// Where the test's awaiter publishes its latest waker, for threads to take.
struct waker_box {
  std::mutex m;
  std::condition_variable cv;
  kyoto::waker latest;  ///< guarded by m
  int armings = 0;      ///< guarded by m

  void publish(kyoto::waker w) {
    {
      std::lock_guard g(m);
      latest = std::move(w);
      ++armings;
    }
    cv.notify_all();
  }
  /// Blocks the calling plain thread until the awaiter was armed `n` times;
  /// gives a copy of the latest waker.
  kyoto::waker wait_for_arming(int n) {
    std::unique_lock g(m);
    cv.wait(g, [&] { return armings >= n; });
    return latest;
  }
  /// The latest waker, if the awaiter was armed `n` times (non-blocking).
  kyoto::waker try_get(int n) {
    std::lock_guard g(m);
    return armings >= n ? latest : kyoto::waker();
  }
  int arming_count() {
    std::lock_guard g(m);
    return armings;
  }
};

/// How the awaiter wakes itself, if at all, before await_suspend returns.
enum class self_wake : unsigned char { none, same_thread, other_thread };

/// A leaf awaiter completed only by a waker: what docs/awaitables.md
/// describes, reduced to its bones.
class wait_for_wake {
 public:
  wait_for_wake(waker_box& box, std::atomic<int>& resumes, self_wake mode = self_wake::none)
      : box_(box), resumes_(resumes), mode_(mode) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    kyoto::waker w = suspension_.arm(h);
    if (mode_ == self_wake::same_thread) w.wake_by_ref();
    if (mode_ == self_wake::other_thread) {
      // Woken and the thread gone before the coroutine has suspended.
      std::thread([copy = w]() mutable { copy.wake(); }).join();
    }
    box_.publish(std::move(w));
  }
  void await_resume() noexcept { resumes_.fetch_add(1, std::memory_order_relaxed); }

 private:
  waker_box& box_;
  std::atomic<int>& resumes_;
  self_wake mode_;
  kyoto::suspension suspension_;
};

KYOTO_TEST(Waker, WakeFromAThreadAfterSuspensionResumesTheTask) {
  waker_box box;
  std::atomic<int> resumes{0};
  std::thread t([&] { box.wait_for_arming(1).wake(); });
  co_await wait_for_wake(box, resumes);
  t.join();
  EXPECT_EQ(resumes.load(), 1);
}

KYOTO_TEST(Waker, WakeFromAThreadBeforeTheCoroutineSuspendedResumesIt) {
  waker_box box;
  std::atomic<int> resumes{0};
  co_await wait_for_wake(box, resumes, self_wake::other_thread);
  EXPECT_EQ(resumes.load(), 1);
}

KYOTO_CT_TEST(Waker, WakeFromInsideAwaitSuspendResumesIt) {
  waker_box box;
  std::atomic<int> resumes{0};
  co_await wait_for_wake(box, resumes, self_wake::same_thread);
  EXPECT_EQ(resumes.load(), 1);
}

KYOTO_CT_TEST(Waker, ManyWakesCoalesceIntoOneResume) {
  waker_box box;
  std::atomic<int> resumes{0};
  auto h = kyoto::spawn([&]() -> kyoto::task<> {
    co_await wait_for_wake(box, resumes);
    co_await wait_for_wake(box, resumes);
  });
  while (box.arming_count() < 1)
    co_await kyoto::yield_now();
  const kyoto::waker first = box.try_get(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([first] {
      for (int k = 0; k < 1000; ++k)
        first.wake_by_ref();
    });
  }
  for (auto& t : threads)
    t.join();
  while (box.arming_count() < 2)
    co_await kyoto::yield_now();
  EXPECT_EQ(resumes.load(), 1) << "4000 wakes, one resumption";
  // The second await is a new arming: the first one's wakers are stale.
  const kyoto::waker second = box.try_get(2);
  EXPECT_FALSE(first.will_wake(second));
  std::thread([first] { first.wake_by_ref(); }).join();
  // A wake from another thread reaches a current_thread runtime's driving
  // thread through its injection queue, which it checks at least every 31
  // ticks: had the stale wake resumed the task, these yields would see it.
  for (int i = 0; i < 64; ++i)
    co_await kyoto::yield_now();
  EXPECT_EQ(resumes.load(), 1) << "a stale waker resumed the next await";
  std::thread([second] { second.wake_by_ref(); }).join();
  co_await h;
  EXPECT_EQ(resumes.load(), 2);
}

/// Spawns a task that awaits wait_for_wake(box, resumes) and counts its
/// frame's destruction in `dropped`; returns once it is waiting.
kyoto::task<kyoto::join_handle<void>> spawn_waiting_for_wake(waker_box& box,
                                                             std::atomic<int>& resumes,
                                                             std::atomic<int>& dropped) {
  auto h = kyoto::spawn([&box, &resumes, &dropped]() -> kyoto::task<> {
    kyoto::test::drop_counter guard(dropped);
    co_await wait_for_wake(box, resumes);
  });
  while (box.arming_count() < 1)
    co_await kyoto::yield_now();
  co_return h;
}

KYOTO_CT_TEST(Waker, WakeAfterTheTaskWasAbortedDoesNothing) {
  waker_box box;
  std::atomic<int> resumes{0};
  std::atomic<int> dropped{0};
  auto h = co_await spawn_waiting_for_wake(box, resumes, dropped);
  kyoto::waker w = box.try_get(1);
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
  std::thread([&] { w.wake_by_ref(); }).join();
  w.wake();
  EXPECT_FALSE(static_cast<bool>(w)) << "wake() consumes the waker";
  EXPECT_EQ(resumes.load(), 0);
}

KYOTO_CT_TEST(Waker, WokenThenAbortedBeforeResumingIsCancelledCleanly) {
  waker_box box;
  std::atomic<int> resumes{0};
  std::atomic<int> dropped{0};
  auto h = co_await spawn_waiting_for_wake(box, resumes, dropped);
  // The wake queues the task (its node on the ready stack); the abort wins
  // before it runs, so the awaiter is destroyed with its node still queued.
  box.try_get(1).wake();
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_EQ(resumes.load(), 0);
}

TEST(Waker, WakingAfterTheRuntimeIsGoneDoesNothing) {
  kyoto::waker kept;
  std::atomic<int> resumes{0};
  {
    waker_box box;
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    auto h = rt.spawn([&]() -> kyoto::task<> { co_await wait_for_wake(box, resumes); });
    rt.block_on([&]() -> kyoto::task<> {
      while (box.arming_count() < 1)
        co_await kyoto::yield_now();
    }());
    kept = box.try_get(1);
  }  // the runtime cancels the task; the waker keeps only its shared state
  std::thread([&] { kept.wake_by_ref(); }).join();
  kept.wake();
  EXPECT_EQ(resumes.load(), 0);
}

TEST(Waker, WillWakeComparesTheSuspensionWoken) {
  const kyoto::waker empty;
  EXPECT_TRUE(empty.will_wake(kyoto::waker()));
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on([]() -> kyoto::task<> {
    waker_box box;
    std::atomic<int> resumes{0};
    co_await wait_for_wake(box, resumes, self_wake::same_thread);
    const kyoto::waker w = box.try_get(1);
    // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is the point
    const kyoto::waker copy = w;
    EXPECT_TRUE(w.will_wake(copy));
    EXPECT_TRUE(copy.will_wake(w));
    EXPECT_FALSE(w.will_wake(kyoto::waker()));
  }());
}

TEST(Waker, ArmingOutsideARuntimeTaskThrowsNamingTheOperation) {
  kyoto::suspension s;
  kyoto::test::expect_throws<std::logic_error>([&] { (void)s.arm(std::noop_coroutine()); },
                                               "kyoto::suspension::arm");
}

// Many threads waking many tasks, each awaiting many times, on a
// multi_thread runtime; half of the tasks are aborted while the wakes go
// on. Meant for ThreadSanitizer as much as for the counts.
TEST(Waker, ManyThreadsWakingManyTasksOnAMultiThreadRuntime) {
  constexpr int tasks = 32;
  constexpr int rounds = 200;
  constexpr int waking_threads = 4;
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(4).build();
  std::vector<std::unique_ptr<waker_box>> boxes;
  for (int i = 0; i < tasks; ++i)
    boxes.push_back(std::make_unique<waker_box>());
  std::atomic<int> resumes{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> wakers;
  for (int t = 0; t < waking_threads; ++t) {
    wakers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (auto& b : boxes) {
          kyoto::waker w = b->try_get(1);
          w.wake();
        }
      }
    });
  }
  rt.block_on([&]() -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> finite;
    std::vector<kyoto::join_handle<void>> endless;
    for (int i = 0; i < tasks; ++i) {
      waker_box& box = *boxes[static_cast<std::size_t>(i)];
      if (i % 2 == 0) {
        finite.push_back(kyoto::spawn([&box, &resumes]() -> kyoto::task<> {
          for (int r = 0; r < rounds; ++r)
            co_await wait_for_wake(box, resumes);
        }));
      } else {
        endless.push_back(kyoto::spawn([&box, &resumes]() -> kyoto::task<> {
          for (;;)
            co_await wait_for_wake(box, resumes);
        }));
      }
    }
    for (auto& h : finite)
      co_await h;
    for (auto& h : endless)
      h.abort();
    for (auto& h : endless)
      EXPECT_THROW(co_await h, kyoto::join_error);
  }());
  stop.store(true, std::memory_order_relaxed);
  for (auto& t : wakers)
    t.join();
  EXPECT_GE(resumes.load(), tasks / 2 * rounds);
}

}  // namespace
