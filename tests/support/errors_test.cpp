// The test helpers of errors.hpp fail the test when they should: nothing
// thrown, another type thrown, or a message without the expected part.
#include "errors.hpp"

#include <kyoto/runtime.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>

namespace {

kyoto::task<int> throws_logic_error() {
  co_await kyoto::yield_now();
  throw std::logic_error("the part here");
}

kyoto::task<int> returns_one() {
  co_return 1;
}

void run(kyoto::task<> t) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on(std::move(t));
}

TEST(ExpectThrows, PassesOnTheExpectedTypeAndMessageAndGivesTheException) {
  const auto e = kyoto::test::expect_throws<std::logic_error>(
      [] { throw std::logic_error("abc def"); }, "c d");
  ASSERT_TRUE(e.has_value());
  EXPECT_STREQ(e->what(), "abc def");
  kyoto::test::expect_throws<std::logic_error>([] { throw std::logic_error("abc"); },
                                               kyoto::test::whole_message("abc"));
}

TEST(ExpectThrows, FailsWhenNothingIsThrown) {
  EXPECT_NONFATAL_FAILURE(kyoto::test::expect_throws<std::logic_error>([] {}, "x"),
                          "nothing thrown; expected std::logic_error");
}

TEST(ExpectThrows, FailsNamingAnotherTypeThrown) {
  EXPECT_NONFATAL_FAILURE(
      kyoto::test::expect_throws<std::logic_error>([] { throw std::runtime_error("rt"); }, "x"),
      "threw std::runtime_error (\"rt\")");
  EXPECT_NONFATAL_FAILURE(kyoto::test::expect_throws<std::logic_error>([] { throw 1; }, "x"),
                          "not a std::exception");
}

TEST(ExpectThrows, FailsWhenTheMessageLacksThePart) {
  EXPECT_NONFATAL_FAILURE(
      kyoto::test::expect_throws<std::logic_error>([] { throw std::logic_error("abc"); }, "zzz"),
      "does not contain \"zzz\"");
  EXPECT_NONFATAL_FAILURE(
      kyoto::test::expect_throws<std::logic_error>([] { throw std::logic_error("abcd"); },
                                                   kyoto::test::whole_message("abc")),
      "is not \"abc\"");
}

TEST(ExpectThrowsAsync, PassesOnAThrowInsideTheAwait) {
  run([]() -> kyoto::task<> {
    co_await kyoto::test::expect_throws_async<std::logic_error>([] { return throws_logic_error(); },
                                                                "part");
  }());
}

TEST(ExpectThrowsAsync, FailsWhenNothingIsThrownAnotherTypeIsOrTheMessageLacksThePart) {
  EXPECT_NONFATAL_FAILURE(run([]() -> kyoto::task<> {
                            co_await kyoto::test::expect_throws_async<std::logic_error>(
                                [] { return returns_one(); }, "part");
                          }()),
                          "nothing thrown");
  EXPECT_NONFATAL_FAILURE(run([]() -> kyoto::task<> {
                            co_await kyoto::test::expect_throws_async<std::runtime_error>(
                                [] { return throws_logic_error(); }, "part");
                          }()),
                          "threw std::logic_error");
  EXPECT_NONFATAL_FAILURE(run([]() -> kyoto::task<> {
                            co_await kyoto::test::expect_throws_async<std::logic_error>(
                                [] { return throws_logic_error(); }, "nope");
                          }()),
                          "does not contain \"nope\"");
}

}  // namespace
