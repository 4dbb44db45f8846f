// Issue 13, item 7: a thread that frees pool blocks before (or without)
// ever allocating hands them back when it exits, instead of leaking them
// (blocking-pool threads freeing task cells, plain threads dropping a
// channel's last handle).
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <thread>
#include <vector>

namespace {

using kyoto::detail::frame_pool;

// A class nothing else in this test allocates from.
constexpr std::size_t block_size = 1000;

TEST(FramePool, AThreadThatOnlyFreesHandsItsBlocksBackWhenItExits) {
  if (kyoto::detail::address_sanitizer) GTEST_SKIP() << "the pool is bypassed under ASan";
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < frame_pool::batch; ++i)
    blocks.push_back(frame_pool::allocate(block_size));
  // The thread's first use of the pool is a free.
  std::thread([&] {
    for (void* b : blocks)
      frame_pool::deallocate(b, block_size);
  }).join();
  // Its blocks went to the depot as one batch: this thread gets them back.
  // (Leaked, they could never come back.)
  std::set<void*> back;
  for (std::size_t i = 0; i < frame_pool::batch; ++i)
    back.insert(frame_pool::allocate(block_size));
  EXPECT_EQ(back, std::set<void*>(blocks.begin(), blocks.end()));
  for (void* b : back)
    frame_pool::deallocate(b, block_size);
}

}  // namespace
