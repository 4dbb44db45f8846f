// The state a kyoto::sync::oneshot's sender and receiver share (the
// protocol is in <kyoto/sync/oneshot.hpp>'s file comment).
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

namespace kyoto::detail {

/// Throws std::logic_error(what): a oneshot handle misused.
[[noreturn]] KYOTO_EXPORT void throw_oneshot_misuse(const char* what);

/// The state a oneshot's two halves share. All fields but refs_ are
/// guarded by lock_.
template <class T>
class oneshot_state {
 public:
  static void* operator new(std::size_t size) { return frame_pool::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    frame_pool::deallocate(p, size);
  }

  void unref() noexcept {
    // Acq_rel: the last owner sees the other's writes before freeing.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Stores the value unless the receiver is gone or closed (then leaves
  /// it). Either way the sender is done, which a parked receiver learns.
  /// If moving the value in throws, nothing changed (the sender may retry
  /// or be dropped).
  bool send(T& value) {
    lock_guard guard(lock_);
    const bool stored = !rx_closed_;
    if (stored) value_.emplace(std::move(value));
    tx_done_ = true;
    wake_receiver();
    return stored;
  }

  void drop_sender() noexcept {
    {
      lock_guard guard(lock_);
      tx_done_ = true;
      wake_receiver();
    }
    unref();
  }

  void drop_receiver() noexcept {
    // The value dies outside the lock: its destructor may use this channel.
    std::optional<T> unreceived;
    {
      lock_guard guard(lock_);
      rx_closed_ = true;
      wake_sender();
      if (value_) {
        unreceived.emplace(std::move(*value_));
        value_.reset();
      }
    }
    unref();
  }

  /// The receiver closes: send() fails from now on, and a sender parked in
  /// closed() is woken.
  void close() noexcept {
    lock_guard guard(lock_);
    rx_closed_ = true;
    wake_sender();
  }

  // ---- the sender's closed() ----

  /// Precondition: lock_ held. Whether the receiver closed or is gone.
  bool is_closed_locked() const noexcept { return rx_closed_; }

  /// Precondition: lock_ held, not closed. Parks the sender's `node` until
  /// the receiver closes or goes away.
  void park_sender_locked(wake_node* node) noexcept { tx_waiter_ = node; }

  /// A parked closed() is cancelled. Returns whether it had been woken.
  bool cancel_sender_wait(wake_node* node) noexcept {
    lock_guard guard(lock_);
    if (tx_waiter_ == node) {
      tx_waiter_ = nullptr;
      return false;
    }
    return true;
  }

  /// The sender's "a closed() await is suspended" flag (the sender's owner
  /// only, like rx_completed()).
  bool& tx_awaiting() noexcept { return tx_awaiting_; }

  bool is_closed() const noexcept {
    lock_guard guard(lock_);
    return rx_closed_;
  }

  enum class poll : unsigned char { value, empty, closed };

  /// Precondition: lock_ held. A value sent before close() is still
  /// taken; otherwise a closed receiver reports closed at once.
  poll try_take_locked(std::optional<T>& out) {
    if (value_) {
      out.emplace(std::move(*value_));
      value_.reset();
      taken_ = true;
      return poll::value;
    }
    return tx_done_ || taken_ || rx_closed_ ? poll::closed : poll::empty;
  }

  poll try_take(std::optional<T>& out) {
    lock_guard guard(lock_);
    return try_take_locked(out);
  }

  /// Precondition: lock_ held. What try_take_locked() would find, taking
  /// nothing.
  poll peek_locked() const noexcept {
    if (value_) return poll::value;
    return tx_done_ || taken_ || rx_closed_ ? poll::closed : poll::empty;
  }

  /// Precondition: lock_ held, empty. Parks a plain thread's node
  /// (blocking_recv); throws std::logic_error if an await is suspended.
  void park_locked(wake_node* node) {
    check_unused_locked();
    rx_waiter_ = node;
  }

  /// Precondition: lock_ held. Claims the receiver's node for an await
  /// about to suspend on coroutine `h`: parked (`park`) or yielding to the
  /// budget. Throws std::logic_error if another await holds it (join(rx,
  /// rx)) or outside a runtime task.
  wake_node& claim_node_locked(std::coroutine_handle<> h, bool park) {
    check_unused_locked();
    rx_node_.prepare(h);
    rx_node_busy_ = true;
    if (park) rx_waiter_ = &rx_node_;
    return rx_node_;
  }

  /// The claimed node's await resumes: frees the node. Takes the value, as
  /// try_take() does.
  poll release_node_and_take(std::optional<T>& out) {
    lock_guard guard(lock_);
    rx_node_busy_ = false;
    return try_take_locked(out);
  }

  /// The claimed node's await is cancelled: frees the node, and returns
  /// whether it had been woken (or pushed to its task by a yield), which the
  /// caller must then purge from its task.
  bool release_node_cancelled() noexcept {
    lock_guard guard(lock_);
    rx_node_busy_ = false;
    if (rx_waiter_ == &rx_node_) {
      rx_waiter_ = nullptr;
      return false;
    }
    return true;
  }

  /// A parked plain thread (blocking_recv) gives up its node.
  void cancel_park(wake_node* node) noexcept {
    lock_guard guard(lock_);
    if (rx_waiter_ == node) rx_waiter_ = nullptr;
  }

  /// The node claim_node_locked() handed out.
  wake_node& claimed_node() noexcept { return rx_node_; }

  /// The receiver's "an await completed" flag (the receiver's owner only).
  bool& rx_completed() noexcept { return rx_completed_; }

  mutex& lock() const noexcept { return lock_; }

 private:
  void wake_receiver() noexcept {
    if (wake_node* r = std::exchange(rx_waiter_, nullptr)) r->wake();
  }

  void wake_sender() noexcept {
    if (wake_node* t = std::exchange(tx_waiter_, nullptr)) t->wake();
  }

  void check_unused_locked() const {
    if (rx_waiter_ != nullptr || rx_node_busy_) {
      throw_oneshot_misuse("kyoto::sync::oneshot::receiver: awaited by two coroutines at once");
    }
  }

  // Ordered so that the small fields share the first 16 bytes with the
  // lock: 80 bytes for a small T (one frame-pool class).
  mutable mutex lock_;
  bool rx_node_busy_ = false;  ///< an await is suspended with rx_node_
  bool tx_done_ = false;       ///< sent, or the sender is gone
  bool rx_closed_ = false;     ///< closed, or the receiver is gone
  bool taken_ = false;         ///< the receiver has the value
  bool rx_completed_ = false;  ///< an await completed (not guarded: receiver only)
  bool tx_awaiting_ = false;   ///< a closed() is suspended (not guarded: sender only)
  /// The two halves; the second to go frees the state.
  atomic<int> refs_{2};
  std::optional<T> value_;
  /// The receiver's awaits' node; in use while rx_node_busy_.
  wake_node rx_node_;
  /// The parked receiver (rx_node_, or a blocking_recv thread's node).
  wake_node* rx_waiter_ = nullptr;
  /// The sender parked in closed() (its awaiter's node), until woken.
  wake_node* tx_waiter_ = nullptr;
};

}  // namespace kyoto::detail
