// kyoto::sync::broadcast: multi-producer, multi-consumer broadcast channel
// (tokio's sync::broadcast): every receiver sees every value sent after it
// subscribed.
//
//   auto [tx, rx1] = kyoto::sync::broadcast::channel<int>(16);
//   auto rx2 = tx.subscribe();
//   tx.send(10).value();                        // never waits; 2 receivers
//   for (;;) {
//     auto r = co_await rx1.recv();
//     if (r) { use(*r); continue; }
//     if (r.error().is_lagged()) continue;      // skipped r.error().skipped() values
//     break;                                    // closed: every sender is gone
//   }
//
// The channel keeps the last `capacity` values (rounded up to a power of
// two). A send never waits: when the ring is full it overwrites the oldest
// value, and a receiver that had not read it gets lagged(n) once, then
// continues from the oldest value still kept. Each receiver gets its own
// copy of a value (T must be copyable); a value is destroyed once every
// receiver has read it, or when it is overwritten. A receiver sees
// `closed` once every sender is gone and it has read what it still can.
//
// The protocol (positions, the per-slot word, the tail lock, waking) is in
// detail/broadcast_shared.hpp.
/// \namespace kyoto::sync::broadcast
/// A multi-producer, multi-consumer channel: every receiver sees every
/// value sent after it subscribed (tokio::sync::broadcast).
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/runtime/detail/thread_parker.hpp>
#include <kyoto/sync/detail/broadcast_shared.hpp>
#include <kyoto/sync/detail/misuse.hpp>

#include <bit>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace kyoto::sync::broadcast {

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
class recv_awaiter;

/// The error of sender::send(): there is no receiver. Holds the value that
/// was not sent (tokio's SendError).
template <class T>
struct send_error {
  T value;  ///< the value that was not sent
  /// "channel closed" (tokio's Display).
  const char* what() const noexcept { return "channel closed"; }
};

/// The error of receiver::recv() and blocking_recv() (tokio's RecvError):
/// `closed`, or `lagged(n)`: the receiver fell behind and n values were
/// overwritten before it read them; the next receive gives the oldest value
/// the channel still holds.
class recv_error {
 public:
  /// Which error this is.
  enum class kind : unsigned char { closed, lagged };

  /// Every sender is gone and nothing is left to read.
  static recv_error closed() noexcept { return recv_error(kind::closed, 0); }
  /// `n` values were skipped.
  static recv_error lagged(std::uint64_t n) noexcept { return recv_error(kind::lagged, n); }

  /// closed or lagged (to switch on).
  kind which() const noexcept { return kind_; }
  /// Every sender is gone and nothing is left to read.
  bool is_closed() const noexcept { return kind_ == kind::closed; }
  /// Values were overwritten before this receiver read them.
  bool is_lagged() const noexcept { return kind_ == kind::lagged; }
  /// The number of values skipped (lagged); 0 for closed.
  std::uint64_t skipped() const noexcept { return skipped_; }
  /// "channel closed", or "channel lagged by n" (tokio's Display).
  std::string what() const {
    return is_closed() ? std::string("channel closed")
                       : "channel lagged by " + std::to_string(skipped_);
  }
  friend bool operator==(const recv_error&, const recv_error&) = default;

 private:
  recv_error(kind k, std::uint64_t n) noexcept : kind_(k), skipped_(n) {}
  kind kind_;
  std::uint64_t skipped_;
};

/// The error of receiver::try_recv() (tokio's TryRecvError): `empty` (no
/// value yet, senders remain), `closed`, or `lagged(n)` as in recv_error.
class try_recv_error {
 public:
  /// Which error this is.
  enum class kind : unsigned char { empty, closed, lagged };

  /// No value yet; senders remain.
  static try_recv_error empty() noexcept { return try_recv_error(kind::empty, 0); }
  /// Every sender is gone and nothing is left to read.
  static try_recv_error closed() noexcept { return try_recv_error(kind::closed, 0); }
  /// `n` values were skipped.
  static try_recv_error lagged(std::uint64_t n) noexcept { return try_recv_error(kind::lagged, n); }

  /// empty, closed or lagged (to switch on).
  kind which() const noexcept { return kind_; }
  bool is_empty() const noexcept { return kind_ == kind::empty; }    ///< see empty()
  bool is_closed() const noexcept { return kind_ == kind::closed; }  ///< see closed()
  bool is_lagged() const noexcept { return kind_ == kind::lagged; }  ///< see lagged()
  /// The number of values skipped (lagged); 0 otherwise.
  std::uint64_t skipped() const noexcept { return skipped_; }
  /// "channel empty", "channel closed" or "channel lagged by n".
  std::string what() const {
    switch (kind_) {
      case kind::empty:
        return "channel empty";
      case kind::closed:
        return "channel closed";
      case kind::lagged:
        break;
    }
    return "channel lagged by " + std::to_string(skipped_);
  }
  friend bool operator==(const try_recv_error&, const try_recv_error&) = default;

 private:
  try_recv_error(kind k, std::uint64_t n) noexcept : kind_(k), skipped_(n) {}
  kind kind_;
  std::uint64_t skipped_;
};

/// The largest capacity channel() accepts (tokio: usize::MAX >> 1).
inline constexpr std::size_t max_capacity = std::numeric_limits<std::size_t>::max() >> 1;

/// The most receivers a channel may have at once; subscribe() and
/// resubscribe() beyond it throw std::length_error.
inline constexpr std::size_t max_receivers = kyoto::detail::bcast_max_receivers;

template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);

/// Awaiter of receiver::recv(); gives result<T, recv_error>.
///
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled recv() has received nothing (not even a lag report), and the
/// next receive gets what it would have got.
template <class T>
class [[nodiscard]] recv_awaiter {
  using shared = kyoto::detail::broadcast_shared<T>;
  using poll = typename shared::poll;
  using probe = typename shared::probe;

 public:
  /// Made by receiver::recv().
  explicit recv_awaiter(receiver<T>* rx) noexcept : rx_(rx) {}
  /// Movable until awaited (so it can be passed to join()). The source is
  /// used up (GCC 12 moves the operand of `co_await std::move(x)`).
  recv_awaiter(recv_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : rx_(o.rx_), value_(std::move(o.value_)), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && "a broadcast recv_awaiter moved while awaited");
  }
  recv_awaiter(const recv_awaiter&) = delete;
  recv_awaiter& operator=(const recv_awaiter&) = delete;
  ~recv_awaiter() {
    if (suspended_) {
      rx_->busy_ = false;
      if (rx_->shared_->cancel_waiter(&waiter_)) waiter_.node.task->purge(&waiter_.node);
    }
  }

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (done_) kyoto::detail::throw_awaited_twice("kyoto::sync::broadcast::receiver::recv");
    shared* s = rx_->checked_idle("kyoto::sync::broadcast::receiver::recv");
    std::uint64_t& next = rx_->next_;
    // Out of budget (coop.hpp): take nothing, yield first if ready.
    const bool budget = kyoto::detail::current_context.budget != 0;
    if (budget && s->enter_if_at(next)) [[likely]] {
      poll_ = s->template consume<true>(next, &value_, missed_);
      kyoto::detail::coop_proceed();
      return true;
    }
    s->tail_lock().lock();
    kyoto::detail::unlock_guard unlock(s->tail_lock());
    const probe p = budget ? s->begin_locked(next, missed_) : s->peek_locked(next);
    if (p == probe::empty) {
      unlock.release();  // keeps the lock for await_suspend
      return false;
    }
    if (!budget) {
      yield_ = true;  // ready, but the budget is spent: yield, receive when resumed
      unlock.release();
      return false;
    }
    kyoto::detail::coop_proceed();
    if (p == probe::hit) {
      unlock.release();
      s->tail_lock().unlock();  // copy outside the tail lock
      poll_ = s->template consume<true>(next, &value_, missed_);
      return true;
    }
    poll_ = p == probe::lagged ? poll::lagged : poll::closed;
    return true;
  }

  /// Queues the awaiting coroutine `h` (or yields it, when out of budget)
  /// and releases the lock await_ready() kept.
  void await_suspend(std::coroutine_handle<> h) {
    shared* s = rx_->shared_;
    kyoto::detail::unlock_guard unlock(s->tail_lock());
    waiter_.node.prepare(h);  // may throw (outside a task): nothing changed yet
    if (yield_) {
      kyoto::detail::coop_yield(waiter_.node);
    } else {
      s->queue_locked(&waiter_);
    }
    rx_->busy_ = true;
    suspended_ = true;
  }

  /// The next value, or recv_error: lagged (values were skipped; the next
  /// recv() gets the oldest kept one) or closed.
  result<T, recv_error> await_resume() {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      rx_->busy_ = false;
      // Woken (or yielded) only when a value, a lag or the end is there.
      poll_ = rx_->shared_->template recv<true>(rx_->next_, &value_, missed_, nullptr);
      assert(poll_ != poll::empty);
    }
    switch (poll_) {
      case poll::value:
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): poll::value: recv() filled it
        return std::move(*value_);
      case poll::lagged:
        return unexpected(recv_error::lagged(missed_));
      case poll::empty:
      case poll::closed:
        break;
    }
    return unexpected(recv_error::closed());
  }

  /// For task dumps: a receive on this receiver's channel.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "broadcast recv";
    d.object = rx_;
  }

 private:
  receiver<T>* rx_;
  kyoto::detail::broadcast_waiter waiter_;
  std::optional<T> value_;
  std::uint64_t missed_ = 0;
  poll poll_ = poll::empty;
  bool suspended_ = false;
  bool yield_ = false;  ///< the budget made us yield before receiving
  bool done_ = false;   ///< awaited once already
};

/// The receiving half: receives, in order, every value sent after it was
/// made. Move-only; get more with sender::subscribe() or resubscribe().
/// Destroying it releases the values it had yet to read.
///
/// Thread safety: a receiver is used by one task or thread at a time
/// (another receive while a recv() is suspended throws std::logic_error);
/// different receivers of one channel may be used concurrently anywhere.
template <class T>
class receiver {
  static_assert(std::is_copy_constructible_v<T>,
                "kyoto::sync::broadcast: each receiver gets its own copy, so T must be copyable");
  using shared = kyoto::detail::broadcast_shared<T>;
  using poll = typename shared::poll;

 public:
  /// Takes `o`'s place in the channel; `o` becomes empty (its operations
  /// throw std::logic_error). Not while a recv() is suspended on `o`.
  receiver(receiver&& o) noexcept
      : shared_(std::exchange(o.shared_, nullptr)), next_(o.next_), busy_(o.busy_) {
    assert(!busy_ && "a broadcast receiver moved while a recv() is suspended on it");
  }
  /// Drops this receiver (as the destructor) and takes `o`'s place.
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      assert(!o.busy_ && !busy_ && "a broadcast receiver moved while a recv() is suspended");
      reset();
      shared_ = std::exchange(o.shared_, nullptr);
      next_ = o.next_;
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  /// Leaves the channel: values it had yet to read no longer wait for it.
  ~receiver() { reset(); }

  /// Receives the next value, waiting for one: gives the value, lagged(n)
  /// (then receive again: the oldest value still held comes next) or
  /// closed. Must be awaited in a runtime task; one receive at a time per
  /// receiver; the awaiter is awaited once, and this receiver must outlive
  /// it (and not move meanwhile). The awaiting task is resumed on its own
  /// thread. Cancel safe (see recv_awaiter).
  recv_awaiter<T> recv() {
    checked_idle("kyoto::sync::broadcast::receiver::recv");
    return recv_awaiter<T>(this);
  }

  /// Receives without waiting (tokio's try_recv): the value, or empty,
  /// lagged(n) or closed. If T's copy constructor throws, that value counts
  /// as received and the exception propagates.
  result<T, try_recv_error> try_recv() {
    shared* s = checked_idle("kyoto::sync::broadcast::receiver::try_recv");
    std::optional<T> out;
    std::uint64_t missed = 0;
    switch (s->template recv<true>(next_, &out, missed, nullptr)) {
      case poll::value:
        return std::move(*out);
      case poll::empty:
        return unexpected(try_recv_error::empty());
      case poll::lagged:
        return unexpected(try_recv_error::lagged(missed));
      case poll::closed:
        break;
    }
    return unexpected(try_recv_error::closed());
  }

  /// recv() for a plain thread: blocks it until a value, a lag or the end.
  /// Throws std::logic_error on a runtime thread, where blocking would
  /// stall the runtime.
  result<T, recv_error> blocking_recv() {
    kyoto::detail::check_may_block("kyoto::sync::broadcast::receiver::blocking_recv");
    shared* s = checked_idle("kyoto::sync::broadcast::receiver::blocking_recv");
    kyoto::detail::broadcast_waiter w;
    w.node.prepare_thread();
    std::optional<T> out;
    std::uint64_t missed = 0;
    for (;;) {
      switch (s->template recv<true>(next_, &out, missed, &w)) {
        case poll::value:
          return std::move(*out);
        case poll::lagged:
          return unexpected(recv_error::lagged(missed));
        case poll::closed:
          return unexpected(recv_error::closed());
        case poll::empty:
          break;
      }
      // Queued: park until a send or the close wakes us (park may return
      // early: check under the lock).
      do {
        w.node.parker->park();
      } while (s->still_queued(&w));
    }
  }

  /// A new receiver of the same channel, starting at its tail: it sees the
  /// values sent from now on, not those this one has yet to read (tokio's
  /// resubscribe). Throws std::length_error past max_receivers.
  receiver resubscribe() const {
    shared* s = checked("kyoto::sync::broadcast::receiver::resubscribe");
    return receiver(s, s->add_receiver("kyoto::sync::broadcast::receiver::resubscribe"));
  }

  /// Values sent that this receiver has yet to receive, counting those it
  /// has lagged past (tokio's Receiver::len).
  std::size_t len() const {
    return checked("kyoto::sync::broadcast::receiver::len")->pending(next_);
  }

  /// Whether len() is 0.
  bool is_empty() const { return len() == 0; }

 private:
  friend class sender<T>;
  friend class recv_awaiter<T>;
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);

  receiver(shared* s, std::uint64_t next) noexcept : shared_(s), next_(next) {}

  shared* checked(const char* op) const {
    if (shared_ == nullptr) kyoto::detail::throw_empty_handle(op);
    return shared_;
  }
  /// As checked(), and refuses a receive while a recv() is suspended.
  shared* checked_idle(const char* op) const {
    if (shared_ == nullptr) kyoto::detail::throw_empty_handle(op);
    if (busy_) kyoto::detail::throw_broadcast_concurrent_recv(op);
    return shared_;
  }
  void reset() noexcept {
    if (shared_ != nullptr) std::exchange(shared_, nullptr)->drop_receiver(next_);
  }

  shared* shared_;
  std::uint64_t next_;  ///< the position to read next
  bool busy_ = false;   ///< a recv() is suspended on this receiver
};

/// The sending half. Copy it to get another sender (tokio's clone()); the
/// channel closes when the last one goes away.
///
/// Thread safety: send(), subscribe() and the queries may be called on one
/// sender from several threads at once, and on its copies from anywhere;
/// copying, assigning and destroying a sender need exclusive use of it.
template <class T>
class sender {
  static_assert(std::is_copy_constructible_v<T>,
                "kyoto::sync::broadcast: each receiver gets its own copy, so T must be copyable");
  using shared = kyoto::detail::broadcast_shared<T>;

 public:
  /// Another sender of the same channel (tokio's clone()).
  sender(const sender&) noexcept = default;
  /// Takes `o`'s place; `o` becomes empty (its operations throw).
  sender(sender&&) noexcept = default;
  /// Drops this sender (as the destructor) and takes `o`'s place.
  sender& operator=(const sender&) noexcept = default;
  /// Drops this sender (as the destructor) and takes `o`'s place.
  sender& operator=(sender&&) noexcept = default;
  /// The last sender to go closes the channel: receivers get closed once
  /// they have read what is left.
  ~sender() = default;

  /// Sends `value` to every receiver alive now, without waiting (tokio's
  /// send): gives the number of receivers, or hands the value back in a
  /// send_error if there is none. A full channel overwrites its oldest
  /// value (receivers that had not read it will get lagged). Any thread,
  /// no await; wakes the waiting receivers. If moving the value into the
  /// channel throws, nothing is sent, the exception propagates, and the
  /// value it would have overwritten is lost (lagged(1) for those that had
  /// not read it).
  result<std::size_t, send_error<T>> send(T value) const {
    const std::size_t n = checked("kyoto::sync::broadcast::sender::send")->send(value);
    // broadcast_shared::send moves from `value` only when it returns n > 0
    // (a receiver to send to); the analyzer does not see that contract.
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.Move)
    if (n == 0) return unexpected(send_error<T>{std::move(value)});
    return n;
  }

  /// A new receiver that sees every value sent from now on. Throws
  /// std::length_error past max_receivers.
  receiver<T> subscribe() const {
    shared* s = checked("kyoto::sync::broadcast::sender::subscribe");
    return receiver<T>(s, s->add_receiver("kyoto::sync::broadcast::sender::subscribe"));
  }

  /// The number of live receivers (what a send now would return).
  std::size_t receiver_count() const {
    return checked("kyoto::sync::broadcast::sender::receiver_count")->receiver_count();
  }

  /// The number of values held that some receiver alive at their send has
  /// yet to read (later tokio's Sender::len); at most the capacity.
  std::size_t len() const { return checked("kyoto::sync::broadcast::sender::len")->queued(); }

  /// Whether len() is 0.
  bool is_empty() const {
    return checked("kyoto::sync::broadcast::sender::is_empty")->nothing_queued();
  }

  /// Whether both senders send to the same channel.
  bool same_channel(const sender& other) const noexcept {
    return shared_.get() == other.shared_.get();
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);
  explicit sender(shared* s) noexcept : shared_(s) {}

  shared* checked(const char* op) const {
    if (!shared_) kyoto::detail::throw_empty_handle(op);
    return shared_.get();
  }

  /// A sender's count; empty once moved from.
  kyoto::detail::counted_ref<shared, &shared::drop_sender, &shared::add_sender> shared_;
};

/// A broadcast channel keeping the last `capacity` values, rounded up to a
/// power of two (tokio's broadcast::channel), with one sender and one
/// receiver. Throws std::invalid_argument if capacity is 0 or above
/// max_capacity.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0 || capacity > max_capacity)
    kyoto::detail::throw_broadcast_bad_capacity(capacity);
  auto* s = new kyoto::detail::broadcast_shared<T>(std::bit_ceil(capacity));
  return {sender<T>(s), receiver<T>(s, 0)};
}

}  // namespace kyoto::sync::broadcast
