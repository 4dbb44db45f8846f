// The one implementation of a handle that holds a counted reference to
// shared state: copy adds a reference, move transfers it, destruction and
// reset drop it. Channel senders and receivers, join and abort handles,
// permits and the like build on it instead of repeating the five special
// members and reset().
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// A counted reference to a `T`. `Drop` (a `void (T::*)() noexcept`)
/// releases one reference; `Add` (a `void (T::*)()`, or `nullptr` for a
/// move-only handle) takes one more for a copy. The constructor adopts a
/// reference the caller already counted; a default-constructed or
/// moved-from handle holds none. Copying and moving are not thread-safe on
/// the same handle object (as for std::shared_ptr); different handles to
/// the same state are independent.
template <class T, auto Drop, auto Add = nullptr>
class counted_ref {
  // A type test, not `Add != nullptr`: GCC 12 under -fsanitize=undefined
  // does not treat a member-pointer comparison as a constant expression.
  static constexpr bool copyable = !std::is_same_v<decltype(Add), std::nullptr_t>;

 public:
  counted_ref() noexcept = default;
  /// Adopts a reference the caller counted.
  explicit counted_ref(T* p) noexcept : ptr_(p) {}

  counted_ref(const counted_ref& o) noexcept(noexcept(add(nullptr)))
    requires copyable
      : ptr_(o.ptr_) {
    add(ptr_);
  }
  counted_ref(counted_ref&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)) {}

  // NOLINTNEXTLINE(bugprone-unhandled-self-assignment): safe, counts `o` before dropping
  counted_ref& operator=(const counted_ref& o) noexcept(noexcept(add(nullptr)))
    requires copyable
  {
    T* const p = o.ptr_;  // `o` may be this one: count before dropping
    add(p);
    reset();
    ptr_ = p;
    return *this;
  }
  counted_ref& operator=(counted_ref&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
    }
    return *this;
  }
  ~counted_ref() { reset(); }

  /// Drops the reference, if any; the handle is then empty.
  void reset() noexcept {
    if (ptr_ != nullptr) (std::exchange(ptr_, nullptr)->*Drop)();
  }
  /// Gives up the reference without dropping it (the caller now owns it).
  [[nodiscard]] T* release() noexcept { return std::exchange(ptr_, nullptr); }

  T* get() const noexcept { return ptr_; }
  T* operator->() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

 private:
  static void add(T* p) noexcept(noexcept((std::declval<T&>().*Add)()))
    requires copyable
  {
    if (p != nullptr) (p->*Add)();
  }

  T* ptr_ = nullptr;
};

}  // namespace kyoto::detail
