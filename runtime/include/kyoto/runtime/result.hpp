// kyoto::result<T, E>: a value or an error, where tokio returns Result.
//
// Shaped like C++23's std::expected (has_value(), value(), error(),
// operator*, operator->, value_or), so a tokio loop over Ok/Err ports
// without try/catch and moves to std::expected later with few edits.
// value() on an error throws kyoto::bad_result_access whose message says
// what happened; expect(msg) is the port of Rust's .expect(msg).
//
// Error types describe themselves with `what()` (kyoto's error types all
// do); any other E is reported by type only.
#pragma once

#include <concepts>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto {

/// Thrown by result::value() (and expect()) when the result holds an error.
class bad_result_access : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Wraps an error to construct a result holding it (std::unexpected).
template <class E>
class unexpected {
 public:
  explicit unexpected(E e) : error_(std::move(e)) {}
  E& error() & noexcept { return error_; }
  E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

namespace detail {

template <class E>
std::string describe_error(const E& e) {
  if constexpr (requires { { e.what() } -> std::convertible_to<std::string_view>; }) {
    return std::string(std::string_view(e.what()));
  } else {
    return "an error value";
  }
}

[[noreturn]] void throw_bad_result_access(std::string message);

}  // namespace detail

/// A T, or an error E explaining why there is none. Not thread-safe.
template <class T, class E>
class [[nodiscard]] result {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T>
    requires std::constructible_from<T, U&&> && (!std::is_same_v<std::remove_cvref_t<U>, result>)
  result(U&& v) : storage_(std::in_place_index<0>, std::forward<U>(v)) {}
  result(unexpected<E> e) : storage_(std::in_place_index<1>, std::move(e).error()) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check();
    return *std::get_if<0>(&storage_);
  }
  const T& value() const& {
    check();
    return *std::get_if<0>(&storage_);
  }
  T&& value() && {
    check();
    return std::move(*std::get_if<0>(&storage_));
  }

  /// The value, or a bad_result_access whose message is "`message`: the
  /// error" (Rust's expect).
  T expect(std::string_view message) && {
    if (!has_value()) detail::throw_bad_result_access(std::string(message) + ": " + error_text());
    return std::move(*std::get_if<0>(&storage_));
  }

  template <class U>
  T value_or(U&& other) && {
    return has_value() ? std::move(*std::get_if<0>(&storage_))
                       : static_cast<T>(std::forward<U>(other));
  }

  /// Precondition: !has_value().
  E& error() & noexcept { return *std::get_if<1>(&storage_); }
  const E& error() const& noexcept { return *std::get_if<1>(&storage_); }
  E&& error() && noexcept { return std::move(*std::get_if<1>(&storage_)); }

  /// Precondition: has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&storage_)); }
  T* operator->() noexcept { return std::get_if<0>(&storage_); }
  const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

 private:
  std::string error_text() const { return detail::describe_error(error()); }
  void check() const {
    if (!has_value()) detail::throw_bad_result_access("kyoto::result::value: " + error_text());
  }

  std::variant<T, E> storage_;
};

/// Success without a value, or an error E.
template <class E>
class [[nodiscard]] result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  result() noexcept = default;
  result(unexpected<E> e) : error_(std::move(e).error()), ok_(false) {}

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  /// Throws bad_result_access if this holds an error.
  void value() const {
    if (!ok_) {
      detail::throw_bad_result_access("kyoto::result::value: " + detail::describe_error(error()));
    }
  }

  /// Throws bad_result_access ("`message`: the error") on an error.
  void expect(std::string_view message) const {
    if (!ok_) {
      detail::throw_bad_result_access(std::string(message) + ": " +
                                      detail::describe_error(error()));
    }
  }

  void operator*() const noexcept {}

  /// Precondition: !has_value().
  E& error() & noexcept { return *error_; }
  const E& error() const& noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

 private:
  std::optional<E> error_;
  bool ok_ = true;
};

}  // namespace kyoto
