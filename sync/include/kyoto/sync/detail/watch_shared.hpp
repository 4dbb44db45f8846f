// The state a kyoto::sync::watch channel's handles share: the version
// word, the counts, the waiter lists, the value and its lock (the protocol
// is in <kyoto/sync/watch.hpp>'s file comment; the non-template half is in
// sync/src/watch.cpp).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <utility>

namespace kyoto::detail {

/// std::logic_error: a second changed() on one watch receiver.
[[noreturn]] KYOTO_EXPORT void throw_concurrent_changed();

/// A parked changed() or sender::closed() await.
struct watch_waiter {
  enum class state : unsigned char {
    idle,     ///< not suspended
    parked,   ///< in a watch_waiter list
    woken,    ///< taken off the list and woken (by the waker, under lock_)
    yielded,  ///< out of cooperative budget: pushed to its own task, in no list
  };

  watch_waiter* prev = nullptr;  ///< list links, guarded by the channel's lock_
  watch_waiter* next = nullptr;
  wake_node node;
  state st = state::idle;  ///< parked -> woken under lock_; otherwise the awaiter's own
};

/// What a channel's handles share apart from the value: the version word,
/// the counts and the watch_waiter lists (see the file comment). Not a template:
/// its longer members are in sync/src/watch.cpp.
class KYOTO_EXPORT watch_shared_base {
 public:
  /// state_ bit 0: the sender is gone. Never unset once set.
  static constexpr std::uint64_t closed_bit = 1;
  /// What a modification adds to state_ (the version lives above bit 0).
  static constexpr std::uint64_t version_step = 2;

  static constexpr std::uint64_t version_of(std::uint64_t state) noexcept {
    return state & ~closed_bit;
  }
  static constexpr bool is_closed(std::uint64_t state) noexcept {
    return (state & closed_bit) != 0;
  }

  watch_shared_base() = default;
  watch_shared_base(const watch_shared_base&) = delete;
  watch_shared_base& operator=(const watch_shared_base&) = delete;

  /// The version word. Any thread.
  std::uint64_t load_state() const noexcept {
    // Acquire: pairs with the release fetch_add in bump_version() and the
    // release fetch_or in drop_sender(): whoever sees a version (or CLOSED)
    // also sees what the sending thread did before that send (or drop), as
    // a channel must (tokio uses SeqCst for the same edge).
    return state_.load(std::memory_order_acquire);
  }

  /// The version word read under the value's lock (shared or exclusive),
  /// which already orders it with the write that made it.
  std::uint64_t load_state_under_value_lock() const noexcept {
    return state_.load(std::memory_order_relaxed);
  }

  /// A modification is done. Precondition: the caller (the sender) holds
  /// the value's write lock, so readers see versions and values together.
  void bump_version() noexcept {
    // Release: publishes the sender's writes before this send; pairs with
    // the acquire in load_state().
    state_.fetch_add(version_step, std::memory_order_release);
  }

  /// Wakes every parked changed(). Takes lock_.
  void notify_receivers() noexcept;

  /// The number of live receivers. Any thread.
  std::size_t receiver_count() const noexcept {
    // Acquire: pairs with the release decrement in drop_receiver(), so a
    // sender that sees no receivers sees what they did before going.
    return rx_count_.load(std::memory_order_acquire);
  }

  /// A receiver is made (a copy of one, or subscribe()).
  void add_receiver() noexcept {
    // Relaxed: counters only; the new handle is made from a live one (a
    // receiver, or the sender), which keeps the state alive meanwhile.
    rx_count_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  /// A receiver goes: the last one wakes sender::closed(). Returns true if
  /// the caller must free the state (it was the last handle).
  bool drop_receiver() noexcept;

  /// The sender goes: sets CLOSED and wakes every changed(). Returns true if
  /// the caller must free the state.
  bool drop_sender() noexcept;

  /// The lock guarding the watch_waiter lists.
  mutex& lock() const noexcept { return lock_; }

  /// Precondition: lock_ held, `w`'s node prepared. Parks a changed().
  void park_changed_locked(watch_waiter* w) noexcept {
    w->st = watch_waiter::state::parked;
    changed_waiters_.push_back(w);
  }

  /// Precondition: lock_ held, `w`'s node prepared. Parks a closed().
  void park_closed_locked(watch_waiter* w) noexcept {
    w->st = watch_waiter::state::parked;
    closed_waiters_.push_back(w);
  }

  /// A suspended await is destroyed. Unlinks `w` if it is still parked
  /// (`closed_list`: in closed_waiters_, else changed_waiters_); returns
  /// whether its node was woken (or yielded) and must be purged from its task.
  bool cancel_wait(watch_waiter* w, bool closed_list) noexcept;

 protected:
  ~watch_shared_base() = default;

 private:
  /// Version and CLOSED; see the file comment. Written by the sender only.
  atomic<std::uint64_t> state_{0};
  /// Live receivers. Written by receiver copies/drops and subscribe().
  atomic<std::size_t> rx_count_{1};
  /// Live handles (the sender and the receivers); the last frees the state.
  atomic<std::size_t> refs_{2};
  /// Guards the two lists and the waiters' `st` while parked.
  mutable mutex lock_;
  intrusive_list<watch_waiter> changed_waiters_;
  intrusive_list<watch_waiter> closed_waiters_;
};

/// The shared state: watch_shared_base and the value with its lock.
template <class T>
class watch_shared final : public watch_shared_base {
 public:
  explicit watch_shared(T&& initial) : value_(std::move(initial)) {}

  /// Frees the state if `last` (what drop_sender/drop_receiver returned).
  void dispose(bool last) noexcept {
    if (last) delete this;
  }

  /// A receiver's counted_ref drop: the receiver goes (the last handle
  /// frees the state).
  void release_receiver() noexcept { dispose(drop_receiver()); }

  /// The sender's counted_ref drop: it goes, closing the channel.
  void release_sender() noexcept { dispose(drop_sender()); }

  /// Readers (borrows) hold it shared, modifications exclusively.
  mutable std::shared_mutex rw_;
  /// The latest value; guarded by rw_.
  T value_;
};

/// The awaiter of sender::closed()'s single wait: true when it completed
/// with no receiver alive. Out of line in sync/src/watch.cpp.
class [[nodiscard]] KYOTO_EXPORT watch_closed_awaiter {
 public:
  explicit watch_closed_awaiter(watch_shared_base* s) noexcept : shared_(s) {}
  watch_closed_awaiter(const watch_closed_awaiter&) = delete;
  watch_closed_awaiter& operator=(const watch_closed_awaiter&) = delete;
  ~watch_closed_awaiter();

  /// await_ready() returns false holding the lock (unlocked only when it yields to the
  /// budget: `yield_`); await_suspend() releases it — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  bool await_resume() noexcept;

 private:
  watch_shared_base* shared_;
  watch_waiter waiter_;
  bool suspended_ = false;
  bool yield_ = false;  ///< no receiver, but out of budget: yield first
};

/// sender::closed(): waits until no receiver is alive, waiting again if a
/// subscribe() reopened the channel before it resumed (tokio's loop).
KYOTO_EXPORT task<> watch_wait_closed(watch_shared_base* s);

}  // namespace kyoto::detail
