// kyoto::bytes copies used and dropped on many threads at once: the atomic
// count (kyoto/bytes/detail/shared.hpp). Meant to run under
// ThreadSanitizer too (a clang build with -Db_sanitize=thread).
#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace {

using kyoto::bytes;
using kyoto::bytes_mut;

constexpr int threads = 8;

// upstream: stress (test_bytes.rs): threads copy one shared bytes at once,
// read their copy and drop it; the original is intact after.
TEST(BytesThreads, CopiesMadeAndDroppedOnManyThreadsShareSafely) {
  constexpr int iters = 200;
  for (int i = 0; i < iters; ++i) {
    const std::string data(256, static_cast<char>(i));
    const bytes buf = bytes::copy_from_slice(data);
    std::barrier start(threads);
    std::atomic<int> bad{0};
    std::vector<std::thread> joins;
    for (int t = 0; t < threads; ++t) {
      joins.emplace_back([&] {
        start.arrive_and_wait();
        for (int k = 0; k < 16; ++k) {
          bytes copy = buf;  // NOLINT(performance-unnecessary-copy-initialization)
          bytes part = copy.slice(k, 256 - k);
          if (part.size() != 256u - 2 * k || part[0] != std::byte(static_cast<unsigned char>(i))) {
            bad.fetch_add(1, std::memory_order_relaxed);
          }
        }
      });
    }
    for (std::thread& t : joins)
      t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(buf, data);
  }
}

// Not upstream: the last copy may be dropped on any thread; it frees the
// buffer after every other thread's reads (the acq_rel decrement).
TEST(BytesThreads, TheLastCopyDroppedOnAnyThreadFreesTheBuffer) {
  for (int i = 0; i < 200; ++i) {
    std::vector<bytes> copies;
    {
      const bytes original(std::string(1000, 'q'));
      for (int t = 0; t < threads; ++t)
        copies.push_back(original);
    }  // only the threads' copies are left
    std::barrier start(threads);
    std::atomic<std::size_t> total{0};
    std::vector<std::thread> joins;
    for (int t = 0; t < threads; ++t) {
      joins.emplace_back([&, mine = std::move(copies[static_cast<std::size_t>(t)])]() mutable {
        start.arrive_and_wait();
        std::size_t n = 0;
        for (const std::byte b : mine)
          n += b == std::byte{'q'};
        total.fetch_add(n, std::memory_order_relaxed);
        mine = bytes();  // drop here, racing with the others' drops
      });
    }
    for (std::thread& t : joins)
      t.join();
    EXPECT_EQ(total.load(), std::size_t{threads} * 1000);
  }
}

// Not upstream: parts of one bytes_mut written on different threads (their
// regions are disjoint), frozen there and read back here; then the front is
// reclaimed by reserve once every other part is gone.
TEST(BytesThreads, SplitPartsAreWrittenOnTheirOwnThreads) {
  for (int i = 0; i < 100; ++i) {
    // whole keeps [0, 64); part t is [64 * (threads - t), 64 * (threads - t + 1)).
    bytes_mut whole = bytes_mut::with_capacity(std::size_t{threads + 1} * 64);
    const std::byte* const base = whole.data();
    std::vector<bytes_mut> parts;
    for (int t = 0; t < threads; ++t)
      parts.push_back(whole.split_off(std::size_t{64} * static_cast<std::size_t>(threads - t)));
    std::vector<bytes> frozen(threads);
    std::vector<std::thread> joins;
    for (int t = 0; t < threads; ++t) {
      joins.emplace_back([&, t] {
        bytes_mut& p = parts[static_cast<std::size_t>(t)];
        p.put_bytes(std::byte(static_cast<unsigned char>('a' + t)), 64);
        frozen[static_cast<std::size_t>(t)] = std::move(p).freeze();
      });
    }
    for (std::thread& t : joins)
      t.join();
    for (int t = 0; t < threads; ++t) {
      const bytes& f = frozen[static_cast<std::size_t>(t)];
      ASSERT_EQ(f.size(), 64u);
      EXPECT_EQ(f[63], std::byte(static_cast<unsigned char>('a' + t)));
    }
    std::thread([&] { frozen.clear(); }).join();  // the other references drop elsewhere
    EXPECT_EQ(whole.capacity(), 64u);
    whole.reserve(std::size_t{threads + 1} * 64);  // the only owner again: the tail is reclaimed
    EXPECT_EQ(whole.data(), base);
    EXPECT_EQ(whole.capacity(), std::size_t{threads + 1} * 64);
  }
}

}  // namespace
