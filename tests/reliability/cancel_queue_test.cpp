// Issue 13, item 5: once a driver is drained its cancel queue stays closed.
// The driver used to swap the closed marker out and back at every poll, so
// a cross-thread cancel arriving in between was queued on a drained driver
// (and its canceller waited for a cancel nobody would submit).
#include "driver.hpp"

#include <kyoto/io/detail/io_op.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {

TEST(CancelQueue, StaysClosedWhileTheDrainedDriverPolls) {
  kyoto::detail::driver d;
  std::atomic<bool> stop{false};
  std::atomic<bool> drained{false};
  std::thread owner([&] {
    d.bind("test");
    d.drain();
    drained.store(true);
    while (!stop.load())
      d.service();  // polls the drained driver: takes the cancel queue each time
  });
  while (!drained.load())
    std::this_thread::yield();
  int accepted = 0;
  {
    kyoto::detail::io_op op;  // idle: a refused cancel touches nothing else
    for (int i = 0; i < 2'000'000 && accepted == 0; ++i) {
      if (d.post_cancel(&op)) ++accepted;
    }
    stop.store(true);
    owner.join();
  }
  EXPECT_EQ(accepted, 0) << "a cancel was queued on a drained driver";
}

}  // namespace
