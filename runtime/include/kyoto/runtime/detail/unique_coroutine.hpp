// Sole ownership of a coroutine frame (a unique_ptr for coroutine_handle):
// the branch coroutines of select and join hold their frames with it.
#pragma once

#include <coroutine>
#include <utility>

namespace kyoto::detail {

/// Owns a coroutine's frame: destroys it when reset or destroyed. Move-only.
/// Not thread-safe.
template <class Promise>
class unique_coroutine {
 public:
  using handle_type = std::coroutine_handle<Promise>;

  unique_coroutine() noexcept = default;
  explicit unique_coroutine(handle_type h) noexcept : h_(h) {}
  unique_coroutine(unique_coroutine&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  unique_coroutine& operator=(unique_coroutine&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  unique_coroutine(const unique_coroutine&) = delete;
  unique_coroutine& operator=(const unique_coroutine&) = delete;
  ~unique_coroutine() { reset(); }

  /// The frame, or null.
  handle_type get() const noexcept { return h_; }
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }
  /// Resumes the coroutine (which must exist and be suspended).
  void resume() const { h_.resume(); }
  /// Destroys the frame, if any.
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

 private:
  handle_type h_;
};

}  // namespace kyoto::detail
