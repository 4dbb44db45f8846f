// Test helpers: calling or awaiting what must throw, and checking what it
// threw (expect_throws, expect_throws_async; error_of and expect_error for
// a std::system_error's code).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <gtest/gtest.h>

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace kyoto::test {

/// What an expected exception's what() must hold: a part of it (made from
/// a string; empty: anything) or, made by whole_message(), all of it.
struct message_check {
  std::string text;
  bool whole = false;

  message_check() = default;
  message_check(const char* part) : text(part) {}
  message_check(std::string_view part) : text(part) {}
  message_check(const std::string& part) : text(part) {}
};

/// An exception's what() must be `text`, all of it.
inline message_check whole_message(std::string_view text) {
  message_check m(text);
  m.whole = true;
  return m;
}

namespace detail {

inline std::string demangled(const std::type_info& type) {
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

/// Checks the message of the E that was thrown; gives it back.
template <class E>
std::optional<E> thrown(const E& e, const message_check& m, const std::source_location& at) {
  const std::string_view what = e.what();
  if (m.whole ? what != m.text : what.find(m.text) == std::string_view::npos) {
    ADD_FAILURE_AT(at.file_name(), static_cast<int>(at.line()))
        << "threw " << demangled(typeid(E)) << " as expected, but its message \"" << what << "\" "
        << (m.whole ? "is not" : "does not contain") << " \"" << m.text << "\"";
  }
  return e;
}

/// Fails the test: `other` (or nothing) was thrown instead of an E.
template <class E>
void not_thrown(const std::exception_ptr& other, const message_check& m,
                const std::source_location& at) {
  auto failure = [&]() -> std::string {
    if (!other) {
      return "nothing thrown";
    }
    try {
      std::rethrow_exception(other);
    } catch (const std::exception& e) {
      return "threw " + demangled(typeid(e)) + " (\"" + e.what() + "\")";
    } catch (...) {
      return "threw something that is not a std::exception";
    }
  }();
  ADD_FAILURE_AT(at.file_name(), static_cast<int>(at.line()))
      << failure << "; expected " << demangled(typeid(E)) << " with a message "
      << (m.whole ? "\"" : "containing \"") << m.text << "\"";
}

}  // namespace detail

/// Calls `f`; expects it to throw an E (or a type derived from it) whose
/// what() holds `message`. Fails the test (at the caller's line) if nothing
/// is thrown, something else is, or the message does not match; gives the
/// exception for further checks (empty if it was not thrown).
template <class E, class F>
std::optional<E> expect_throws(F&& f, const message_check& message = {},
                               std::source_location at = std::source_location::current()) {
  std::exception_ptr other;
  try {
    (void)std::forward<F>(f)();
  } catch (const E& e) {
    return detail::thrown(e, message, at);
  } catch (...) {
    other = std::current_exception();
  }
  detail::not_thrown<E>(other, message, at);
  return std::nullopt;
}

/// The same where the throw happens inside a co_await: awaits what `make()`
/// gives (a task, an awaiter, or a reference to an awaitable such as a
/// join_handle), as `co_await expect_throws_async<E>(make, message)`. `make`
/// is kept until the await ends, so it may be a coroutine lambda with
/// captures.
template <class E, class F>
kyoto::task<std::optional<E>> expect_throws_async(
    F make, message_check message = {}, std::source_location at = std::source_location::current()) {
  std::exception_ptr other;
  try {
    // Awaited through a name: GCC 12 copies an awaiter that a call returns
    // by reference (`co_await make()`), and some awaiters cannot be copied.
    auto&& awaitable = make();
    if constexpr (std::is_lvalue_reference_v<decltype(make())>) {
      (void)co_await awaitable;
    } else {
      (void)co_await std::move(awaitable);
    }
  } catch (const E& e) {
    co_return detail::thrown(e, message, at);
  } catch (...) {
    other = std::current_exception();
  }
  detail::not_thrown<E>(other, message, at);
  co_return std::nullopt;
}

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
  if (!e.has_value()) {
    FAIL() << "nothing thrown; expected errno " << err << " from " << operation;
  }
  expect_error(*e, err, operation);
}

/// Expects what error_of() gave to be `code` (a std::errc or a
/// kyoto::io::errc), with a message containing `part`; fails if nothing
/// was thrown.
template <class Code>
  requires(!std::is_integral_v<Code>)
void expect_error(const std::optional<std::system_error>& e, Code code,
                  std::string_view part = {}) {
  if (!e.has_value()) {
    FAIL() << "nothing thrown; expected \"" << part << "\"";
  }
  EXPECT_EQ(e->code(), code) << e->what();
  EXPECT_NE(std::string_view(e->what()).find(part), std::string_view::npos) << e->what();
}

}  // namespace kyoto::test
