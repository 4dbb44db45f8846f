// KYOTO_TEST_SEEDS: the body runs under N seeds on a deterministic runtime,
// KYOTO_SEEDS and KYOTO_SEED in the environment change which, and the first
// failing seed is reported with the command that replays it.
#include "first_to_run.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest-spi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> seeds_seen;

kyoto::task<> record_seed() {
  seeds_seen.push_back(kyoto::test::current_seed());
  co_return;
}

/// Fails unless task 0 of three is the first to run: true for some seeds.
kyoto::task<> fails_unless_task_zero_runs_first() {
  const int first = co_await kyoto::test::first_to_run(3);
  EXPECT_EQ(first, 0) << "task " << first << " ran first";
}

/// Whether the body above fails under `seed`.
bool fails_under(std::uint64_t seed) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter capture(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    kyoto::detail::run_test_body(kyoto::runtime::builder::deterministic(seed),
                                 &fails_unless_task_zero_runs_first);
  }
  return results.size() != 0;
}

/// Sets an environment variable for a scope.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
};

TEST(KyotoTestSeeds, TheBodyRunsOnceUnderEachSeedFromZero) {
  seeds_seen.clear();
  kyoto::detail::run_test_body_seeds(5, &record_seed);
  EXPECT_EQ(seeds_seen, (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(kyoto::test::current_seed(), 0u);
}

TEST(KyotoTestSeeds, KyotoSeedsInTheEnvironmentSetsTheCount) {
  scoped_env count("KYOTO_SEEDS", "3");
  seeds_seen.clear();
  kyoto::detail::run_test_body_seeds(100, &record_seed);
  EXPECT_EQ(seeds_seen, (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST(KyotoTestSeeds, KyotoSeedInTheEnvironmentReplaysOneSeed) {
  scoped_env one("KYOTO_SEED", "12345");
  seeds_seen.clear();
  kyoto::detail::run_test_body_seeds(100, &record_seed);
  EXPECT_EQ(seeds_seen, (std::vector<std::uint64_t>{12345}));
}

TEST(KyotoTestSeeds, ABadSeedInTheEnvironmentFailsNamingTheVariable) {
  scoped_env one("KYOTO_SEED", "twelve");
  seeds_seen.clear();
  EXPECT_NONFATAL_FAILURE(kyoto::detail::run_test_body_seeds(1, &record_seed), "KYOTO_SEED");
  EXPECT_TRUE(seeds_seen.empty());
}

TEST(KyotoTestSeeds, AFailingSeedIsReportedWithTheCommandThatReplaysIt) {
  std::optional<std::uint64_t> failing;
  for (std::uint64_t seed = 0; seed < 50 && !failing; ++seed) {
    if (fails_under(seed)) failing = seed;
  }
  ASSERT_TRUE(failing.has_value()) << "no seed below 50 runs task 1 or 2 first";
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter capture(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    kyoto::detail::run_test_body_seeds(50, &fails_unless_task_zero_runs_first);
  }
  // The body's own failure, with its seed, then the report; nothing after
  // the first failing seed.
  ASSERT_EQ(results.size(), 2);
  const std::string body = results.GetTestPartResult(0).message();
  const std::string report = results.GetTestPartResult(1).message();
  const std::string seed = std::to_string(*failing);
  EXPECT_NE(body.find("ran first"), std::string::npos) << body;
  EXPECT_NE(body.find("[KYOTO_TEST_SEEDS seed " + seed + "]"), std::string::npos) << body;
  EXPECT_NE(report.find("failed under seed " + seed + " "), std::string::npos) << report;
  EXPECT_NE(report.find("KYOTO_SEED=" + seed + " /"), std::string::npos) << report;
  EXPECT_NE(report.find(" --gtest_filter=KyotoTestSeeds."
                        "AFailingSeedIsReportedWithTheCommandThatReplaysIt"),
            std::string::npos)
      << report;
  // The printed seed replays the failure.
  EXPECT_TRUE(fails_under(*failing));
  scoped_env replay("KYOTO_SEED", seed.c_str());
  EXPECT_NONFATAL_FAILURE(
      kyoto::detail::run_test_body_seeds(50, &fails_unless_task_zero_runs_first), "ran first");
}

KYOTO_TEST_SEEDS(KyotoTestSeeds, TheMacroRunsTheBodyOnADeterministicRuntime, 4) {
  const auto start = kyoto::time::clock::now();
  const auto here = std::this_thread::get_id();
  auto other = co_await kyoto::spawn([]() -> kyoto::task<std::thread::id> {
    co_await kyoto::time::sleep(1h);
    co_return std::this_thread::get_id();
  });
  EXPECT_EQ(other, here);                            // one thread
  EXPECT_EQ(kyoto::time::clock::now() - start, 1h);  // paused, auto-advancing
}

}  // namespace
