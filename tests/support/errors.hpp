// Test helpers: awaiting what must fail, and checking the
// std::system_error it threw.
#pragma once

#include <kyoto/runtime/task.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace kyoto::test {

/// Awaits `op` (a task or an awaiter); gives the std::system_error it
/// threw, if any.
template <class Op>
kyoto::task<std::optional<std::system_error>> error_of(Op op) {
  try {
    (void)co_await op;
  } catch (const std::system_error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

/// Expects `e` to carry errno `err` and a message naming `operation`.
inline void expect_error(const std::system_error& e, int err, std::string_view operation) {
  EXPECT_EQ(e.code(), std::error_code(err, std::system_category())) << e.what();
  EXPECT_NE(std::string(e.what()).find(operation), std::string::npos) << e.what();
}

/// The same for what error_of() gave; fails if nothing was thrown.
inline void expect_error(const std::optional<std::system_error>& e, int err,
                         std::string_view operation) {
  ASSERT_TRUE(e.has_value()) << "nothing thrown; expected errno " << err << " from " << operation;
  expect_error(*e, err, operation);
}

/// Expects what error_of() gave to be `code` (a std::errc or a
/// kyoto::io::errc), with a message containing `part`; fails if nothing
/// was thrown.
template <class Code>
  requires(!std::is_integral_v<Code>)
void expect_error(const std::optional<std::system_error>& e, Code code,
                  std::string_view part = {}) {
  ASSERT_TRUE(e.has_value()) << "nothing thrown; expected \"" << part << "\"";
  EXPECT_EQ(e->code(), code) << e->what();
  EXPECT_NE(std::string_view(e->what()).find(part), std::string_view::npos) << e->what();
}

}  // namespace kyoto::test
