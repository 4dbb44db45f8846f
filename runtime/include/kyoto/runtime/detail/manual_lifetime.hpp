// Storage for one object whose lifetime its owner manages by hand: the one
// place kyoto writes aligned raw bytes, placement new, std::launder and an
// explicit destructor call (cppcoro's manual_lifetime).
#pragma once

#include <memory>
#include <new>
#include <utility>

namespace kyoto::detail {

/// Room for a `T` that is constructed and destroyed explicitly. It does not
/// know whether it holds an object: the owner tracks that (a state word, a
/// flag, a phase) and must destroy what it constructed. Not thread-safe.
template <class T>
class manual_lifetime {
 public:
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): raw storage, see construct()
  manual_lifetime() noexcept {}
  manual_lifetime(const manual_lifetime&) = delete;
  manual_lifetime& operator=(const manual_lifetime&) = delete;
  ~manual_lifetime() {}

  /// Constructs the object from `args`; there must be none yet.
  template <class... Args>
  T& construct(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
    return *::new (static_cast<void*>(bytes_)) T(std::forward<Args>(args)...);
  }

  /// Constructs the object from what `make()` returns (guaranteed copy
  /// elision: for types that are neither copyable nor movable).
  template <class F>
  T& construct_from(F&& make) {
    return *::new (static_cast<void*>(bytes_)) T(std::forward<F>(make)());
  }

  /// Destroys the object, which must exist.
  void destroy() noexcept { std::destroy_at(get()); }

  T* get() noexcept { return std::launder(reinterpret_cast<T*>(bytes_)); }
  const T* get() const noexcept { return std::launder(reinterpret_cast<const T*>(bytes_)); }
  T& operator*() noexcept { return *get(); }
  const T& operator*() const noexcept { return *get(); }
  T* operator->() noexcept { return get(); }
  const T* operator->() const noexcept { return get(); }

  /// The raw bytes (for storage that holds something else before `T`).
  void* raw() noexcept { return bytes_; }

 private:
  alignas(T) unsigned char bytes_[sizeof(T)];
};

}  // namespace kyoto::detail
