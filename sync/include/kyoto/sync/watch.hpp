// kyoto::sync::watch: a single-producer, multi-consumer channel that keeps
// only the latest value (tokio's sync::watch, as of tokio 1.24).
//
//   auto [tx, rx] = kyoto::sync::watch::channel<std::string>("hello");
//   kyoto::spawn([](kyoto::sync::watch::receiver<std::string> rx) -> kyoto::task<> {
//     for (;;) {
//       auto r = co_await rx.changed();
//       if (!r.has_value()) break;             // the sender is gone
//       std::cout << *rx.borrow_and_update() << '\n';
//     }
//   }, rx);                                  // a copy is tokio's rx.clone()
//   tx.send("world").expect("a receiver is alive");
//
// # The shared state and who touches what
//
//   value_     the latest value, behind a reader-writer lock (`rw_`): borrows
//              hold it shared, the sender's modifications exclusively.
//   state_     (atomic) the version, in steps of 2, and bit 0 CLOSED. Written
//              only by the sender: the version under the write lock, CLOSED
//              by its destructor. Read by everyone.
//   rx_count_  (atomic) live receivers; written by receiver copies, drops and
//              subscribe(). Read by the sender (send, is_closed, closed).
//   refs_      (atomic) live handles, sender included; the last frees the state.
//   lock_      guards the two waiter lists: parked changed() awaits and
//              parked sender::closed() awaits.
//
// # Versions
//
// Every receiver remembers the version it has seen (`seen_`, a plain field
// of the receiver: one task uses a receiver at a time). A receiver "has
// changed" while the channel's version differs from it. A modification
// (send, send_modify, send_replace, send_if_modified returning true)
// changes the value and adds 2 to the version *while holding the write
// lock*, so a borrow, which reads the version under the read lock, knows
// whether the value it holds is one it had seen (tokio's Ref::has_changed).
//
// CLOSED is set once, by the sender's destructor, and never unset; the
// version stops moving then. A receiver that has not seen the last version
// still gets it from changed() (ok) before changed() reports the end
// (recv_error): tokio's rx_observes_final_value. Dropping every receiver
// does not set CLOSED (subscribe() can reopen the channel): rx_count_ says
// whether there are receivers.
//
// # Parking and waking
//
// A changed() that finds nothing new takes lock_, reads state_ again and
// only then parks in changed_waiters_. The sender modifies state_ first and
// then takes lock_ to wake: so either the second read sees the change, or
// the waiter is in the list when the sender wakes it. Every parked changed()
// is woken (tokio's notify_waiters), so a cancelled one never swallows a
// wake another needed; and wakes are precise (only a new version or CLOSED
// wakes), so a woken changed() always has something to report.
//
// sender::closed() parks in closed_waiters_ the same way, against rx_count_:
// the receiver that takes the count to zero then takes lock_ and wakes the
// waiters if the count is still zero (a subscribe() may have reopened the
// channel meanwhile: tokio's closed() then waits on, and so does ours).
//
// Every wake happens under lock_, and every destroyed (cancelled) awaiter
// takes lock_ to learn whether it was woken: the wake rule of
// runtime/detail/task_header.hpp. The non-template half of all this lives in
// sync/src/watch.cpp.
//
// # Borrows are short
//
// A borrow guard (watch::ref) holds the read lock: the sender's next
// modification blocks its thread until the guard is gone. Keep guards to a
// statement or a block; **holding one across a co_await is misuse**: the
// sender's thread, possibly a runtime worker, would block on it; a second
// borrow from the same thread may deadlock; and the coroutine may resume on
// another thread, which must not release a lock it did not take. The lock is a
// std::shared_mutex (glibc's rwlock prefers readers, so a thread taking two
// borrows while a sender waits does not deadlock there, but do not rely on
// it: tokio gives no such guarantee either).
/// \namespace kyoto::sync::watch
/// A single-producer, multi-consumer channel that keeps only the latest
/// value (tokio::sync::watch).
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/misuse.hpp>
#include <kyoto/sync/detail/watch_shared.hpp>

#include <cassert>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <utility>

namespace kyoto::sync::watch {

/// The error of receiver::changed() and receiver::has_changed(): the sender
/// is gone (tokio's watch::error::RecvError). Thread-safe value type.
struct recv_error {
  /// "channel closed".
  const char* what() const noexcept { return "channel closed"; }
  friend bool operator==(const recv_error&, const recv_error&) = default;
};

/// The error of sender::send(): no receiver is alive. Holds the value that
/// was not sent (tokio's watch::error::SendError).
template <class T>
struct send_error {
  /// The value that was not sent.
  T value;
  /// "channel closed".
  const char* what() const noexcept { return "channel closed"; }
};

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
class changed_awaiter;
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial);

/// A borrow of a watch channel's value (tokio's watch::Ref): `*r`,
/// `r->member`. Holds the value's read lock until destroyed, so the
/// sender's next modification waits for it.
///
/// Keep it short, and never hold one across a co_await (see the file
/// comment). The handle it came from must outlive it. Move-only; used by
/// one thread at a time (the lock is released by the thread that took it).
template <class T>
class ref {
 public:
  /// Takes over `other`'s borrow and read lock; `other` holds none (its
  /// value may not be read).
  ref(ref&&) noexcept = default;
  /// Releases this borrow's read lock, if any, then takes over `other`'s.
  ref& operator=(ref&&) noexcept = default;
  ref(const ref&) = delete;
  ref& operator=(const ref&) = delete;

  /// The value. Precondition: not moved from.
  const T& operator*() const noexcept { return *value_; }
  /// The value's members. Precondition: not moved from.
  const T* operator->() const noexcept { return value_; }
  /// The value. Precondition: not moved from.
  const T& get() const noexcept { return *value_; }

  /// Whether the borrowed value is one the receiver had not seen when it
  /// borrowed (before borrow_and_update() marked it seen). Unlike
  /// receiver::has_changed() it does not fail once the sender is gone.
  /// Always false for a borrow from the sender.
  bool has_changed() const noexcept { return has_changed_; }

 private:
  friend class sender<T>;
  friend class receiver<T>;

  ref(std::shared_lock<std::shared_mutex> lock, const T* value, bool has_changed) noexcept
      : lock_(std::move(lock)), value_(value), has_changed_(has_changed) {}

  std::shared_lock<std::shared_mutex> lock_;
  const T* value_;
  bool has_changed_;
};

/// The awaiter of receiver::changed(); gives result<void, recv_error>.
///
/// Completes with ok, marking the newest version seen, once the channel
/// holds a version the receiver has not seen (at once if it already does);
/// with recv_error once the sender is gone and every version was seen.
/// Resumed on the awaiting task's thread. Cancel safety: cancel safe — a
/// cancelled changed() has marked nothing seen, and a change that woke it
/// is still reported by the next changed() (or has_changed()); every other
/// waiting receiver is woken regardless. Movable until awaited; awaited once.
template <class T>
class [[nodiscard]] changed_awaiter {
 public:
  /// Made by receiver::changed(); not constructed by users.
  explicit changed_awaiter(receiver<T>* rx) noexcept : rx_(rx) {}
  /// Movable until awaited (so it can be passed to join()); the source is
  /// used up.
  changed_awaiter(changed_awaiter&& o) noexcept : rx_(o.rx_), done_(std::exchange(o.done_, true)) {
    assert(!o.suspended_ && !o.claimed_ && "a changed_awaiter moved while awaited");
  }
  changed_awaiter(const changed_awaiter&) = delete;
  changed_awaiter& operator=(const changed_awaiter&) = delete;
  ~changed_awaiter() {
    if (suspended_) {
      kyoto::detail::wake_node& node = waiter_.node;
      // yield_ is ours (the yielded node is in no list); waiter_.st of a
      // parked waiter is written by wakers under the lock, so only
      // cancel_wait() may read it.
      if (yield_ || rx_->shared_->cancel_wait(&waiter_, false)) {
        node.task->purge(&node);
      }
    }
    if (claimed_) rx_->changing_ = false;
  }

  /// await_ready() returns false holding the lock (unlocked only when it yields to the
  /// budget: `yield_`); await_suspend() releases it — see the awaitable contract in
  /// runtime/detail/awaitable.hpp.
  bool await_ready() {
    if (done_) kyoto::detail::throw_awaited_twice("kyoto::sync::watch::receiver::changed");
    if (rx_->changing_) kyoto::detail::throw_concurrent_changed();
    rx_->changing_ = true;  // until await_resume, or our destruction
    claimed_ = true;
    kyoto::detail::watch_shared<T>* s = rx_->shared_.get();
    std::uint64_t state = s->load_state();
    if (!news(state)) {
      s->lock().lock();
      kyoto::detail::unlock_guard unlock(s->lock());
      state = s->load_state();  // again, under lock_: see "Parking and waking"
      if (!news(state)) {
        unlock.release();  // keeps lock_ for await_suspend, which parks
        return false;
      }
    }
    if (kyoto::detail::coop_proceed()) {
      ok_ = take(state);
      return true;
    }
    yield_ = true;  // out of budget: yield first, report when resumed
    return false;
  }

  /// Parks the awaiting coroutine `h` and releases the lock await_ready()
  /// kept; out of budget (no lock kept), yields it instead.
  void await_suspend(std::coroutine_handle<> h) {
    if (yield_) {
      waiter_.node.prepare(h);
      waiter_.st = kyoto::detail::watch_waiter::state::yielded;
      suspended_ = true;
      kyoto::detail::coop_yield(waiter_.node);
      return;
    }
    kyoto::detail::unlock_guard unlock(rx_->shared_->lock());
    waiter_.node.prepare(h);  // may throw (outside a task): nothing parked yet
    rx_->shared_->park_changed_locked(&waiter_);
    suspended_ = true;
  }

  /// Nothing once a new version was seen (now marked seen); recv_error
  /// once the sender is gone and every version was seen.
  result<void, recv_error> await_resume() {
    done_ = true;
    if (suspended_) {
      suspended_ = false;
      // Woken (a new version or CLOSED: wakes are precise) or yielded with
      // news; either way the news is still there, as nothing is ever undone.
      const std::uint64_t state = rx_->shared_->load_state();
      // If another branch of this task marked the news seen meanwhile (a
      // borrow_and_update() in a join), the change happened: report it.
      ok_ = take(state) || !kyoto::detail::watch_shared_base::is_closed(state);
    }
    rx_->changing_ = false;
    claimed_ = false;
    if (ok_) return {};
    return unexpected(recv_error{});
  }

  /// For task dumps: waiting for a change of this receiver's value.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "watch changed";
    d.object = rx_;
  }

 private:
  /// Something to report: an unseen version, or the end.
  bool news(std::uint64_t state) const noexcept {
    return kyoto::detail::watch_shared_base::version_of(state) != rx_->seen_ ||
           kyoto::detail::watch_shared_base::is_closed(state);
  }
  /// Marks an unseen version seen; false if there was none (the end).
  bool take(std::uint64_t state) noexcept {
    const std::uint64_t v = kyoto::detail::watch_shared_base::version_of(state);
    if (v == rx_->seen_) return false;
    rx_->seen_ = v;
    return true;
  }

  receiver<T>* rx_;
  kyoto::detail::watch_waiter waiter_;
  bool ok_ = false;
  bool suspended_ = false;
  bool yield_ = false;    ///< the budget made us yield before reporting
  bool claimed_ = false;  ///< we set rx_->changing_
  bool done_ = false;     ///< awaited once already
};

/// The receiving half (tokio's watch::Receiver): reads the latest value and
/// waits for changes. Copyable: a copy is tokio's clone(), another receiver
/// of the same channel that starts with this one's seen version.
///
/// Thread safety: const members (borrow, has_changed, same_channel) may be
/// called concurrently; the others need the receiver to themselves (one
/// task at a time). Different receivers may be used concurrently anywhere.
template <class T>
class receiver {
 public:
  /// Another receiver of the same channel, starting with `o`'s seen
  /// version (tokio's clone()).
  receiver(const receiver& o) noexcept : shared_(o.shared_), seen_(o.seen_) {}
  /// Takes over `o`'s channel and seen version; `o` is left empty (using
  /// it throws std::logic_error). Precondition: no changed() on `o` is in
  /// progress.
  receiver(receiver&& o) noexcept : shared_(std::move(o.shared_)), seen_(o.seen_) {
    assert(!o.changing_ && "a watch receiver moved while changed() is awaited");
  }
  /// Copy or move assignment; the receiver previously held is dropped.
  receiver& operator=(receiver o) noexcept {
    assert(!changing_ && "a watch receiver assigned while changed() is awaited");
    std::swap(shared_, o.shared_);
    std::swap(seen_, o.seen_);
    return *this;
  }
  /// Drops the receiver; the last one wakes sender::closed().
  /// Precondition: no changed() on it is in progress.
  ~receiver() { assert(!changing_ && "a watch receiver destroyed while changed() is awaited"); }

  /// The latest value, without marking it seen (tokio's borrow). The guard
  /// holds the read lock: keep it short, never across a co_await.
  ref<T> borrow() const {
    kyoto::detail::watch_shared<T>* s = checked("kyoto::sync::watch::receiver::borrow");
    std::shared_lock<std::shared_mutex> lock(s->rw_);
    const std::uint64_t v =
        kyoto::detail::watch_shared_base::version_of(s->load_state_under_value_lock());
    return ref<T>(std::move(lock), &s->value_, v != seen_);
  }

  /// The latest value, marking it seen: changed() waits for the next
  /// modification after it (tokio's borrow_and_update). Same guard rules.
  ref<T> borrow_and_update() {
    kyoto::detail::watch_shared<T>* s = checked("kyoto::sync::watch::receiver::borrow_and_update");
    std::shared_lock<std::shared_mutex> lock(s->rw_);
    const std::uint64_t v =
        kyoto::detail::watch_shared_base::version_of(s->load_state_under_value_lock());
    const bool changed = v != seen_;
    seen_ = v;
    return ref<T>(std::move(lock), &s->value_, changed);
  }

  /// Whether the channel holds a version this receiver has not seen (it is
  /// not marked seen); recv_error once the sender is gone, even if there is
  /// an unseen version (tokio's has_changed; borrow().has_changed() still
  /// tells then).
  result<bool, recv_error> has_changed() const {
    const std::uint64_t state = checked("kyoto::sync::watch::receiver::has_changed")->load_state();
    if (kyoto::detail::watch_shared_base::is_closed(state)) return unexpected(recv_error{});
    return kyoto::detail::watch_shared_base::version_of(state) != seen_;
  }

  /// Waits for a version this receiver has not seen and marks the newest
  /// seen; completes at once if there is one already. Gives recv_error once
  /// the sender is gone and the last version was seen. Must be awaited in a
  /// runtime task; one changed() per receiver at a time (another while one
  /// is in progress throws std::logic_error); the receiver must outlive the
  /// awaiter and not be moved meanwhile. Cancel safe (see changed_awaiter).
  changed_awaiter<T> changed() {
    checked("kyoto::sync::watch::receiver::changed");
    return changed_awaiter<T>(this);
  }

  /// Whether both receivers belong to the same channel.
  bool same_channel(const receiver& other) const noexcept {
    return shared_.get() == other.shared_.get();
  }

 private:
  friend class sender<T>;
  friend class changed_awaiter<T>;
  friend std::pair<sender<T>, receiver<T>> channel<T>(T);

  receiver(kyoto::detail::watch_shared<T>* s, std::uint64_t seen) noexcept
      : shared_(s), seen_(seen) {}

  kyoto::detail::watch_shared<T>* checked(const char* operation) const {
    if (!shared_) kyoto::detail::throw_empty_handle(operation);
    return shared_.get();
  }

  /// A receiver's count; empty once moved from.
  kyoto::detail::counted_ref<kyoto::detail::watch_shared<T>,
                             &kyoto::detail::watch_shared<T>::release_receiver,
                             &kyoto::detail::watch_shared<T>::add_receiver>
      shared_;
  /// The version this receiver has seen (without the CLOSED bit).
  std::uint64_t seen_;
  /// A changed() on this receiver is in progress (not copied or moved).
  bool changing_ = false;
};

/// The sending half (tokio's watch::Sender): replaces or modifies the value
/// and wakes the receivers. Move-only (tokio 1.24's Sender is not Clone);
/// destroying it closes the channel: changed() reports recv_error once the
/// last version is seen. A moved-from sender is empty: using it throws
/// std::logic_error naming the operation.
///
/// Thread safety: every member may be called concurrently from any threads
/// (tokio's Sender is Sync), e.g. through a shared reference; moving and
/// destroying need it to themselves. A modification blocks the calling
/// thread while a borrow guard is held (briefly, if borrows are short).
template <class T>
class sender {
 public:
  /// Takes over `other`'s channel; `other` is left empty (using it throws
  /// std::logic_error).
  sender(sender&&) noexcept = default;
  /// Closes the channel this sender had, then takes `o`'s.
  sender& operator=(sender&&) noexcept = default;
  /// Closes the channel (see the class comment).
  ~sender() = default;

  /// Replaces the value and wakes every receiver, if there is one; with no
  /// receiver alive, hands the value back in a send_error and changes
  /// nothing (tokio's send). The old value is destroyed after the locks are
  /// released. Any thread, no await.
  result<void, send_error<T>> send(T value) {
    checked("kyoto::sync::watch::sender::send");
    if (receiver_count() == 0) return unexpected(send_error<T>{std::move(value)});
    (void)send_replace(std::move(value));
    return {};
  }

  /// Calls `modify(value)` under the write lock and wakes every receiver,
  /// even with none alive (a later subscribe() sees the value). If `modify`
  /// throws, its changes stay visible, nobody is woken and the exception
  /// propagates (tokio's panic). `modify` must not use this channel.
  template <class F>
    requires std::invocable<F&, T&>
  void send_modify(F&& modify) {
    send_if_modified([&modify](T& value) {
      std::invoke(modify, value);
      return true;
    });
  }

  /// Calls `modify(value)` under the write lock; if it returns true, makes
  /// a new version and wakes every receiver (even with none alive). If it
  /// returns false, receivers are not told: changes it made anyway are
  /// silent. Returns what `modify` returned. Exceptions as send_modify.
  template <class F>
    requires std::is_invocable_r_v<bool, F&, T&>
  bool send_if_modified(F&& modify) {
    kyoto::detail::watch_shared<T>* s = checked("kyoto::sync::watch::sender::send_if_modified");
    {
      std::unique_lock<std::shared_mutex> lock(s->rw_);
      const bool modified = std::invoke(modify, s->value_);
      if (!modified) return false;
      s->bump_version();  // under the write lock: see "Versions"
    }
    s->notify_receivers();
    return true;
  }

  /// Replaces the value, wakes every receiver (even with none alive) and
  /// returns the previous value (tokio's send_replace).
  T send_replace(T value) {
    checked("kyoto::sync::watch::sender::send_replace");
    send_modify([&value](T& current) {
      using std::swap;
      swap(current, value);
    });
    return value;
  }

  /// The latest value (tokio's Sender::borrow); the guard's has_changed()
  /// is false. Same guard rules as receiver::borrow().
  ref<T> borrow() const {
    kyoto::detail::watch_shared<T>* s = checked("kyoto::sync::watch::sender::borrow");
    std::shared_lock<std::shared_mutex> lock(s->rw_);
    return ref<T>(std::move(lock), &s->value_, false);
  }

  /// Whether every receiver is gone (a send() would fail). A hint: a
  /// subscribe() may reopen the channel.
  bool is_closed() const {
    return checked("kyoto::sync::watch::sender::is_closed")->receiver_count() == 0;
  }

  /// The number of live receivers.
  std::size_t receiver_count() const {
    return checked("kyoto::sync::watch::sender::receiver_count")->receiver_count();
  }

  /// A new receiver, which has seen the current version (tokio's
  /// subscribe). Reopens the channel if every receiver was gone.
  receiver<T> subscribe() const {
    kyoto::detail::watch_shared<T>* s = checked("kyoto::sync::watch::sender::subscribe");
    s->add_receiver();
    return receiver<T>(s, kyoto::detail::watch_shared_base::version_of(s->load_state()));
  }

  /// Completes when no receiver is alive: at once if there is none,
  /// otherwise when the last one goes (and, as tokio's, waits on if a
  /// subscribe() reopened the channel before it resumed). Must be awaited
  /// in a runtime task; this sender must outlive the await. Resumed on the
  /// awaiting task's thread. Cancel safe: a cancelled closed() has no effect.
  task<> closed() const {
    return kyoto::detail::watch_wait_closed(checked("kyoto::sync::watch::sender::closed"));
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(T);

  explicit sender(kyoto::detail::watch_shared<T>* s) noexcept : shared_(s) {}

  kyoto::detail::watch_shared<T>* checked(const char* operation) const {
    if (!shared_) kyoto::detail::throw_empty_handle(operation);
    return shared_.get();
  }

  /// The sender's reference; dropping it closes the channel. Empty once
  /// moved from.
  kyoto::detail::counted_ref<kyoto::detail::watch_shared<T>,
                             &kyoto::detail::watch_shared<T>::release_sender>
      shared_;
};

/// A new watch channel holding `initial` (tokio's watch::channel): the
/// sender and one receiver, which has seen `initial`. T may be deduced
/// (`channel(0)`) or given (`channel<std::string>("hello")`); it must be
/// movable and swappable (send_replace swaps).
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial) {
  auto* s = new kyoto::detail::watch_shared<T>(std::move(initial));
  return {sender<T>(s), receiver<T>(s, 0)};
}

}  // namespace kyoto::sync::watch
