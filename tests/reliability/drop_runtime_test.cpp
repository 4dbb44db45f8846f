// Issue 13, item 6: destroying a runtime from inside one of its own
// spawn_blocking functions fails with a clear error instead of waiting
// forever for its own thread to exit.
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>

namespace {

TEST(DropRuntimeDeathTest, FromItsOwnSpawnBlockingFunctionAbortsWithAReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* rt =
            new kyoto::runtime(kyoto::runtime::builder::multi_thread().worker_threads(1).build());
        std::promise<void> never;
        rt->spawn_blocking([rt] { delete rt; });
        // Before the fix the blocking thread deadlocked: give up and exit
        // cleanly, which EXPECT_DEATH counts as a failure.
        (void)never.get_future().wait_for(std::chrono::seconds(20));
        std::exit(0);
      },
      "destroyed from inside one of its own spawn_blocking functions");
}

}  // namespace

namespace {

// Issue 13, item 12: destroying a runtime from inside one of its own tasks
// says so (it used to end with only "terminate called without an active
// exception" unless KYOTO_LOG was set; the logger's default is now error).
TEST(DropRuntimeDeathTest, FromItsOwnTaskAbortsWithAReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): the child is about to start its runtime
        ::unsetenv("KYOTO_LOG");
        auto* rt = new kyoto::runtime(kyoto::runtime::builder::current_thread().build());
        rt->block_on([](kyoto::runtime* self) -> kyoto::task<void> {
          delete self;
          co_return;
        }(rt));
        std::exit(0);
      },
      "a runtime was destroyed from one of its own tasks");
}

}  // namespace

namespace {

// Issue 13, item 12, with logging off: the reason is on stderr whatever
// KYOTO_LOG says (before, KYOTO_LOG=off left only "terminate called
// without an active exception"), on both flavours, and for a task that
// holds the last shared_ptr to its runtime.
kyoto::task<void> drop_last_owner(std::shared_ptr<kyoto::runtime> last) {
  last.reset();  // the last owner: destroys the runtime from this task
  co_return;
}

kyoto::task<void> spawn_and_wait(kyoto::task<void> t) {
  co_await kyoto::spawn(std::move(t));
}

TEST(DropRuntimeDeathTest, FromItsOwnTaskSaysWhyWithLoggingOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const bool multi_thread : {false, true}) {
    EXPECT_DEATH(
        {
          // NOLINTNEXTLINE(concurrency-mt-unsafe): the child is about to start its runtime
          ::setenv("KYOTO_LOG", "off", 1);
          auto rt = std::make_shared<kyoto::runtime>(
              multi_thread ? kyoto::runtime::builder::multi_thread().worker_threads(1).build()
                           : kyoto::runtime::builder::current_thread().build());
          kyoto::runtime& r = *rt;
          r.block_on(spawn_and_wait(drop_last_owner(std::move(rt))));
          std::exit(0);
        },
        "a runtime was destroyed from one of its own tasks \\(on its thread");
  }
}

}  // namespace
