// The counted references behind kyoto::sync::mpsc's handles: a strong
// sender keeps the channel open, a weak one keeps only its memory (the
// counts are explained in detail/chan.hpp), plus the misuse errors of the
// channel's public API.
#pragma once

#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <cstddef>

namespace kyoto::detail {

/// std::logic_error: a permit used after its send (or moved from).
[[noreturn]] KYOTO_EXPORT void throw_used_permit(const char* operation);

/// std::invalid_argument: mpsc::channel()'s capacity is 0 or too large.
[[noreturn]] KYOTO_EXPORT void throw_mpsc_bad_capacity(std::size_t capacity);

/// What both sender types share: a strong reference (it keeps the channel
/// open; tokio's clone()). A copy is another sender; a moved-from one is
/// empty.
template <class T>
class mpsc_sender_base
    : protected counted_ref<chan<T>, &chan<T>::drop_sender, &chan<T>::add_sender> {
  using base = counted_ref<chan<T>, &chan<T>::drop_sender, &chan<T>::add_sender>;

 protected:
  using base::base;

  /// The channel; throws std::logic_error naming `op` if moved from.
  chan<T>* checked(const char* op) const {
    if (this->get() == nullptr) throw_empty_handle(op);
    return this->get();
  }
};

/// What both weak sender types share: a reference that keeps the channel's
/// memory, not the channel open.
template <class T>
class mpsc_weak_base : protected counted_ref<chan<T>, &chan<T>::drop_weak, &chan<T>::add_weak> {
  using base = counted_ref<chan<T>, &chan<T>::drop_weak, &chan<T>::add_weak>;

 protected:
  using base::base;

  /// The channel if a strong sender could be added to it (one counted for
  /// the caller), else null; throws std::logic_error naming `op` if moved
  /// from.
  chan<T>* upgraded(const char* op) const {
    chan<T>* const c = this->get();
    if (c == nullptr) throw_empty_handle(op);
    return c->try_add_sender() ? c : nullptr;
  }
};

}  // namespace kyoto::detail
