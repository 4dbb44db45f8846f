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
