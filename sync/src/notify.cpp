// kyoto::sync::notify: the locked paths and the misuse errors. The
// protocol is in the header's file comment.
#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/mutex.hpp>

#include <cassert>
#include <cstdint>
#include <stdexcept>
#include <utility>

namespace kyoto::detail {

void throw_notify_misuse(const char* what) {
  throw std::logic_error(what);
}

}  // namespace kyoto::detail

namespace kyoto::sync {

using kyoto::detail::lock_guard;
using kyoto::detail::notify_mark;
using kyoto::detail::wake_node;

// ---- notify ----

void notify::notify_one_contended() noexcept {
  lock_guard guard(lock_);
  // Relaxed: WAITING is left only under the lock, so if it is the state we
  // read it (the lock orders us after whoever entered it); any other state
  // is checked by notify_locked()'s CAS.
  notify_locked(state_.load(std::memory_order_relaxed));
}

void notify::notify_locked(std::uint64_t word) noexcept {
  if ((word & state_mask) == state_waiting) {
    waiter* w = waiters_.pop_front();
    assert(w != nullptr && "WAITING with an empty list");
    if (waiters_.empty()) {
      // The last waiter left: WAITING -> EMPTY. A store is enough (see the
      // file comment). Release: a plain store ends the release sequences of
      // earlier writers of the word (notify_waiters()'s counter); it
      // publishes again what the lock made visible to us, for the acquire
      // loads in notified() and try_take() that may read this value.
      state_.store(with_state(word, state_empty), std::memory_order_release);
    }
    w->mark = notify_mark::one;
    // The wake rule: woken under the lock. The entry may be gone as soon as
    // the node is woken; it is not touched after.
    if (wake_node* node = std::exchange(w->waker, nullptr)) node->wake();
    return;
  }
  // EMPTY or NOTIFIED: store the permit. Lock-free CASes may flip the state
  // between the two meanwhile, never to WAITING (we hold the lock).
  // Release: publishes the notifying caller's writes (ours, or those of the
  // notify_one() whose ONE a destroyed notified forwards: the lock ordered
  // them before us) to the notified that takes the permit, by the acquire
  // CAS in try_take() or enqueue().
  while (!state_.compare_exchange_weak(word, with_state(word, state_notified),
                                       std::memory_order_release, std::memory_order_relaxed)) {
  }
}

void notify::notify_waiters() noexcept {
  lock_guard guard(lock_);
  // Relaxed: under the lock; see notify_one_contended().
  const std::uint64_t word = state_.load(std::memory_order_relaxed);
  if ((word & state_mask) != state_waiting) {
    // Nobody waits: only count the call (a notified created before it
    // completes when it sees the count). Release: pairs with the acquire
    // loads of the count in try_take() (a notified created before: it
    // completes, and sees what preceded this call) and notified() (one
    // created after: see there). An RMW, as lock-free CASes may change the
    // state bits meanwhile.
    state_.fetch_add(one_call, std::memory_order_release);
    return;
  }
  while (waiter* w = waiters_.pop_front()) {
    w->mark = notify_mark::all;
    // The wake rule, as in notify_locked(); w is not touched after.
    if (wake_node* node = std::exchange(w->waker, nullptr)) node->wake();
  }
  // WAITING -> EMPTY with the call counted; a store, as nobody outside the
  // lock writes the word while WAITING. Release: as the fetch_add above.
  state_.store(with_state(word + one_call, state_empty), std::memory_order_release);
}

notify_mark notify::enqueue(waiter* w, std::uint64_t calls, wake_node* waker) noexcept {
  lock_guard guard(lock_);
  // Relaxed: the counter moves only under the lock, so this is its latest
  // value; the state bits are checked by the CASes below.
  std::uint64_t word = state_.load(std::memory_order_relaxed);
  if (calls_of(word) != calls) return notify_mark::all;
  for (;;) {
    switch (word & state_mask) {
      case state_notified:
        // Takes the permit. Acquire: pairs with the release CAS that stored
        // it (notify_one() or notify_locked()).
        if (state_.compare_exchange_weak(word, with_state(word, state_empty),
                                         std::memory_order_acquire, std::memory_order_relaxed)) {
          return notify_mark::one;
        }
        break;  // a notify_one() raced us; look again
      case state_empty:
        // Relaxed: we publish nothing (a notifier that then sees WAITING
        // takes the lock, which orders it after this critical section); as
        // an RMW it continues the release sequence of the word's previous
        // writer, for notified()'s acquire load.
        if (state_.compare_exchange_weak(word, with_state(word, state_waiting),
                                         std::memory_order_relaxed, std::memory_order_relaxed)) {
          w->mark = notify_mark::none;
          w->waker = waker;
          waiters_.push_back(w);
          return notify_mark::none;
        }
        break;  // a notify_one() stored the permit meanwhile; take it
      default:  // WAITING: nobody outside the lock changes it
        w->mark = notify_mark::none;
        w->waker = waker;
        waiters_.push_back(w);
        return notify_mark::none;
    }
  }
}

notify_mark notify::poll(waiter* w, wake_node* waker) noexcept {
  lock_guard guard(lock_);
  if (w->mark == notify_mark::none && waker != nullptr) w->waker = waker;
  return w->mark;
}

bool notify::detach(waiter* w, wake_node* node) noexcept {
  lock_guard guard(lock_);
  if (w->waker == node) {
    w->waker = nullptr;  // not woken: the entry keeps its place, unawaited
    return false;
  }
  // A notifier took the node and woke it, under this lock: the wake is over.
  return true;
}

void notify::leave(waiter* w) noexcept {
  lock_guard guard(lock_);
  assert(w->waker == nullptr && "a notified left the queue while awaited");
  switch (w->mark) {
    case notify_mark::none:
      waiters_.remove(w);
      if (waiters_.empty()) {
        // Relaxed load: WAITING, which only lock holders leave. Release
        // store: as in notify_locked().
        const std::uint64_t word = state_.load(std::memory_order_relaxed);
        assert((word & state_mask) == state_waiting);
        state_.store(with_state(word, state_empty), std::memory_order_release);
      }
      break;
    case notify_mark::one:
      // Picked by notify_one() but never completed: pass it on.
      // Relaxed: under the lock; see notify_one_contended().
      notify_locked(state_.load(std::memory_order_relaxed));
      break;
    case notify_mark::all:
      break;  // notify_waiters() leaves nothing to pass on
  }
}

void notify::relink(waiter* from, waiter* to) noexcept {
  lock_guard guard(lock_);
  to->mark = from->mark;
  to->waker = std::exchange(from->waker, nullptr);
  if (from->mark == notify_mark::none) waiters_.replace(from, to);
}

// ---- notified ----

bool notified::enable() {
  switch (phase_) {
    case phase::init: {
      notify_mark m = notify_->try_take(calls_);
      if (m == notify_mark::none) m = notify_->enqueue(&entry_, calls_, nullptr);
      phase_ = m == notify_mark::none ? phase::waiting : phase::done;
      return m != notify_mark::none;
    }
    case phase::waiting:
      if (notify_->poll(&entry_, nullptr) == notify_mark::none) return false;
      phase_ = phase::done;  // observed: no longer forwarded
      return true;
    case phase::held:
    case phase::done:
      phase_ = phase::done;
      return true;
    case phase::moved_from:
      break;
  }
  kyoto::detail::throw_notify_misuse("kyoto::sync::notified::enable: the notified was moved from");
}

void notified::release_slow() noexcept {
  assert(!awaited_ && "kyoto::sync::notified destroyed while an await of it is suspended");
  if (phase_ == phase::waiting) {
    notify_->leave(&entry_);
  } else if (phase_ == phase::held) {
    notify_->notify_one();  // the permit it took and did not complete with
  }
  phase_ = phase::moved_from;
}

// ---- notified_awaiter ----

bool notified_awaiter::await_suspend(std::coroutine_handle<> h) {
  node_.prepare(h);  // throws outside a runtime task, before anything changes
  notified& n = *n_;
  if (!yielded_) {
    // Marked suspended before node_ is published: once attached, a notifier
    // on another thread may wake it, and we touch no member after that.
    const bool fresh = n.phase_ == notified::phase::init;
    suspended_ = true;
    n.awaited_ = true;
    n.phase_ = notified::phase::waiting;
    const notify_mark m = fresh ? n.notify_->enqueue(&n.entry_, n.calls_, &node_)
                                : n.notify_->poll(&n.entry_, &node_);
    if (m == notify_mark::none) return true;  // attached: wait for the mark
    // Complete without waiting: the counter moved, it took the permit, or
    // it was marked while only enabled. Not published; still ours.
    suspended_ = false;
    n.awaited_ = false;
    n.phase_ = m == notify_mark::one ? notified::phase::held : notified::phase::done;
    if (kyoto::detail::coop_proceed()) return false;  // resume now
    yielded_ = true;
  }
  // Out of budget: yield first. A held ONE stays with the notified, which
  // forwards it if it is destroyed before the await resumes.
  suspended_ = true;
  n.awaited_ = true;
  kyoto::detail::coop_yield(node_);
  return true;
}

void notified_awaiter::cancel() noexcept {
  notified& n = *n_;
  n.awaited_ = false;
  // A yielded node is on our task's ready stack; an attached one was woken
  // if a notifier took it from the entry. Either way, purge it. The
  // notified keeps its place, or its mark (forwarded when destroyed).
  if (yielded_ || n.notify_->detach(&n.entry_, &node_)) node_.task->purge(&node_);
}

}  // namespace kyoto::sync
