// The count of closes per descriptor number that lets the readiness
// backend keep a socket's registration (runtime/src/io/fd_epoch.hpp): a
// close moves the epoch, a hold pins it, and a close waits for a hold.
#include "io/fd_epoch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

using kyoto::detail::fd_epoch_bump;
using kyoto::detail::fd_epoch_hold;
using kyoto::detail::fd_epoch_read;
using kyoto::detail::fd_epoch_release;

namespace {

TEST(FdEpoch, ACloseMovesTheEpochOfItsNumberOnly) {
  std::uint32_t before = 0;
  std::uint32_t other = 0;
  ASSERT_TRUE(fd_epoch_read(100, before));
  ASSERT_TRUE(fd_epoch_read(101, other));
  fd_epoch_bump(100);
  std::uint32_t after = 0;
  std::uint32_t other_after = 0;
  ASSERT_TRUE(fd_epoch_read(100, after));
  ASSERT_TRUE(fd_epoch_read(101, other_after));
  EXPECT_NE(after, before);
  EXPECT_EQ(other_after, other);
}

TEST(FdEpoch, NumbersOutsideTheTableAreUntracked) {
  std::uint32_t e = 0;
  EXPECT_FALSE(fd_epoch_read(-1, e));
  EXPECT_FALSE(fd_epoch_read(1 << 20, e));
  EXPECT_TRUE(fd_epoch_read((1 << 20) - 1, e));
  fd_epoch_bump(1 << 20);  // nothing to count: no crash
  EXPECT_FALSE(fd_epoch_hold(1 << 20, 0));
}

TEST(FdEpoch, AHoldFailsOnceTheNumberWasClosed) {
  std::uint32_t e = 0;
  ASSERT_TRUE(fd_epoch_read(200, e));
  fd_epoch_bump(200);
  EXPECT_FALSE(fd_epoch_hold(200, e)) << "held a number closed since its epoch was read";
  std::uint32_t now = 0;
  ASSERT_TRUE(fd_epoch_read(200, now));
  ASSERT_TRUE(fd_epoch_hold(200, now));
  EXPECT_FALSE(fd_epoch_hold(200, now)) << "two holds at once";
  std::uint32_t while_held = 0;
  ASSERT_TRUE(fd_epoch_read(200, while_held));
  EXPECT_EQ(while_held, now) << "a hold changed the epoch a reader sees";
  fd_epoch_release(200, now);
  EXPECT_TRUE(fd_epoch_hold(200, now));
  fd_epoch_release(200, now);
}

TEST(FdEpoch, ACloseWaitsForAHoldAndThenMovesTheEpoch) {
  std::uint32_t e = 0;
  ASSERT_TRUE(fd_epoch_read(300, e));
  ASSERT_TRUE(fd_epoch_hold(300, e));
  int in_hold = 0;  // plain: the hold orders it before the close's read
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    fd_epoch_bump(300);
    EXPECT_EQ(in_hold, 1) << "the close ran before the hold ended";
    closed.store(true);
  });
  in_hold = 1;  // under TSan, a close that did not wait is a race here
  fd_epoch_release(300, e);
  closer.join();
  EXPECT_TRUE(closed.load());
  std::uint32_t after = 0;
  ASSERT_TRUE(fd_epoch_read(300, after));
  EXPECT_NE(after, e);
  EXPECT_FALSE(fd_epoch_hold(300, e));
}

}  // namespace
