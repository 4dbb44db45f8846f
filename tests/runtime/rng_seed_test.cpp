// builder::rng_seed (tokio's RngSeed): a seeded runtime's random choices
// (select's first branch) are the same on every run; different seeds give
// different choices.
#include <kyoto/runtime.hpp>

#include <kyoto/runtime/detail/fast_rand.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

kyoto::task<int> immediate(int v) {
  co_return v;
}

/// Which of four always-ready branches each of `n` selects picks.
kyoto::task<std::vector<std::size_t>> select_winners(int n) {
  std::vector<std::size_t> winners;
  for (int i = 0; i < n; ++i) {
    auto v = co_await kyoto::select(immediate(0), immediate(1), immediate(2), immediate(3));
    winners.push_back(v.index());
  }
  co_return winners;
}

std::vector<std::size_t> winners_on(const kyoto::runtime::builder& b, int n = 200) {
  kyoto::runtime rt = b.build();
  return rt.block_on(select_winners(n));
}

kyoto::runtime::builder seeded_current_thread(std::uint64_t seed) {
  return kyoto::runtime::builder::current_thread().rng_seed(seed);
}

TEST(RngSeed, SameSeedMakesTheSameSelectChoices) {
  const auto first = winners_on(seeded_current_thread(42));
  const auto second = winners_on(seeded_current_thread(42));
  EXPECT_EQ(first, second);
  // The choices are still spread over the branches (not a constant).
  std::vector<int> count(4);
  for (std::size_t w : first)
    ++count[w];
  for (int c : count)
    EXPECT_GT(c, 0);
}

TEST(RngSeed, DifferentSeedsMakeDifferentSelectChoices) {
  // 200 draws among 4: equal by chance with probability 4^-200.
  EXPECT_NE(winners_on(seeded_current_thread(1)), winners_on(seeded_current_thread(2)));
}

TEST(RngSeed, EachBlockOnOfASeededRuntimeIsReproducible) {
  auto run = [] {
    kyoto::runtime rt = seeded_current_thread(7).build();
    std::vector<std::size_t> a = rt.block_on(select_winners(100));
    std::vector<std::size_t> b = rt.block_on(select_winners(100));
    return std::pair(a, b);
  };
  const auto [a1, b1] = run();
  const auto [a2, b2] = run();
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(b1, b2);
  EXPECT_NE(a1, b1);  // the second block_on draws from a generator of its own
}

TEST(RngSeed, SeededRuntimeLeavesTheThreadsOwnGeneratorAlone) {
  kyoto::detail::fast_rand before = kyoto::detail::thread_rand();
  (void)winners_on(seeded_current_thread(3));
  // The thread's generator continues where it was.
  EXPECT_EQ(kyoto::detail::thread_rand().next_u32(), before.next_u32());
}

TEST(RngSeed, SameSeedOnAOneWorkerMultiThreadRuntimeMakesTheSameChoices) {
  auto b = [] {
    return kyoto::runtime::builder::multi_thread().worker_threads(1).rng_seed(9);
  };
  EXPECT_EQ(winners_on(b()), winners_on(b()));
}

TEST(RngSeed, UnseededRuntimesDoNotRepeatEachOther) {
  // Without a seed each runtime's thread draws on: two runs differ.
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  const auto first = rt.block_on(select_winners(200));
  const auto second = rt.block_on(select_winners(200));
  EXPECT_NE(first, second);
}

}  // namespace
