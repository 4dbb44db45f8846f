// The work-stealing run queue: FIFO for its owner, overflow to the injection
// queue in halves, stealers take half; concurrently, every task comes out
// exactly once. Capacity 4 reaches the full/overflow/steal edges at once.
#include "scheduler/multi_thread/local_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using kyoto::detail::local_queue;
using kyoto::detail::task_header;
using kyoto::detail::task_queue;

namespace {

/// Collects overflow, as the injection queue would.
class sink final : public kyoto::detail::overflow_sink {
 public:
  void push_batch(task_queue batch) noexcept override {
    std::lock_guard guard(mutex_);
    batches.push_back(batch.size());
    while (task_header* t = batch.pop_front())
      tasks.push_back(t);
  }
  std::mutex mutex_;
  std::vector<task_header*> tasks;
  std::vector<std::size_t> batches;
};

/// Headers that are never run: only their addresses travel through queues.
std::vector<std::unique_ptr<task_header>> make_tasks(std::size_t n) {
  std::vector<std::unique_ptr<task_header>> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(std::make_unique<task_header>(nullptr, nullptr));
  return v;
}

TEST(LocalQueue, PopsInPushOrder) {
  local_queue<256> q;
  sink overflow;
  auto tasks = make_tasks(100);
  for (auto& t : tasks)
    q.push_back(t.get(), overflow);
  EXPECT_EQ(q.len(), 100u);
  for (auto& t : tasks)
    EXPECT_EQ(q.pop(), t.get());
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(overflow.tasks.empty());
}

TEST(LocalQueue, AFullQueueMovesHalfAndTheNewTaskToOverflowInOneBatch) {
  local_queue<4> q;
  sink overflow;
  auto tasks = make_tasks(5);
  for (int i = 0; i < 5; ++i)
    q.push_back(tasks[static_cast<std::size_t>(i)].get(), overflow);
  ASSERT_EQ(overflow.batches, std::vector<std::size_t>{3});  // 4 / 2 + the new one
  EXPECT_EQ(overflow.tasks[0], tasks[0].get());
  EXPECT_EQ(overflow.tasks[1], tasks[1].get());
  EXPECT_EQ(overflow.tasks[2], tasks[4].get());
  EXPECT_EQ(q.pop(), tasks[2].get());
  EXPECT_EQ(q.pop(), tasks[3].get());
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(LocalQueue, AStealTakesHalfAndReturnsOne) {
  local_queue<256> victim;
  local_queue<256> thief;
  sink overflow;
  auto tasks = make_tasks(10);
  for (auto& t : tasks)
    victim.push_back(t.get(), overflow);
  task_header* first = victim.make_stealer().steal_into(thief);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(victim.len(), 5u);
  EXPECT_EQ(thief.len(), 4u);  // 5 stolen, one returned
  std::set<task_header*> seen{first};
  while (task_header* t = victim.pop())
    EXPECT_TRUE(seen.insert(t).second);
  while (task_header* t = thief.pop())
    EXPECT_TRUE(seen.insert(t).second);
  EXPECT_EQ(seen.size(), 10u);
}

TEST(LocalQueue, StealingFromAnEmptyQueueGetsNothing) {
  local_queue<4> victim;
  local_queue<4> thief;
  EXPECT_EQ(victim.make_stealer().steal_into(thief), nullptr);
  EXPECT_TRUE(thief.empty());
}

/// The owner pushes and pops while two stealers steal; every task must
/// come out exactly once (ran by someone, or overflowed).
template <std::uint32_t Capacity>
void stress(std::size_t n) {
  local_queue<Capacity> owner_q;
  const kyoto::detail::stealer<Capacity> thieves = owner_q.make_stealer();
  sink overflow;
  auto tasks = make_tasks(n);
  std::vector<std::atomic<int>> seen(n);
  auto index_of = [&](task_header* t) {
    for (std::size_t i = 0; i < n; ++i) {
      if (tasks[i].get() == t) return i;
    }
    return n;
  };
  std::atomic<bool> done{false};
  auto mark = [&](task_header* t) {
    const std::size_t i = index_of(t);
    ASSERT_LT(i, n);
    seen[i].fetch_add(1);
  };
  std::vector<std::thread> stealers;
  for (int s = 0; s < 2; ++s) {
    stealers.emplace_back([&] {
      local_queue<Capacity> mine;
      sink ignored;
      while (!done.load()) {
        if (task_header* t = thieves.steal_into(mine)) {
          mark(t);
          while (task_header* u = mine.pop())
            mark(u);
        }
      }
      while (task_header* u = mine.pop())
        mark(u);
    });
  }
  for (std::size_t i = 0; i < n; ++i) {
    owner_q.push_back(tasks[i].get(), overflow);
    if (i % 3 == 0) {
      if (task_header* t = owner_q.pop()) mark(t);
    }
  }
  while (task_header* t = owner_q.pop())
    mark(t);
  done = true;
  for (auto& t : stealers)
    t.join();
  for (task_header* t : overflow.tasks)
    mark(t);
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(seen[i].load(), 1) << "task " << i;
}

TEST(LocalQueue, ConcurrentStealsAndOverflowLoseAndDuplicateNothingAtCapacity4) {
  for (int round = 0; round < 20; ++round)
    stress<4>(2'000);
}

TEST(LocalQueue, ConcurrentStealsAndOverflowLoseAndDuplicateNothingAtCapacity256) {
  for (int round = 0; round < 5; ++round)
    stress<256>(5'000);
}

}  // namespace
