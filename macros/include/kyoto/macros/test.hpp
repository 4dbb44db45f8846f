// KYOTO_TEST: a GoogleTest test whose body is a coroutine run on a fresh
// runtime (tokio's #[tokio::test]).
//
//   KYOTO_TEST(Mpsc, RecvGetsWhatWasSent) {
//     auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
//     KYOTO_ASSERT_TRUE((co_await tx.send(1)).has_value());
//     EXPECT_EQ(co_await rx.recv(), 1);
//   }
//
// EXPECT_* work as usual. GoogleTest's ASSERT_* end the test with `return`,
// which a coroutine may not use; KYOTO_ASSERT_* are the same assertions
// ending it with `co_return` (folly's CO_ASSERT_* do the same). An exception
// escaping the body fails the test with its message.
//
// KYOTO_TEST_SEEDS(Suite, Name, N) runs the body N times, on a deterministic
// runtime (runtime::builder::deterministic) seeded 0, 1, ..., N-1: each seed
// is one reproducible interleaving of the body's tasks. The environment
// overrides N: KYOTO_SEEDS=<count> runs that many seeds, KYOTO_SEED=<seed>
// only that one (the replay). The first seed that fails stops the test,
// which then reports the seed and the command that replays it:
//
//   KYOTO_SEED=17 /path/to/test --gtest_filter=Suite.Name
//
// and every failure inside the body carries the seed.
/// \file
/// KYOTO_TEST and KYOTO_TEST_WITH: GoogleTest tests whose body is a
/// coroutine (tokio's #[tokio::test]), and the KYOTO_ASSERT_* assertions
/// that end such a body; see the comment at the top of this header.
#pragma once

#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/task.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace kyoto::detail {

/// Runs a KYOTO_TEST body on a runtime made by `builder`.
inline void run_test_body(const runtime::builder& builder, task<> (*body)()) {
  try {
    runtime rt = builder.build();
    rt.block_on(body());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the test body ended with an exception: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "the test body ended with an exception (not a std::exception)";
  }
}

/// The seed of the KYOTO_TEST_SEEDS run in progress on this thread.
inline thread_local std::uint64_t test_seed = 0;

/// The unsigned number in the environment variable `name`; nullopt if it
/// is unset or empty. Throws std::invalid_argument naming the variable if
/// it is not a number.
inline std::optional<std::uint64_t> number_from_env(const char* name) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before the seeds run; nothing sets the environment
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 0);
  if (errno != 0 || *end != '\0' || *text == '-') {
    throw std::invalid_argument(std::string("KYOTO_TEST_SEEDS: ") + name + "=\"" + text +
                                "\" is not an unsigned number");
  }
  return static_cast<std::uint64_t>(v);
}

/// The command that runs the current test alone under `seed`.
inline std::string replay_command(std::uint64_t seed) {
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) exe = "<the test program>";
  // A program rebuilt while it runs reads as "path (deleted)".
  const std::string deleted = " (deleted)";
  if (exe.size() > deleted.size() && exe.ends_with(deleted))
    exe.resize(exe.size() - deleted.size());
  std::string filter;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    filter = std::string(" --gtest_filter=") + info->test_suite_name() + "." + info->name();
  }
  // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on
  // "literal" + std::string, in the user's build.
  std::string command = "KYOTO_SEED=";
  command.append(std::to_string(seed)).append(" ").append(exe).append(filter);
  return command;
}

/// Runs a KYOTO_TEST_SEEDS body under `count` seeds (see the file comment):
/// stops at, and reports, the first seed under which it fails. Each seed's
/// results are captured, then reported again with the seed added (a
/// failure inside a body names its seed).
inline void run_test_body_seeds(std::uint64_t count, task<> (*body)()) {
  std::uint64_t first = 0;
  try {
    if (auto n = number_from_env("KYOTO_SEEDS")) count = *n;
    if (auto one = number_from_env("KYOTO_SEED")) {
      first = *one;
      count = 1;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return;
  }
  for (std::uint64_t seed = first; seed - first < count; ++seed) {
    test_seed = seed;
    ::testing::TestPartResultArray results;
    {
      ::testing::ScopedFakeTestPartResultReporter capture(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
      run_test_body(runtime::builder::deterministic(seed), body);
    }
    bool failed = false;
    for (int i = 0; i < results.size(); ++i) {
      const ::testing::TestPartResult& r = results.GetTestPartResult(i);
      failed = failed || r.failed();
      const std::string message =
          std::string(r.message()) + "\n[KYOTO_TEST_SEEDS seed " + std::to_string(seed) + "]";
      GTEST_MESSAGE_AT_(r.file_name() != nullptr ? r.file_name() : "", r.line_number(),
                        message.c_str(), r.type());
    }
    if (failed) {
      ADD_FAILURE() << "KYOTO_TEST_SEEDS: failed under seed " << seed << " (seeds " << first << ".."
                    << first + count - 1 << "); replay it with:\n  " << replay_command(seed);
      break;
    }
  }
  test_seed = 0;
}

}  // namespace kyoto::detail

namespace kyoto::test {

/// The seed the calling thread's KYOTO_TEST_SEEDS body runs under (0
/// outside one): to log it, or to derive the body's own random inputs from
/// it so that a replay repeats them too. The calling thread only.
inline std::uint64_t current_seed() noexcept {
  return kyoto::detail::test_seed;
}

}  // namespace kyoto::test

/// A KYOTO_TEST on the runtime `builder` makes.
#define KYOTO_TEST_WITH(Suite, Name, builder)                                            \
  static ::kyoto::task<> kyoto_detail_test_body_##Suite##_##Name();                      \
  TEST(Suite, Name) {                                                                    \
    ::kyoto::detail::run_test_body((builder), &kyoto_detail_test_body_##Suite##_##Name); \
  }                                                                                      \
  static ::kyoto::task<> kyoto_detail_test_body_##Suite##_##Name()

/// A KYOTO_TEST run under `count` seeds, each on a deterministic runtime
/// (runtime::builder::deterministic(seed), seeds 0..count-1). KYOTO_SEEDS=n
/// in the environment runs n seeds instead; KYOTO_SEED=s runs seed s only.
/// A failure names its seed and prints the command that replays it.
#define KYOTO_TEST_SEEDS(Suite, Name, count)                                                 \
  static ::kyoto::task<> kyoto_detail_test_body_##Suite##_##Name();                          \
  TEST(Suite, Name) {                                                                        \
    ::kyoto::detail::run_test_body_seeds((count), &kyoto_detail_test_body_##Suite##_##Name); \
  }                                                                                          \
  static ::kyoto::task<> kyoto_detail_test_body_##Suite##_##Name()

/// A GoogleTest test whose body is a coroutine on a multi_thread runtime
/// (as many workers as cores; unlike tokio's #[tokio::test], whose default
/// is current_thread: use KYOTO_TEST_WITH for that).
#define KYOTO_TEST(Suite, Name) \
  KYOTO_TEST_WITH(Suite, Name, ::kyoto::runtime::builder::multi_thread())

// The fatal assertions, ending the coroutine with co_return.
#define KYOTO_DETAIL_FATAL_FAILURE(message) \
  co_return GTEST_MESSAGE_(message, ::testing::TestPartResult::kFatalFailure)

/// GoogleTest's ASSERT_TRUE, ASSERT_FALSE, ASSERT_EQ, ASSERT_NE, ASSERT_LT,
/// ASSERT_LE, ASSERT_GT and ASSERT_GE for a coroutine body (KYOTO_TEST,
/// or any kyoto::task<>): a failure is recorded as fatal and ends the body
/// with `co_return` instead of `return`.
///@{
#define KYOTO_ASSERT_TRUE(condition) \
  GTEST_TEST_BOOLEAN_(condition, #condition, false, true, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_FALSE(condition) \
  GTEST_TEST_BOOLEAN_(!(condition), #condition, true, false, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_EQ(val1, val2)                                       \
  GTEST_PRED_FORMAT2_(::testing::internal::EqHelper::Compare, val1, val2, \
                      KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_NE(val1, val2) \
  GTEST_PRED_FORMAT2_(::testing::internal::CmpHelperNE, val1, val2, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_LT(val1, val2) \
  GTEST_PRED_FORMAT2_(::testing::internal::CmpHelperLT, val1, val2, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_LE(val1, val2) \
  GTEST_PRED_FORMAT2_(::testing::internal::CmpHelperLE, val1, val2, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_GT(val1, val2) \
  GTEST_PRED_FORMAT2_(::testing::internal::CmpHelperGT, val1, val2, KYOTO_DETAIL_FATAL_FAILURE)
#define KYOTO_ASSERT_GE(val1, val2) \
  GTEST_PRED_FORMAT2_(::testing::internal::CmpHelperGE, val1, val2, KYOTO_DETAIL_FATAL_FAILURE)
///@}

/// GoogleTest's GTEST_SKIP for a coroutine body: records the test as
/// skipped and ends the body with `co_return` (GTEST_SKIP's `return` is
/// not allowed in a coroutine). `KYOTO_SKIP() << "why";`
#define KYOTO_SKIP() co_return GTEST_MESSAGE_("", ::testing::TestPartResult::kSkip)
