// KYOTO_TEST and the KYOTO_ASSERT_* macros themselves.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest-spi.h>

#include <stdexcept>

namespace {

bool reached_after_assert = false;

kyoto::task<> body_with_failing_assert() {
  co_await kyoto::yield_now();
  KYOTO_ASSERT_EQ(1, 2) << "custom message";
  reached_after_assert = true;
}

kyoto::task<> body_with_failing_assert_true() {
  KYOTO_ASSERT_TRUE(false);
  reached_after_assert = true;
  co_return;
}

kyoto::task<> body_that_throws() {
  co_await kyoto::yield_now();
  throw std::runtime_error("thrown from a test body");
}

TEST(KyotoTestMacro, AFailingKyotoAssertIsFatalAndEndsTheBody) {
  reached_after_assert = false;
  EXPECT_FATAL_FAILURE(kyoto::detail::run_test_body(kyoto::runtime::builder::current_thread(),
                                                    &body_with_failing_assert),
                       "custom message");
  EXPECT_FALSE(reached_after_assert);
  EXPECT_FATAL_FAILURE(kyoto::detail::run_test_body(kyoto::runtime::builder::current_thread(),
                                                    &body_with_failing_assert_true),
                       "false");
  EXPECT_FALSE(reached_after_assert);
}

TEST(KyotoTestMacro, AnExceptionEscapingTheBodyFailsTheTestWithItsMessage) {
  EXPECT_NONFATAL_FAILURE(
      kyoto::detail::run_test_body(kyoto::runtime::builder::current_thread(), &body_that_throws),
      "thrown from a test body");
}

KYOTO_TEST(KyotoTestMacro, PassingAssertionsLetTheBodyContinue) {
  int steps = 0;
  KYOTO_ASSERT_TRUE(true);
  ++steps;
  KYOTO_ASSERT_FALSE(false);
  KYOTO_ASSERT_EQ(2, 2);
  KYOTO_ASSERT_NE(1, 2);
  KYOTO_ASSERT_LT(1, 2);
  KYOTO_ASSERT_LE(2, 2);
  KYOTO_ASSERT_GT(3, 2);
  KYOTO_ASSERT_GE(3, 3);
  ++steps;
  co_await kyoto::yield_now();
  EXPECT_EQ(steps, 2);
}

KYOTO_TEST(KyotoTestMacro, TheBodyRunsInsideARuntime) {
  kyoto::handle h = kyoto::handle::current();
  EXPECT_EQ(co_await h.spawn([]() -> kyoto::task<int> { co_return 4; }), 4);
}

KYOTO_TEST_WITH(KyotoTestMacro, TheWithFormTakesABuilder,
                kyoto::runtime::builder::current_thread().enable_all()) {
  co_await kyoto::yield_now();
  SUCCEED();
}

}  // namespace
