// kyoto::sync::mpsc's unbounded channel (tokio's mpsc::unbounded_channel
// and UnboundedSender): send() never waits, the buffer grows as needed.
// Its receiver is the bounded channel's (receiver.hpp).
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/sync/mpsc/closed_awaiter.hpp>
#include <kyoto/sync/mpsc/error.hpp>
#include <kyoto/sync/mpsc/receiver.hpp>

#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/mpsc_handles.hpp>

#include <utility>

namespace kyoto::sync::mpsc {

template <class T>
class weak_unbounded_sender;

/// The receiving half of an unbounded channel.
template <class T>
using unbounded_receiver = receiver<T>;

/// The sending half of an unbounded channel: send() never waits. Copy it
/// to get another sender.
///
/// Thread safety: as sender.
template <class T>
class unbounded_sender : private kyoto::detail::mpsc_sender_base<T> {
  using kyoto::detail::mpsc_sender_base<T>::checked;

 public:
  /// Sends `value` at once (the buffer grows as needed); hands it back in a
  /// send_error if the receiver is gone. Any thread, no await.
  result<void, send_error<T>> send(T value) {
    if (checked("kyoto::sync::mpsc::unbounded_sender::send")->try_send(value) ==
        kyoto::detail::chan<T>::send_status::sent) {
      return {};
    }
    return unexpected(send_error<T>{std::move(value)});
  }

  /// Completes once the receiver closed or is gone (tokio's closed). Must
  /// be awaited in a runtime task; this sender must outlive the awaiter.
  /// Cancel safe.
  closed_awaiter<T> closed() {
    return closed_awaiter<T>(checked("kyoto::sync::mpsc::unbounded_sender::closed"));
  }

  /// Whether the receiver is gone (or closed).
  bool is_closed() const {
    return checked("kyoto::sync::mpsc::unbounded_sender::is_closed")->is_closed();
  }

  /// A weak sender of this channel (tokio's downgrade): it does not keep
  /// the channel open, and upgrade() gives a sender while one still lives.
  weak_unbounded_sender<T> downgrade() const {
    kyoto::detail::chan<T>* c = checked("kyoto::sync::mpsc::unbounded_sender::downgrade");
    c->add_weak();
    return weak_unbounded_sender<T>(c);
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const unbounded_sender& other) const noexcept {
    return this->get() == other.get();
  }

 private:
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded_channel();
  friend class weak_unbounded_sender<T>;

  explicit unbounded_sender(kyoto::detail::chan<T>* c) noexcept
      : kyoto::detail::mpsc_sender_base<T>(c) {}
};

/// A channel without a capacity limit (tokio's mpsc::unbounded_channel).
template <class T>
std::pair<unbounded_sender<T>, unbounded_receiver<T>> unbounded_channel() {
  auto* c = new kyoto::detail::chan<T>(kyoto::detail::chan<T>::unbounded);
  return {unbounded_sender<T>(c), receiver<T>(c)};
}

}  // namespace kyoto::sync::mpsc

// downgrade() makes a weak_unbounded_sender (and weak_sender.hpp includes
// this header back).
#include <kyoto/sync/mpsc/weak_sender.hpp>
