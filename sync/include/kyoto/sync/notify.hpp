// kyoto::sync::notify: wakes one waiting task, or every waiting task,
// without passing data (tokio 1.24's sync::Notify).
//
//   kyoto::sync::notify ready;
//   // in a task:                co_await ready.notified();
//   // in another, or a thread:  ready.notify_one();
//
// A notify is a semaphore that holds at most one permit. notify_one() wakes
// the longest-waiting notified, or stores the permit when nobody waits;
// awaiting a notified consumes the permit or waits for one. notify_waiters()
// completes every notified waiting at that moment *and every notified
// created before the call*, and stores nothing.
//
// # The state word
//
// `state_` packs a state and a counter, so that notify_one() with nobody
// waiting, and an await that finds the permit, take no lock:
//
//   bits 0-1  EMPTY     no permit, nobody waiting
//             WAITING   the wait list is not empty
//             NOTIFIED  one permit is stored (the list is empty)
//   bits 2-63 how many times notify_waiters() was called (wrapping)
//
// Invariant, whenever `lock_` is free: WAITING <=> the list is not empty.
//
//   EMPTY|NOTIFIED -> NOTIFIED   notify_one(): one CAS, no lock
//   NOTIFIED -> EMPTY            a notified takes the permit: a CAS, in
//                                try_take() (no lock) or enqueue() (locked)
//   EMPTY -> WAITING             a notified joins the list (CAS, locked)
//   WAITING -> EMPTY             the list empties: notify_one() /
//                                notify_waiters() pop the last waiter, or a
//                                destroyed notified unlinks it (locked)
//   counter + 1                  notify_waiters() (locked)
//
// Only lock holders enter or leave WAITING or move the counter, so while
// the state is WAITING nobody but the lock holder writes the word: a lock
// holder may store it. Elsewhere writers CAS, as lock-free CASes may flip
// EMPTY <-> NOTIFIED at any time.
//
// Orderings (tokio uses SeqCst throughout; none is needed): a write that
// stores the permit or the counter is a release, and a lock-free read that
// takes the permit or compares the counter is an acquire, so what preceded
// a notify call is visible to the notified it completes. The rest is
// ordered by lock_. Lost wake-ups are excluded by the word alone: its RMWs
// are totally ordered, so a notify_one() either CASes before a waiter's
// EMPTY -> WAITING (which then fails and finds the permit) or sees WAITING
// and takes the lock after the waiter's critical section. Plain stores
// (under the lock) end earlier release sequences, so they are releases too.
//
// # notified: a place in the queue
//
// `notify.notified()` snapshots the counter. Its enable() or first await:
//   - completes if the counter moved since (notify_waiters() was called
//     after the notified was created), or by taking the stored permit;
//   - otherwise appends the notified's entry to the FIFO wait list.
// notify_one() pops the first entry and marks it ONE; notify_waiters() pops
// them all and marks them ALL. A mark is set, and the awaiting coroutine
// (if an await is suspended on the entry) woken, under `lock_`; every
// awaiter's and notified's destructor takes `lock_` before it looks at its
// entry (the wake rule in runtime/detail/task_header.hpp). A notified that
// is only enabled, not awaited, is marked without a wake; its next await or
// enable() sees the mark.
//
// # Forwarding (cancel safety)
//
// A ONE mark is the permit handed to one waiter. Until the notified
// *observes* it (an await of it returns, or enable() returns true) it could
// be lost with the notified, so a notified destroyed holding an unobserved
// ONE hands it on under the lock: to the next waiter, or back as the stored
// permit. An ALL mark is not passed on (notify_waiters() stores nothing).
//
// The await is a separate object (notified_awaiter) from the notified: an
// await cancelled while its notified lives on (an lvalue notified awaited in
// a join branch or under a timeout that is cancelled) detaches its
// coroutine from the entry; the notified keeps its place in the list, or
// its mark, for its next await.
//
// # The cooperative budget
//
// An await that can complete at once consumes one unit of the task's budget
// (runtime/detail/coop.hpp); with none left it yields first, and completes
// when the task runs again. If it took the permit to do so, the notified
// holds that ONE while it yields, and forwards it if destroyed meanwhile.
// (tokio 1.24's Notified is not budgeted; kyoto's primitives all are.)
#pragma once

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>
#include <kyoto/sync/detail/notify_waiter.hpp>

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <utility>

namespace kyoto::sync {

class notified;
class notified_awaiter;

/// Notifies tasks of an event, without data (tokio's Notify). Think of it
/// as a semaphore that holds at most one permit.
///
///   - notify_one() wakes the first waiting notified (FIFO); if none waits,
///     it stores the permit, so the next await completes at once. Several
///     calls with nobody waiting still store only one permit.
///   - notify_waiters() completes every notified waiting now, and every
///     notified created before the call even if not yet awaited; it stores
///     no permit.
///   - notified() makes the object to await (or enable()).
///
/// Neither copyable nor movable: notified objects refer to it. It must
/// outlive every notified made from it.
///
/// Thread safety: every member may be called concurrently, from tasks on
/// any worker and from plain threads.
class KYOTO_EXPORT notify {
 public:
  /// A notify without a permit.
  notify() noexcept = default;
  notify(const notify&) = delete;
  notify& operator=(const notify&) = delete;
  /// Precondition: no notified made from it is still enabled or awaited.
  ~notify() { assert(waiters_.empty() && "kyoto::sync::notify destroyed while a notified waits"); }

  /// Wakes the first waiting notified (the one that has waited longest),
  /// or, if none waits, stores the permit (at most one is stored). Never
  /// blocks on a waiter; takes a lock only when someone waits. Any thread;
  /// the woken coroutine resumes on its own task's thread.
  void notify_one() noexcept;

  /// Completes every notified waiting right now, and every notified
  /// created before this call that is not waiting yet; stores no permit
  /// (a notified created after this call is not affected). Any thread;
  /// takes the lock.
  void notify_waiters() noexcept;

  /// A notified to await (tokio's Notify::notified). It sees calls of
  /// notify_waiters() made from now on, even before it is awaited; it joins
  /// the queue for notify_one() only when enabled or awaited. Any thread.
  [[nodiscard]] kyoto::sync::notified notified() noexcept;

 private:
  friend class kyoto::sync::notified;
  friend class kyoto::sync::notified_awaiter;
  using waiter = kyoto::detail::notify_waiter;
  using mark = kyoto::detail::notify_mark;

  // The state in bits 0-1 of state_ (see the file comment).
  /// Nobody waits and no permit is stored.
  static constexpr std::uint64_t state_empty = 0;
  /// The list is not empty. Entered and left only under lock_.
  static constexpr std::uint64_t state_waiting = 1;
  /// One permit is stored, and the list is empty.
  static constexpr std::uint64_t state_notified = 2;
  static constexpr std::uint64_t state_mask = 3;
  /// One notify_waiters() call in the counter (bits 2-63).
  static constexpr std::uint64_t one_call = 4;

  static constexpr std::uint64_t calls_of(std::uint64_t word) noexcept { return word >> 2; }
  static constexpr std::uint64_t with_state(std::uint64_t word, std::uint64_t state) noexcept {
    return (word & ~state_mask) | state;
  }

  /// Lock-free part of enable()/await for a notified created when the
  /// counter was `calls`: ALL if the counter moved, ONE if it took the
  /// permit, else none (then enqueue() decides under the lock).
  mark try_take(std::uint64_t calls) noexcept;

  // ---- out of line (src/notify.cpp); each takes lock_ ----

  /// notify_one() when someone may wait.
  void notify_one_contended() noexcept;
  /// Precondition: lock_ held, `word` loaded under it. Marks the first
  /// waiter ONE and wakes it, or stores the permit.
  void notify_locked(std::uint64_t word) noexcept;
  /// A notified created at `calls` registers: ALL if the counter moved, ONE
  /// if it took the permit, else none: `w` is appended with `waker`.
  mark enqueue(waiter* w, std::uint64_t calls, kyoto::detail::wake_node* waker) noexcept;
  /// An enqueued entry is polled: its mark; if none, `waker` (unless null)
  /// is attached to it.
  mark poll(waiter* w, kyoto::detail::wake_node* waker) noexcept;
  /// A suspended await on `w` is cancelled: detaches `node`. Returns true
  /// if a notifier took and woke it (the caller purges it from its task).
  bool detach(waiter* w, kyoto::detail::wake_node* node) noexcept;
  /// An enqueued notified is destroyed: unlinks it, or forwards its ONE.
  void leave(waiter* w) noexcept;
  /// An enqueued notified moves from `from` to `to`: `to` takes its mark,
  /// or its place in the list.
  void relink(waiter* from, waiter* to) noexcept;

  /// State (bits 0-1) and notify_waiters() counter; see the file comment.
  /// Written by notify_one() (lock-free CAS), by notifieds taking the
  /// permit (CAS), and by lock holders; read by everyone.
  kyoto::detail::atomic<std::uint64_t> state_{state_empty};
  /// Guards the list and every entry's fields.
  kyoto::detail::mutex lock_;
  /// The waiters, FIFO (the front is notify_one()'s next target); guarded
  /// by lock_.
  kyoto::detail::intrusive_list<waiter> waiters_;
};

/// The awaitable that notify::notified() returns (tokio's Notified): a
/// place in the notify's queue. `co_await n` completes once n is notified;
/// `n.enable()` joins the queue without waiting.
///
/// It completes when, after it was created, notify_waiters() is called, or
/// when it takes the stored permit or is picked by notify_one() (it joins
/// the queue for notify_one() at its first enable() or await). Completed by
/// notify_waiters(), it leaves a stored permit alone (tokio 1.24 takes it).
/// Once completed it stays completed: awaiting it again completes at once
/// (tokio's Notified is fused).
///
/// Move-only. Moving is meant for before the first enable()/await; it
/// stays correct after enable() too (the moved-to object takes the place in
/// the queue), but not while an await is suspended on it. Awaiting or
/// enabling a moved-from notified throws std::logic_error.
///
/// Thread safety: one task or thread at a time uses a notified (enable,
/// await, move, destroy); the notify calls that complete it may come from
/// anywhere. It must not outlive its notify.
///
/// Cancel safety: destroying it unlinks it from the queue; if notify_one()
/// had picked it but it did not complete (its await never resumed, or it
/// was only enabled and enable() did not return true yet), the
/// notification passes to the next waiter, or back to the stored permit.
/// Nothing is lost, but the place in the queue is. Cancelling an await of
/// an lvalue notified keeps the notified's place (or its notification) for
/// its next await.
class [[nodiscard]] KYOTO_EXPORT notified {
 public:
  /// Takes `o`'s state (and, if it is enabled, its place in the queue);
  /// `o` is left moved-from. Precondition: no await is suspended on `o`.
  notified(notified&& o) noexcept;
  /// Drops this notified (as its destructor) and takes `o`'s state: the
  /// port of tokio's `future.set(notify.notified())`.
  notified& operator=(notified&& o) noexcept;
  notified(const notified&) = delete;
  notified& operator=(const notified&) = delete;
  /// Leaves the queue, forwarding a notify_one() notification it got but
  /// did not complete with (see the class comment). Precondition: no await
  /// is suspended on it.
  ~notified() {
    if (phase_ == phase::waiting || phase_ == phase::held) release_slow();
  }

  /// Joins the queue for notify_one() without waiting (tokio's
  /// Notified::enable), so a notify_one() between enable() and the await
  /// is not missed. Returns true if the notified is complete: notify_waiters()
  /// was called since its creation, it took the stored permit, or it was
  /// already picked (then it stays complete; its await completes at once).
  /// Calling it again is harmless. Never waits; takes the lock unless the
  /// permit or notify_waiters() settles it. Throws std::logic_error if moved
  /// from.
  bool enable();

  /// Awaits this notified in place: it stays usable after a cancelled await
  /// (see the class comment). Resumed on the awaiting task's thread.
  notified_awaiter operator co_await() & noexcept;

  /// The awaiter of an rvalue notified (defined below).
  class owning_awaiter;

  /// Awaits a temporary (`co_await notify.notified()`, or
  /// `co_await std::move(n)`): the awaiter takes the notified, so it lives
  /// exactly as long as the await.
  owning_awaiter operator co_await() && noexcept;

 private:
  friend class notify;
  friend class notified_awaiter;

  /// Where the notified stands; only its owner reads or writes it.
  enum class phase : unsigned char {
    init,        ///< created; not in the queue, no notification
    waiting,     ///< enqueued: in the list, or marked (the entry tells)
    held,        ///< holds an unobserved ONE, taken by an await that yielded (budget)
    done,        ///< completed; never changes again (until moved from)
    moved_from,  ///< moved from (or destroyed)
  };

  notified(notify* n, std::uint64_t calls) noexcept : notify_(n), calls_(calls) {}

  /// Gives up the place or the held notification (destructor's slow path).
  void release_slow() noexcept;

  notify* notify_;
  /// The notify_waiters() counter when created.
  std::uint64_t calls_;
  /// The entry in notify_'s list (guarded by its lock).
  kyoto::detail::notify_waiter entry_;
  phase phase_ = phase::init;
  /// An await is suspended on it (owner only; catches a second await).
  bool awaited_ = false;
};

/// Awaiter of `co_await n` for an lvalue notified n; gives void.
///
/// Resumed on the awaiting task's thread, by the notify_one() or
/// notify_waiters() that picked n (or at once, if n was complete or took
/// the permit). Cancel safety: cancelling the await detaches it and leaves
/// n as it was: still queued, or holding the notification it received (its
/// next await completes at once; destroying it forwards a notify_one()).
/// Neither copyable nor movable; it refers to n, which must outlive it.
class [[nodiscard]] KYOTO_EXPORT notified_awaiter {
 public:
  /// An await of `n` (made by `co_await n`).
  explicit notified_awaiter(notified& n) noexcept : n_(&n) {}
  notified_awaiter(const notified_awaiter&) = delete;
  notified_awaiter& operator=(const notified_awaiter&) = delete;
  ~notified_awaiter() {
    if (suspended_) cancel();
  }

  /// Completes at once if n is complete, took the permit, or saw
  /// notify_waiters() (and the task's budget allows). Throws
  /// std::logic_error if n was moved from, or if another await of n is
  /// suspended.
  bool await_ready();
  /// Joins the queue (or attaches to n's place in it), unless n turns out
  /// to be complete. Throws std::logic_error outside a runtime task.
  bool await_suspend(std::coroutine_handle<> h);
  /// Marks n complete.
  void await_resume() noexcept;

  /// For task dumps: a notify_one/notify_waiters of this notify.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "notify";
    d.object = n_;
  }

 private:
  void cancel() noexcept;  // the await is destroyed while suspended

  notified* n_;
  kyoto::detail::wake_node node_;
  /// node_ is published: attached to n's entry, or on the task's ready
  /// stack after a budget yield.
  bool suspended_ = false;
  /// node_ went to the task's ready stack (coop_yield), not to the entry.
  bool yielded_ = false;
};

/// Awaiter of `co_await` on an rvalue notified: owns it, so the notified is
/// destroyed (forwarding what it must) exactly when the await is. As
/// notified_awaiter otherwise; neither copyable nor movable.
class [[nodiscard]] notified::owning_awaiter {
 public:
  /// An await owning `n` (made by `co_await std::move(n)`).
  explicit owning_awaiter(notified&& n) noexcept : owned_(std::move(n)), inner_(owned_) {}
  owning_awaiter(const owning_awaiter&) = delete;
  owning_awaiter& operator=(const owning_awaiter&) = delete;

  /// As notified_awaiter::await_ready().
  bool await_ready() { return inner_.await_ready(); }
  /// As notified_awaiter::await_suspend().
  bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
  /// As notified_awaiter::await_resume().
  void await_resume() noexcept { inner_.await_resume(); }

 private:
  notified owned_;          // declared first: outlives inner_
  notified_awaiter inner_;  // detaches from owned_ before owned_ leaves the queue
};

// ---- inline hot paths ----

inline void notify::notify_one() noexcept {
  // Relaxed: only a guess for the CAS, which checks it.
  std::uint64_t word = state_.load(std::memory_order_relaxed);
  while ((word & state_mask) != state_waiting) {
    // Nobody waits: store the permit, no lock. Release: publishes the
    // caller's writes to the notified that takes the permit (the acquire
    // CAS in try_take() or enqueue()). NOTIFIED -> NOTIFIED is written too,
    // so a second caller's writes are published to that taker as well.
    if (state_.compare_exchange_weak(word, with_state(word, state_notified),
                                     std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
  }
  notify_one_contended();
}

inline kyoto::sync::notified notify::notified() noexcept {
  // Acquire: pairs with the release writes of the counter in
  // notify_waiters() (and with the release stores that carry it on). A
  // caller that creates a notified, then checks a condition that another
  // thread sets before calling notify_waiters(), and finds it unset, must
  // have an older count, or its await would wait for a call already made.
  return kyoto::sync::notified(this, calls_of(state_.load(std::memory_order_acquire)));
}

inline kyoto::detail::notify_mark notify::try_take(std::uint64_t calls) noexcept {
  // Acquire: a moved counter completes the notified, whose owner must then
  // see what preceded notify_waiters(): pairs with its release write.
  std::uint64_t word = state_.load(std::memory_order_acquire);
  if (calls_of(word) != calls) return mark::all;
  if ((word & state_mask) != state_notified) return mark::none;
  // Acquire: takes the permit; pairs with the release CAS that stored it
  // (notify_one() or notify_locked()), so the notifier's writes are visible.
  if (state_.compare_exchange_strong(word, with_state(word, state_empty), std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
    return mark::one;
  }
  return mark::none;  // raced: enqueue() decides under the lock
}

inline notified::notified(notified&& o) noexcept
    : notify_(o.notify_), calls_(o.calls_), phase_(std::exchange(o.phase_, phase::moved_from)) {
  assert(!o.awaited_ && "kyoto::sync::notified moved while an await of it is suspended");
  if (phase_ == phase::waiting) notify_->relink(&o.entry_, &entry_);
}

inline notified& notified::operator=(notified&& o) noexcept {
  if (this != &o) {
    assert(!awaited_ && !o.awaited_ &&
           "kyoto::sync::notified assigned while an await of it is suspended");
    if (phase_ == phase::waiting || phase_ == phase::held) release_slow();
    notify_ = o.notify_;
    calls_ = o.calls_;
    phase_ = std::exchange(o.phase_, phase::moved_from);
    if (phase_ == phase::waiting) notify_->relink(&o.entry_, &entry_);
  }
  return *this;
}

inline notified_awaiter notified::operator co_await() & noexcept {
  return notified_awaiter(*this);
}

inline notified::owning_awaiter notified::operator co_await() && noexcept {
  return owning_awaiter(std::move(*this));
}

inline bool notified_awaiter::await_ready() {
  notified& n = *n_;
  if (n.phase_ == notified::phase::moved_from) [[unlikely]] {
    kyoto::detail::throw_notify_misuse("kyoto::sync::notified: awaiting a moved-from notified");
  }
  if (n.awaited_) [[unlikely]] {
    kyoto::detail::throw_notify_misuse(
        "kyoto::sync::notified: awaited by two coroutines at once (a notified is used by one "
        "task at a time)");
  }
  yielded_ = false;
  switch (n.phase_) {
    case notified::phase::init: {
      const kyoto::detail::notify_mark m = n.notify_->try_take(n.calls_);
      if (m == kyoto::detail::notify_mark::none) return false;
      n.phase_ =
          m == kyoto::detail::notify_mark::one ? notified::phase::held : notified::phase::done;
      break;
    }
    case notified::phase::waiting:
      return false;  // its mark is read under the lock, in await_suspend
    default:
      break;  // held or done: complete
  }
  if (kyoto::detail::coop_proceed()) return true;
  yielded_ = true;  // out of budget: yield first, complete when resumed
  return false;
}

inline void notified_awaiter::await_resume() noexcept {
  suspended_ = false;
  yielded_ = false;
  n_->awaited_ = false;
  n_->phase_ = notified::phase::done;  // observed: nothing to forward from now on
}

}  // namespace kyoto::sync
