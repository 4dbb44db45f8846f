// kyoto::sync::mpsc's weak senders (tokio's WeakSender and
// WeakUnboundedSender, from downgrade()): they keep the channel's memory
// but not the channel open, and upgrade() gives a sender while one lives.
#pragma once

#include <kyoto/sync/mpsc/bounded.hpp>
#include <kyoto/sync/mpsc/unbounded.hpp>

#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/mpsc_handles.hpp>

#include <optional>

namespace kyoto::sync::mpsc {

/// A sender that does not keep the channel open (tokio's WeakSender), from
/// sender::downgrade(). The receiver sees the end once every (strong)
/// sender is gone, weak ones or not; upgrade() then fails for good. Copy it
/// for another weak sender.
///
/// Thread safety: each one used by one thread at a time; copies from any
/// threads, and an upgrade racing the last sender's drop either gets a
/// sender (and the channel stays open for it) or gets none.
template <class T>
class weak_sender : private kyoto::detail::mpsc_weak_base<T> {
 public:
  /// A sender of the channel, or std::nullopt if every sender is gone
  /// (tokio's upgrade). Never waits. Throws std::logic_error if moved from.
  std::optional<sender<T>> upgrade() const {
    if (kyoto::detail::chan<T>* c = this->upgraded("kyoto::sync::mpsc::weak_sender::upgrade")) {
      return sender<T>(c);
    }
    return std::nullopt;
  }

 private:
  friend class sender<T>;
  explicit weak_sender(kyoto::detail::chan<T>* c) noexcept : kyoto::detail::mpsc_weak_base<T>(c) {}
};

/// The weak form of unbounded_sender (tokio's WeakUnboundedSender); see
/// weak_sender.
template <class T>
class weak_unbounded_sender : private kyoto::detail::mpsc_weak_base<T> {
 public:
  /// An unbounded sender of the channel, or std::nullopt if every sender is
  /// gone (tokio's upgrade). Throws std::logic_error if moved from.
  std::optional<unbounded_sender<T>> upgrade() const {
    if (kyoto::detail::chan<T>* c =
            this->upgraded("kyoto::sync::mpsc::weak_unbounded_sender::upgrade")) {
      return unbounded_sender<T>(c);
    }
    return std::nullopt;
  }

 private:
  friend class unbounded_sender<T>;
  explicit weak_unbounded_sender(kyoto::detail::chan<T>* c) noexcept
      : kyoto::detail::mpsc_weak_base<T>(c) {}
};

}  // namespace kyoto::sync::mpsc
