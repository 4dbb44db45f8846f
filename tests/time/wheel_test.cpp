// The timer wheel against a reference model: every entry fires exactly
// once, never before its tick, never after the advance that passes it.
#include "time/wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

using kyoto::detail::timer_entry;
using kyoto::detail::timer_wheel;

namespace {

TEST(Wheel, LevelForMatchesTokio) {
  for (std::uint64_t pos = 0; pos < 64; ++pos)
    EXPECT_EQ(timer_wheel::level_for(0, pos), 0u);
  for (unsigned level = 1; level < 5; ++level) {
    for (std::uint64_t pos = level; pos < 64; ++pos) {
      std::uint64_t a = pos;
      for (unsigned i = 0; i < level; ++i)
        a *= 64;
      EXPECT_EQ(timer_wheel::level_for(0, a), level) << a;
      if (pos > level) {
        EXPECT_EQ(timer_wheel::level_for(0, a - 1), level) << a - 1;
      }
      EXPECT_EQ(timer_wheel::level_for(0, a + 1), level) << a + 1;
    }
  }
}

TEST(Wheel, AnEmptyWheelHasNoDeadline) {
  timer_wheel w;
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(w.next_deadline().has_value());
}

TEST(Wheel, NextDeadlineIsNeverLaterThanTheEarliestEntry) {
  timer_wheel w;
  timer_entry a, b;
  a.when = 5000;
  b.when = 70;
  w.insert(&a);
  w.insert(&b);
  ASSERT_TRUE(w.next_deadline().has_value());
  EXPECT_LE(*w.next_deadline(), 70u);
  std::vector<timer_entry*> fired;
  w.advance(69, [&](timer_entry* e) { fired.push_back(e); });
  EXPECT_TRUE(fired.empty());
  w.advance(70, [&](timer_entry* e) { fired.push_back(e); });
  EXPECT_EQ(fired, std::vector<timer_entry*>{&b});
  w.advance(4999, [&](timer_entry* e) { fired.push_back(e); });
  EXPECT_EQ(fired.size(), 1u);
  w.advance(5000, [&](timer_entry* e) { fired.push_back(e); });
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_TRUE(w.empty());
}

TEST(Wheel, RandomInsertsRemovesAndAdvancesMatchAReferenceModel) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 20; ++round) {
    timer_wheel w;
    std::vector<std::unique_ptr<timer_entry>> entries;
    std::multimap<std::uint64_t, timer_entry*> pending;  // the model
    std::uint64_t now = 0;
    for (int step = 0; step < 3000; ++step) {
      const auto op = rng() % 10;
      if (op < 6) {
        // Insert: mostly near, sometimes across levels, rarely very far.
        std::uint64_t delta = 1 + rng() % 100;
        if (op == 4) delta = 1 + rng() % 300'000;
        if (op == 5 && rng() % 20 == 0) delta = 1 + rng() % (std::uint64_t{1} << 40);
        auto e = std::make_unique<timer_entry>();
        e->when = w.elapsed() + delta;
        w.insert(e.get());
        pending.emplace(e->when, e.get());
        entries.push_back(std::move(e));
      } else if (op < 8 && !pending.empty()) {
        auto it = std::next(pending.begin(), static_cast<long>(rng() % pending.size()));
        w.remove(it->second);
        EXPECT_FALSE(it->second->linked);
        pending.erase(it);
      } else {
        now += rng() % 4 == 0 ? rng() % 70'000 : rng() % 50;
        std::set<timer_entry*> fired;
        w.advance(now, [&](timer_entry* e) {
          EXPECT_LE(e->when, now);
          EXPECT_FALSE(e->linked);
          EXPECT_TRUE(fired.insert(e).second) << "fired twice";
        });
        std::set<timer_entry*> expected;
        while (!pending.empty() && pending.begin()->first <= now) {
          expected.insert(pending.begin()->second);
          pending.erase(pending.begin());
        }
        EXPECT_EQ(fired, expected) << "round " << round << " step " << step << " now " << now;
        if (!pending.empty()) {
          ASSERT_TRUE(w.next_deadline().has_value());
          EXPECT_LE(*w.next_deadline(), pending.begin()->first);
          EXPECT_GT(*w.next_deadline(), now);
        }
      }
    }
    EXPECT_EQ(w.empty(), pending.empty());
  }
}

}  // namespace
