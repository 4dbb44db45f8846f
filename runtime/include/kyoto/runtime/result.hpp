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

#include <kyoto/runtime/detail/export.hpp>

#include <concepts>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto {

/// Thrown by result::value() (and expect()) when the result holds an error.
class KYOTO_EXPORT bad_result_access : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Wraps an error to construct a result holding it (std::unexpected).
template <class E>
class unexpected {
 public:
  /// Wraps the error `e`.
  explicit unexpected(E e) : error_(std::move(e)) {}
  /// The wrapped error (moved out of an rvalue).
  ///@{
  E& error() & noexcept { return error_; }
  const E& error() const& noexcept { return error_; }
  E&& error() && noexcept { return std::move(error_); }
  ///@}

 private:
  E error_;
};

namespace detail {

template <class E>
std::string describe_error(const E& e) {
  if constexpr (requires {
                  { e.what() } -> std::convertible_to<std::string_view>;
                }) {
    return std::string(std::string_view(e.what()));
  } else {
    return "an error value";
  }
}

[[noreturn]] KYOTO_EXPORT void throw_bad_result_access(const std::string& message);

/// Storage for result: a value (absent for void) or an error. Copies and
/// moves touch only the active member (a std::optional or std::variant of
/// trivially copyable types is copied whole, which GCC 12 reports as a read
/// of uninitialized memory at -O3).
template <class T, class E>
class result_base {
 protected:
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

  template <class... A>
  explicit result_base(std::in_place_index_t<0>, A&&... a) : ok_(true) {
    ::new (static_cast<void*>(std::addressof(value_))) stored(std::forward<A>(a)...);
  }
  template <class... A>
  explicit result_base(std::in_place_index_t<1>, A&&... a) : ok_(false) {
    ::new (static_cast<void*>(std::addressof(error_))) E(std::forward<A>(a)...);
  }
  result_base(const result_base& o) : ok_(o.ok_) {
    if (ok_) {
      ::new (static_cast<void*>(std::addressof(value_))) stored(o.value_);
    } else {
      ::new (static_cast<void*>(std::addressof(error_))) E(o.error_);
    }
  }
  result_base(result_base&& o) noexcept(std::is_nothrow_move_constructible_v<stored> &&
                                        std::is_nothrow_move_constructible_v<E>)
      : ok_(o.ok_) {
    if (ok_) {
      ::new (static_cast<void*>(std::addressof(value_))) stored(std::move(o.value_));
    } else {
      ::new (static_cast<void*>(std::addressof(error_))) E(std::move(o.error_));
    }
  }
  result_base& operator=(const result_base& o) {
    if (this != &o) {
      destroy();
      ::new (static_cast<void*>(this)) result_base(o);
    }
    return *this;
  }
  result_base& operator=(result_base&& o) noexcept(std::is_nothrow_move_constructible_v<stored> &&
                                                   std::is_nothrow_move_constructible_v<E>) {
    if (this != &o) {
      destroy();
      ::new (static_cast<void*>(this)) result_base(std::move(o));
    }
    return *this;
  }
  ~result_base() { destroy(); }

  void destroy() noexcept {
    if (ok_) {
      value_.~stored();
    } else {
      error_.~E();
    }
  }

  union {
    stored value_;
    E error_;
  };
  bool ok_;
};

}  // namespace detail

/// A T, or an error E explaining why there is none. Not thread-safe.
template <class T, class E>
class [[nodiscard]] result : private detail::result_base<T, E> {
  using base = detail::result_base<T, E>;

 public:
  /// The type of the value held on success.
  using value_type = T;
  /// The type of the error held on failure.
  using error_type = E;

  /// A result holding the value constructed from `v`.
  template <class U = T>
    requires std::constructible_from<T, U&&> && (!std::is_same_v<std::remove_cvref_t<U>, result>)
  result(U&& v) : base(std::in_place_index<0>, std::forward<U>(v)) {}
  /// A result holding the error wrapped in `e`.
  result(unexpected<E> e) : base(std::in_place_index<1>, std::move(e).error()) {}

  /// Whether this holds a value (not an error).
  bool has_value() const noexcept { return this->ok_; }
  /// has_value().
  explicit operator bool() const noexcept { return this->ok_; }

  /// The value (moved out of an rvalue result). Throws bad_result_access,
  /// whose message describes the error, if this holds an error.
  ///@{
  T& value() & {
    check();
    return this->value_;
  }
  const T& value() const& {
    check();
    return this->value_;
  }
  T&& value() && {
    check();
    return std::move(this->value_);
  }
  ///@}

  /// The value, or a bad_result_access whose message is "`message`: the
  /// error" (Rust's expect).
  ///@{
  T& expect(std::string_view message) & {
    check(message);
    return this->value_;
  }
  const T& expect(std::string_view message) const& {
    check(message);
    return this->value_;
  }
  T expect(std::string_view message) && {
    check(message);
    return std::move(this->value_);
  }
  ///@}

  /// The value moved out, or `other` converted to T if this holds an error.
  template <class U>
  T value_or(U&& other) && {
    return this->ok_ ? std::move(this->value_) : static_cast<T>(std::forward<U>(other));
  }

  /// The error (moved out of an rvalue result). Precondition: !has_value().
  ///@{
  E& error() & noexcept { return this->error_; }
  const E& error() const& noexcept { return this->error_; }
  E&& error() && noexcept { return std::move(this->error_); }
  ///@}

  /// Equal to a value: holds a value equal to it (std::expected's ==).
  template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, result>) &&
            requires(const T& t, const U& u) { t == u; }
  friend bool operator==(const result& r, const U& v) {
    return r.has_value() && *r == v;
  }
  /// Equal to an unexpected: holds an error equal to it.
  template <class G>
    requires requires(const E& e, const G& g) { e == g; }
  friend bool operator==(const result& r, const unexpected<G>& e) {
    return !r.has_value() && r.error() == e.error();
  }

  /// The value, unchecked (moved out of an rvalue result); operator->
  /// points to it. Precondition: has_value().
  ///@{
  T& operator*() & noexcept { return this->value_; }
  const T& operator*() const& noexcept { return this->value_; }
  T&& operator*() && noexcept { return std::move(this->value_); }
  T* operator->() noexcept { return std::addressof(this->value_); }
  const T* operator->() const noexcept { return std::addressof(this->value_); }
  ///@}

 private:
  void check(std::string_view context = "kyoto::result::value") const {
    if (!this->ok_) {
      detail::throw_bad_result_access(std::string(context) + ": " +
                                      detail::describe_error(this->error_));
    }
  }
};

/// Success without a value, or an error E.
template <class E>
class [[nodiscard]] result<void, E> : private detail::result_base<void, E> {
  using base = detail::result_base<void, E>;

 public:
  /// No value: void.
  using value_type = void;
  /// The type of the error held on failure.
  using error_type = E;

  /// A success.
  result() noexcept : base(std::in_place_index<0>) {}
  /// A result holding the error wrapped in `e`.
  result(unexpected<E> e) : base(std::in_place_index<1>, std::move(e).error()) {}

  /// Whether this is a success (not an error).
  bool has_value() const noexcept { return this->ok_; }
  /// has_value().
  explicit operator bool() const noexcept { return this->ok_; }

  /// Throws bad_result_access if this holds an error.
  void value() const {
    if (!this->ok_) {
      detail::throw_bad_result_access("kyoto::result::value: " +
                                      detail::describe_error(this->error_));
    }
  }

  /// Throws bad_result_access ("`message`: the error") on an error.
  void expect(std::string_view message) const {
    if (!this->ok_) {
      detail::throw_bad_result_access(std::string(message) + ": " +
                                      detail::describe_error(this->error_));
    }
  }

  /// Does nothing (std::expected<void, E>'s operator*, for generic code).
  void operator*() const noexcept {}

  /// Equal to an unexpected: holds an error equal to it.
  template <class G>
    requires requires(const E& e, const G& g) { e == g; }
  friend bool operator==(const result& r, const unexpected<G>& e) {
    return !r.has_value() && r.error() == e.error();
  }

  /// The error (moved out of an rvalue result). Precondition: !has_value().
  ///@{
  E& error() & noexcept { return this->error_; }
  const E& error() const& noexcept { return this->error_; }
  E&& error() && noexcept { return std::move(this->error_); }
  ///@}
};

}  // namespace kyoto
