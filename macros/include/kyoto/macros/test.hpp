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
/// \file
/// KYOTO_TEST and KYOTO_TEST_WITH: GoogleTest tests whose body is a
/// coroutine (tokio's #[tokio::test]), and the KYOTO_ASSERT_* assertions
/// that end such a body; see the comment at the top of this header.
#pragma once

#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/task.hpp>

#include <gtest/gtest.h>

#include <exception>

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

}  // namespace kyoto::detail

/// A KYOTO_TEST on the runtime `builder` makes.
#define KYOTO_TEST_WITH(Suite, Name, builder)                                            \
  static ::kyoto::task<> kyoto_detail_test_body_##Suite##_##Name();                      \
  TEST(Suite, Name) {                                                                    \
    ::kyoto::detail::run_test_body((builder), &kyoto_detail_test_body_##Suite##_##Name); \
  }                                                                                      \
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
