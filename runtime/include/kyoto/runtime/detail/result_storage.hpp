// The slot a coroutine's outcome lands in: nothing yet, a value, an
// exception, or (for spawned tasks) cancellation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// Holds the outcome of a computation producing T (T may be void or a
/// reference). Not thread-safe; the owner's protocol orders accesses.
template <class T>
class result_storage {
  using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*,
                                    std::conditional_t<std::is_void_v<T>, char, T>>;

 public:
  enum class kind : unsigned char { empty, value, exception, cancelled };

  result_storage() noexcept {}
  result_storage(const result_storage&) = delete;
  result_storage& operator=(const result_storage&) = delete;
  ~result_storage() { reset(); }

  template <class... U>
  void set_value(U&&... v) {
    if constexpr (std::is_reference_v<T>) {
      ::new (static_cast<void*>(std::addressof(value_))) stored(std::addressof(v)...);
    } else if constexpr (!std::is_void_v<T>) {
      ::new (static_cast<void*>(std::addressof(value_))) stored(std::forward<U>(v)...);
    }
    kind_ = kind::value;
  }

  void set_exception(std::exception_ptr e) noexcept {
    ::new (static_cast<void*>(std::addressof(exception_))) std::exception_ptr(std::move(e));
    kind_ = kind::exception;
  }

  void set_cancelled() noexcept { kind_ = kind::cancelled; }

  kind state() const noexcept { return kind_; }

  /// Moves the outcome of `other` into this (empty) slot and empties it.
  void take_from(result_storage& other) noexcept(std::is_nothrow_move_constructible_v<stored>) {
    switch (other.kind_) {
      case kind::value:
        if constexpr (std::is_void_v<T>) {
          set_value();
        } else {
          ::new (static_cast<void*>(std::addressof(value_))) stored(std::move(other.value_));
          kind_ = kind::value;
        }
        break;
      case kind::exception:
        set_exception(std::move(other.exception_));
        break;
      case kind::cancelled:
        set_cancelled();
        break;
      case kind::empty:
        break;
    }
    other.reset();
  }

  /// The value (moved out), or the stored exception rethrown.
  /// Precondition: state() is value or exception.
  T take() {
    if (kind_ == kind::exception) std::rethrow_exception(exception_);
    if constexpr (std::is_reference_v<T>) {
      return static_cast<T>(*value_);
    } else if constexpr (!std::is_void_v<T>) {
      return std::move(value_);
    }
  }

  const std::exception_ptr& exception() const noexcept { return exception_; }

  /// Bytes (the value's and the exception's, which share storage) another
  /// object may occupy while the slot is empty: a spawned task keeps its
  /// callable here until the task completes (task_cell.hpp). The borrower
  /// destroys its object before anything is stored in the slot.
  static constexpr std::size_t scratch_size = sizeof(stored) > sizeof(std::exception_ptr)
                                                  ? sizeof(stored)
                                                  : sizeof(std::exception_ptr);
  static constexpr std::size_t scratch_align = alignof(stored) > alignof(std::exception_ptr)
                                                   ? alignof(stored)
                                                   : alignof(std::exception_ptr);
  void* scratch() noexcept { return static_cast<void*>(std::addressof(value_)); }

  /// While the slot is empty, its storage may hold one word: a task
  /// coroutine's promise keeps the await point it is suspended at here
  /// (detail/await_point.hpp), so that task dumps cost the promise no byte.
  /// The slot starts holding 0. Precondition: state() is empty.
  void park(std::uintptr_t word) noexcept { parked_ = word; }
  /// The word park() stored (0 if none). Precondition: state() is empty.
  std::uintptr_t parked() const noexcept { return parked_; }

  void reset() noexcept {
    if (kind_ == kind::value) {
      if constexpr (!std::is_trivially_destructible_v<stored>) value_.~stored();
    } else if (kind_ == kind::exception) {
      exception_.~exception_ptr();
    }
    kind_ = kind::empty;
  }

 private:
  union {
    stored value_;
    std::exception_ptr exception_;
    std::uintptr_t parked_ = 0;  ///< see park(); the member a new slot starts with
  };
  kind kind_ = kind::empty;
};

}  // namespace kyoto::detail
