// kyoto::sync::mpsc's receiving half, shared by bounded and unbounded
// channels (tokio's Receiver and UnboundedReceiver): recv(), recv_many(),
// try_recv(), blocking_recv() and close().
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/sync/mpsc/error.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>
#include <kyoto/sync/detail/mpsc_recv_waiter.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::sync::mpsc {

template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
class receiver;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<unbounded_sender<T>, receiver<T>> unbounded_channel();

/// Awaiter of receiver::recv(); gives std::optional<T>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled recv has received nothing, and a value that arrived meanwhile
/// stays first in the channel.
template <class T>
class [[nodiscard]] recv_awaiter {
  using status = typename kyoto::detail::chan<T>::recv_status;

 public:
  /// Made by receiver::recv(); not constructed by users.
  explicit recv_awaiter(kyoto::detail::chan<T>* c) noexcept : w_(c) {}
  /// Movable until awaited (so it can be passed to join()).
  /// The source is used up (see send_awaiter's move constructor).
  recv_awaiter(recv_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : w_(std::move(o.w_)), value_(std::move(o.value_)) {}
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    return w_.ready("kyoto::sync::mpsc::receiver::recv",
                    [this] { w_.channel()->try_recv_locked(value_); });
  }

  /// Queues the awaiting coroutine `h` (or yields it, when out of budget)
  /// and releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }

  /// For task dumps: a receive on this channel.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "mpsc recv";
    d.object = w_.channel();
  }

  /// The value received, or std::nullopt once the channel has ended.
  std::optional<T> await_resume() {
    if (w_.resume()) {
      // A parked receiver is woken only when its recv can complete.
      [[maybe_unused]] const auto s = w_.channel()->finish_recv(value_);
      assert(s != status::empty);
    }
    return std::exchange(value_, std::nullopt);
  }

 private:
  kyoto::detail::mpsc_recv_waiter<T> w_;
  std::optional<T> value_;
};

/// Awaiter of receiver::recv_many(); gives the number of values appended
/// (std::size_t).
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled recv_many has appended nothing, and values that arrived
/// meanwhile stay in the channel.
template <class T>
class [[nodiscard]] recv_many_awaiter {
 public:
  /// Made by receiver::recv_many(); not constructed by users.
  recv_many_awaiter(kyoto::detail::chan<T>* c, std::vector<T>* buffer, std::size_t limit) noexcept
      : w_(c), buffer_(buffer), limit_(limit) {}
  /// Movable until awaited; the source is used up (see send_awaiter).
  recv_many_awaiter(recv_many_awaiter&& o) noexcept
      : w_(std::move(o.w_)), buffer_(o.buffer_), limit_(o.limit_) {}
  recv_many_awaiter(const recv_many_awaiter&) = delete;
  recv_many_awaiter& operator=(const recv_many_awaiter&) = delete;

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (limit_ == 0 && !w_.done()) return true;  // tokio: 0 at once, the channel untouched
    return w_.ready("kyoto::sync::mpsc::receiver::recv_many",
                    [this] { count_ = w_.channel()->take_many_locked(*buffer_, limit_); });
  }

  /// Queues the awaiting coroutine `h` (or yields it, when out of budget)
  /// and releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) { w_.suspend(h); }

  /// How many values were appended to the buffer (0 once the channel has
  /// ended).
  std::size_t await_resume() {
    // Woken for values or for the end (then 0).
    if (w_.resume()) count_ = w_.channel()->finish_recv_many(*buffer_, limit_);
    return count_;
  }

 private:
  kyoto::detail::mpsc_recv_waiter<T> w_;
  std::vector<T>* buffer_;
  std::size_t limit_;
  std::size_t count_ = 0;
};

/// The receiving half of a channel (bounded or unbounded). Move-only;
/// destroying it closes the channel and destroys what was never received.
///
/// Thread safety: one receiver, used by one task (or thread) at a time.
template <class T>
class receiver {
 public:
  /// Takes over `other`'s channel; `other` is left empty (its operations
  /// throw std::logic_error).
  receiver(receiver&&) noexcept = default;
  /// Closes this receiver's channel (as the destructor does), then takes
  /// over `other`'s; `other` is left empty.
  receiver& operator=(receiver&&) noexcept = default;

  /// Receives the next value, waiting for one; std::nullopt once every
  /// sender is gone (or close() was called), no permit is outstanding, and
  /// the buffer is drained. Must be awaited in a runtime task; one receive
  /// at a time (another receive while a recv() is in progress throws
  /// std::logic_error); the awaiter is awaited once, and this receiver must
  /// outlive it. Cancel safe.
  recv_awaiter<T> recv() { return recv_awaiter<T>(checked("kyoto::sync::mpsc::receiver::recv")); }

  /// Receives up to `limit` values at once, waiting for at least one, and
  /// appends them to `buffer` in order (tokio's recv_many); gives how many.
  /// 0 only when `limit` is 0 (at once) or the channel has ended (as
  /// recv()'s std::nullopt). If moving a value throws, the values moved
  /// before it are in `buffer` and the rest stay in the channel. The same
  /// rules as recv(); `buffer` must outlive the awaiter. Cancel safe.
  recv_many_awaiter<T> recv_many(std::vector<T>& buffer, std::size_t limit) {
    return recv_many_awaiter<T>(checked("kyoto::sync::mpsc::receiver::recv_many"), &buffer, limit);
  }

  /// Takes the next value without waiting (tokio's try_recv).
  result<T, try_recv_error> try_recv() {
    std::optional<T> out;
    switch (checked("kyoto::sync::mpsc::receiver::try_recv")->try_recv(out)) {
      case kyoto::detail::chan<T>::recv_status::value:
        return std::move(*out);
      case kyoto::detail::chan<T>::recv_status::empty:
        return unexpected(try_recv_error(try_recv_error::kind::empty));
      case kyoto::detail::chan<T>::recv_status::disconnected:
        break;
    }
    return unexpected(try_recv_error(try_recv_error::kind::disconnected));
  }

  /// recv() for a plain thread: blocks it until a value arrives or the
  /// channel is closed and drained. Throws std::logic_error on a runtime
  /// thread, where blocking would stall the runtime.
  std::optional<T> blocking_recv() {
    kyoto::detail::check_may_block("kyoto::sync::mpsc::receiver::blocking_recv");
    return checked("kyoto::sync::mpsc::receiver::blocking_recv")->blocking_recv();
  }

  /// Closes the channel: sends and reserves fail from now on (waiting
  /// senders get their value back), closed() completes; values already
  /// buffered can still be received, and permits already taken still
  /// deliver.
  void close() { checked("kyoto::sync::mpsc::receiver::close")->close(); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  template <class U>
  friend std::pair<unbounded_sender<U>, receiver<U>> unbounded_channel();

  explicit receiver(kyoto::detail::chan<T>* c) noexcept : chan_(c) {}

  kyoto::detail::chan<T>* checked(const char* op) const {
    if (chan_.get() == nullptr) kyoto::detail::throw_empty_handle(op);
    return chan_.get();
  }

  /// The receiver's reference: dropping it closes the channel.
  kyoto::detail::counted_ref<kyoto::detail::chan<T>, &kyoto::detail::chan<T>::drop_receiver> chan_;
};

}  // namespace kyoto::sync::mpsc
