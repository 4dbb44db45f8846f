// The channels' buffer: FIFO across block boundaries, values constructed
// and destroyed exactly once, blocks reused.
#include <kyoto/sync/detail/block_queue.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

using kyoto::detail::block_queue;

namespace {

TEST(BlockQueue, IsFifoAcrossManyBlocks) {
  block_queue<int> q;
  const int n = 10 * static_cast<int>(block_queue<int>::block_slots) + 3;
  int next_pop = 0;
  for (int i = 0; i < n; ++i) {
    q.push_back(i);
    if (i % 3 == 0) {
      EXPECT_EQ(q.pop_front(), next_pop++);
    }
  }
  EXPECT_EQ(q.size(), static_cast<std::size_t>(n - next_pop));
  while (!q.empty())
    EXPECT_EQ(q.pop_front(), next_pop++);
  EXPECT_EQ(next_pop, n);
}

TEST(BlockQueue, HoldsMoveOnlyValues) {
  block_queue<std::unique_ptr<int>> q;
  for (int i = 0; i < 100; ++i)
    q.push_back(std::make_unique<int>(i));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(*q.pop_front(), i);
}

struct counted {
  static inline int live = 0;
  std::string payload;
  explicit counted(int i) : payload(std::to_string(i)) { ++live; }
  counted(counted&& o) noexcept : payload(std::move(o.payload)) { ++live; }
  ~counted() { --live; }
};

TEST(BlockQueue, DestroysWhatItStillHolds) {
  {
    block_queue<counted> q;
    for (int i = 0; i < 1000; ++i)
      q.push_back(counted(i));
    for (int i = 0; i < 500; ++i)
      EXPECT_EQ(q.pop_front().payload, std::to_string(i));
    EXPECT_EQ(counted::live, 500);
  }
  EXPECT_EQ(counted::live, 0);
}

TEST(BlockQueue, AMovedFromQueueIsEmptyAndReusable) {
  block_queue<int> a;
  for (int i = 0; i < 5; ++i)
    a.push_back(i);
  block_queue<int> b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): specified state
  EXPECT_EQ(b.size(), 5u);
  a.push_back(9);
  EXPECT_EQ(a.pop_front(), 9);
}

}  // namespace
