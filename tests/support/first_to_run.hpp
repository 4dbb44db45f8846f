// Test helper for the deterministic runtime's tests: which of `n` tasks,
// spawned in order 0..n-1, runs first. Under a deterministic runtime it
// depends on the seed (any runnable task may run next); under a FIFO
// scheduler it is always 0.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>

#include <memory>
#include <vector>

namespace kyoto::test {

/// Spawns tasks 0..n-1, awaits them all, and gives the index of the first
/// one that ran.
inline kyoto::task<int> first_to_run(int n) {
  auto first = std::make_shared<int>(-1);
  std::vector<kyoto::join_handle<void>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(kyoto::spawn(
        [](int me, std::shared_ptr<int> f) -> kyoto::task<> {
          if (*f < 0) *f = me;
          co_return;
        },
        i, first));
  }
  for (auto& h : hs)
    co_await h;
  co_return *first;
}

}  // namespace kyoto::test
