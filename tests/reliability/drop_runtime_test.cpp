// Issue 13, item 6: destroying a runtime from inside one of its own
// spawn_blocking functions fails with a clear error instead of waiting
// forever for its own thread to exit.
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>

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
