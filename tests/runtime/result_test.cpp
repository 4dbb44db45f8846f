// kyoto::result: the std::expected-shaped return of fallible operations.
#include "errors.hpp"

#include <kyoto/runtime/result.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct oops {
  int code;
  const char* what() const noexcept { return "oops happened"; }
  friend bool operator==(const oops&, const oops&) = default;
};

using kyoto::result;
using kyoto::unexpected;

TEST(Result, HoldsAValue) {
  result<int, oops> r = 5;
  EXPECT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(*r, 5);
  EXPECT_TRUE(r == 5);
  EXPECT_FALSE(r == 6);
  EXPECT_FALSE(r == unexpected(oops{1}));
}

TEST(Result, HoldsAnError) {
  result<int, oops> r = unexpected(oops{7});
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, 7);
  EXPECT_TRUE(r == unexpected(oops{7}));
  EXPECT_FALSE(r == 7);
  EXPECT_EQ(std::move(r).value_or(3), 3);
}

TEST(Result, ValueOnAnErrorThrowsSayingWhatHappened) {
  result<int, oops> r = unexpected(oops{1});
  kyoto::test::expect_throws<kyoto::bad_result_access>(
      [&] { (void)r.value(); }, kyoto::test::whole_message("kyoto::result::value: oops happened"));
}

TEST(Result, ExpectPrefixesItsMessage) {
  result<std::string, oops> r = unexpected(oops{1});
  kyoto::test::expect_throws<kyoto::bad_result_access>(
      [&] { (void)std::move(r).expect("loading the config"); },
      kyoto::test::whole_message("loading the config: oops happened"));
  result<std::string, oops> ok = std::string("fine");
  EXPECT_EQ(ok.expect("unused"), "fine");
  EXPECT_EQ(std::move(ok).expect("unused"), "fine");
}

TEST(Result, VoidResultsReportErrorsToo) {
  result<void, oops> ok;
  EXPECT_TRUE(ok.has_value());
  ok.value();
  ok.expect("fine");
  result<void, oops> bad = unexpected(oops{2});
  EXPECT_FALSE(bad.has_value());
  EXPECT_TRUE(bad == unexpected(oops{2}));
  EXPECT_THROW(bad.value(), kyoto::bad_result_access);
  EXPECT_THROW(bad.expect("x"), kyoto::bad_result_access);
}

TEST(Result, MoveOnlyValuesAndErrorsMove) {
  result<std::unique_ptr<int>, oops> r = std::make_unique<int>(4);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 4);
  result<int, std::unique_ptr<int>> e = unexpected(std::make_unique<int>(9));
  auto copy = std::move(e);
  EXPECT_EQ(*copy.error(), 9);
}

TEST(Result, CopiesAndAssignmentsKeepTheActiveMember) {
  result<std::string, oops> a = std::string("a");
  result<std::string, oops> b = unexpected(oops{3});
  result<std::string, oops> c = a;
  EXPECT_EQ(c.value(), "a");
  c = b;
  EXPECT_EQ(c.error().code, 3);
  c = a;
  EXPECT_EQ(c.value(), "a");
}

}  // namespace
