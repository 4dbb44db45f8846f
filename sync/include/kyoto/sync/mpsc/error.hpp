// The errors of kyoto::sync::mpsc's operations (tokio's sync::mpsc::error):
// a failed send hands its value back inside the error, never losing it.
#pragma once

#include <type_traits>
#include <utility>

namespace kyoto::sync::mpsc {

/// The error of send() and blocking_send(): the receiver is gone. Holds the
/// value that was not sent (tokio's SendError<T>). send_error<> (no value)
/// is the error of reserve(), reserve_many() and reserve_owned() (tokio's
/// SendError<()>).
template <class T = void>
struct send_error {
  /// The value that was not sent.
  T value;
  /// tokio's Display: "channel closed".
  const char* what() const noexcept { return "channel closed"; }
};

/// The error of reserve(), reserve_many() and reserve_owned(): the
/// receiver closed or is gone (tokio's SendError<()>).
template <>
struct send_error<void> {
  /// tokio's Display: "channel closed".
  const char* what() const noexcept { return "channel closed"; }
  friend bool operator==(const send_error&, const send_error&) = default;
};

/// The error of try_send(): full or closed, with the value that was not
/// sent (tokio's TrySendError<T>). try_send_error<> (no value) is the error
/// of try_reserve() and try_reserve_many(); try_reserve_owned() gives its
/// sender back in a try_send_error<sender<T>>.
template <class T = void>
struct try_send_error {
  /// Why nothing was sent.
  enum class reason : unsigned char { full, closed };

  /// Full or closed.
  reason why;
  /// The value that was not sent.
  T value;

  /// The channel had no free slot.
  bool is_full() const noexcept { return why == reason::full; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// The value that was not sent (tokio's into_inner()).
  T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value); }
  /// tokio's Display: "no available capacity" or "channel closed".
  const char* what() const noexcept {
    return why == reason::full ? "no available capacity" : "channel closed";
  }
};

/// The error of try_reserve() and try_reserve_many() (tokio's
/// TrySendError<()>).
template <>
struct try_send_error<void> {
  /// Why nothing was reserved.
  enum class reason : unsigned char { full, closed };

  /// Full or closed.
  reason why;

  /// The channel had too few free slots.
  bool is_full() const noexcept { return why == reason::full; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// tokio's Display: "no available capacity" or "channel closed".
  const char* what() const noexcept {
    return why == reason::full ? "no available capacity" : "channel closed";
  }
  friend bool operator==(const try_send_error&, const try_send_error&) = default;
};

/// The error of send_timeout(): the time ran out while the channel stayed
/// full, or the receiver is gone; holds the value that was not sent
/// (tokio's SendTimeoutError).
template <class T>
struct send_timeout_error {
  /// Why nothing was sent.
  enum class reason : unsigned char { timeout, closed };

  /// Timed out or closed.
  reason why;
  /// The value that was not sent.
  T value;

  /// The timeout elapsed before a slot freed.
  bool is_timeout() const noexcept { return why == reason::timeout; }
  /// The receiver is gone or closed.
  bool is_closed() const noexcept { return why == reason::closed; }
  /// The value that was not sent (tokio's into_inner()).
  T into_inner() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value); }
  /// tokio's Display: "timed out waiting on send operation" or "channel
  /// closed".
  const char* what() const noexcept {
    return why == reason::timeout ? "timed out waiting on send operation" : "channel closed";
  }
};

/// The error of try_recv() (tokio's TryRecvError).
class try_recv_error {
 public:
  /// Why nothing was received.
  enum class kind : unsigned char { empty, disconnected };

  /// An error of kind `k`.
  explicit try_recv_error(kind k) noexcept : kind_(k) {}
  /// Nothing buffered, but senders remain.
  bool is_empty() const noexcept { return kind_ == kind::empty; }
  /// Nothing buffered and no sender left (or the receiver closed).
  bool is_disconnected() const noexcept { return kind_ == kind::disconnected; }
  /// tokio's Display: "receiving on an empty channel" or "receiving on a
  /// closed channel".
  const char* what() const noexcept {
    return kind_ == kind::empty ? "receiving on an empty channel" : "receiving on a closed channel";
  }
  friend bool operator==(const try_recv_error&, const try_recv_error&) = default;

 private:
  kind kind_;
};
}  // namespace kyoto::sync::mpsc
