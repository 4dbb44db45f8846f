// kyoto::task_tracker: counts tasks, and waits until they have all finished
// once it is closed (tokio-util 0.7's TaskTracker).
//
//   kyoto::task_tracker tracker;
//   for (int i = 0; i < 10; ++i) tracker.spawn(work, i);
//   tracker.close();
//   co_await tracker.wait();   // every spawned task has finished
//
// Where it lives: in runtime/, as `kyoto::task_tracker` (the API table's
// name), next to join_set: it is a way of spawning (spawn, spawn_on), and
// unlike a sync primitive it needs the scheduler's spawn. It waits through
// a kyoto::sync::notify, which is all it takes from sync/.
//
// # The state word (tokio-util's TaskTrackerInner::state)
//
//   bit 0      CLOSED   close() sets it, reopen() clears it
//   bits 1-63  how many tracked operations are alive (`one_task` each)
//
// wait() completes when the word is exactly CLOSED (closed, no task). Each
// change that can make it so (the last tracked operation ends while closed,
// or close() with none alive) calls notify_waiters() after its RMW.
//
// Orderings: a tracked operation's end is a release RMW, and wait()'s load
// is an acquire: a waiter that sees "closed and empty" sees everything the
// tasks did. The lost-wake-up argument is cancellation_token's: wait()
// makes its notified (which loads notify's counter, acquire) *before* it
// loads the word; the RMW that reaches "closed and empty" is ordered before
// the notify_waiters() that moves the counter (release). So a waiter whose
// load misses the final state holds an older counter and is completed.
#pragma once

#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

namespace kyoto {

namespace detail {

/// A task_tracker's shared state (see task_tracker.hpp's file comment).
struct tracker_inner {
  static constexpr std::uint64_t closed = 1;    ///< set by close(), cleared by reopen()
  static constexpr std::uint64_t one_task = 2;  ///< one tracked operation in the count

  /// The state word: CLOSED and the count. RMWs by tracker tokens (add,
  /// release), close() and reopen(); loads by wait(), len(), is_closed().
  atomic<std::uint64_t> state{0};
  /// Woken (notify_waiters) whenever the word becomes exactly CLOSED.
  kyoto::sync::notify waiters;

  void add() noexcept {
    // Relaxed: only the count's value matters; the end of an operation is
    // what must publish (release in remove()).
    state.fetch_add(one_task, std::memory_order_relaxed);
  }
  void remove() noexcept {
    // Release: the task's effects happen before a wait() that sees the
    // count reach zero (its acquire load); acquire is not needed here.
    const std::uint64_t prev = state.fetch_sub(one_task, std::memory_order_release);
    if (prev == (one_task | closed)) waiters.notify_waiters();
  }
};

}  // namespace detail

/// One tracked operation's membership of a task_tracker (tokio-util's
/// TaskTrackerToken): counts as a task until destroyed. Move-only.
///
/// Thread safety: a value; may be destroyed on any thread.
class task_tracker_token {
 public:
  /// Takes over `o`'s count; `o` then counts nothing (its destructor does nothing).
  task_tracker_token(task_tracker_token&& o) noexcept : inner_(std::move(o.inner_)) {}
  task_tracker_token& operator=(task_tracker_token&&) = delete;
  task_tracker_token(const task_tracker_token&) = delete;
  task_tracker_token& operator=(const task_tracker_token&) = delete;
  ~task_tracker_token() {
    if (inner_) inner_->remove();
  }

 private:
  friend class task_tracker;
  explicit task_tracker_token(std::shared_ptr<detail::tracker_inner> i) noexcept
      : inner_(std::move(i)) {
    inner_->add();
  }
  std::shared_ptr<detail::tracker_inner> inner_;
};

/// Awaiter of `co_await tracker.wait()`: completes once the tracker is
/// closed and every tracked task has finished. Resumed on the awaiting
/// task's thread; cancel safe. Holds the tracker's state (the tracker
/// object may go away meanwhile). Movable until awaited.
class [[nodiscard]] task_tracker_wait_awaiter {
 public:
  /// Made by task_tracker::wait(), not by users.
  explicit task_tracker_wait_awaiter(std::shared_ptr<detail::tracker_inner> i) noexcept
      : inner_(std::move(i)), notified_(inner_->waiters.notified()) {}
  /// Precondition: `o` was not awaited yet.
  task_tracker_wait_awaiter(task_tracker_wait_awaiter&& o) noexcept
      : inner_(std::move(o.inner_)), notified_(std::move(o.notified_)) {}
  task_tracker_wait_awaiter& operator=(task_tracker_wait_awaiter&&) = delete;

  /// True if the tracker is closed and empty already; otherwise starts
  /// waiting for the notification (see the awaitable contract).
  bool await_ready() {
    // Acquire: pairs with the release RMW in tracker_inner::remove() (and
    // close()); the notified was made first (file comment).
    if (inner_->state.load(std::memory_order_acquire) == detail::tracker_inner::closed) return true;
    inner_await_.emplace(notified_);
    return inner_await_->await_ready();
  }
  /// Suspends until the tracker is closed and empty; false if it became so meanwhile.
  bool await_suspend(std::coroutine_handle<> h) {
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): await_ready() emplaced it
    return inner_await_->await_suspend(h);
  }
  /// Nothing: the tracker is closed and empty.
  void await_resume() noexcept {
    if (inner_await_) inner_await_->await_resume();
  }

 private:
  std::shared_ptr<detail::tracker_inner> inner_;
  kyoto::sync::notified notified_;  // outlives inner_await_
  std::optional<kyoto::sync::notified_awaiter> inner_await_;
};

/// Tracks tasks and waits for all of them once closed (tokio-util's
/// TaskTracker). Unlike join_set it keeps no results and aborts nothing:
/// tasks run to their end, and a tracked task that finished frees its
/// memory at once.
///
/// wait() completes when the tracker is closed *and* empty; a tracker can
/// be reopened, and tasks may be added while closed (they delay wait()).
///
/// Copyable: a copy is another handle to the same tracker (tokio's
/// clone()). Thread safety: every member may be called from any thread.
class task_tracker {
 public:
  /// An open, empty tracker.
  task_tracker() : inner_(std::make_shared<detail::tracker_inner>()) {}

  /// Closes the tracker: wait() may now complete. Returns true if this call
  /// closed it (false if already closed). Any thread.
  bool close() noexcept {
    // Release: a waiter that sees CLOSED with no task sees what preceded
    // close() (pairs with wait()'s acquire load).
    const std::uint64_t prev =
        inner_->state.fetch_or(detail::tracker_inner::closed, std::memory_order_release);
    if (prev == 0) inner_->waiters.notify_waiters();
    return (prev & detail::tracker_inner::closed) == 0;
  }
  /// Reopens the tracker; returns true if this call reopened it.
  bool reopen() noexcept {
    // Relaxed: reopening publishes nothing; wait() only cares that the word
    // is exactly CLOSED, and this makes it not so.
    const std::uint64_t prev =
        inner_->state.fetch_and(~detail::tracker_inner::closed, std::memory_order_relaxed);
    return (prev & detail::tracker_inner::closed) != 0;
  }
  /// Whether close() was called (and not undone by reopen()).
  bool is_closed() const noexcept {
    // Relaxed: a snapshot for the caller.
    return (inner_->state.load(std::memory_order_relaxed) & detail::tracker_inner::closed) != 0;
  }
  /// How many tracked tasks (operations, tokens) are alive.
  std::size_t len() const noexcept {
    return static_cast<std::size_t>(inner_->state.load(std::memory_order_relaxed) >> 1);
  }
  /// Whether no tracked task is alive.
  bool is_empty() const noexcept { return len() == 0; }

  /// `co_await tracker.wait()` completes once the tracker is closed and
  /// empty (at once if it is). Cancel safe; resumed on the awaiting task's
  /// thread.
  [[nodiscard]] task_tracker_wait_awaiter wait() const noexcept {
    return task_tracker_wait_awaiter(inner_);
  }

  /// A token that counts as one task until destroyed.
  [[nodiscard]] task_tracker_token token() const { return task_tracker_token(inner_); }

  /// Wraps `op` in a task that counts as tracked from now until it ends
  /// (or is destroyed): tokio's TaskTracker::track_future. `op` is moved
  /// into the task (an lvalue is awaited in place, and must outlive it).
  template <class A>
    requires detail::awaitable<A>
  [[nodiscard]] task<detail::await_result_t<A>> track(A&& op) const {
    return tracked_await<detail::await_result_t<A>, A>(token(), std::forward<A>(op));
  }

  /// Spawns `t` on the calling thread's runtime, tracked (kyoto::spawn,
  /// whose spawn location it records).
  template <class T>
  join_handle<T> spawn(task<T> t,
                       detail::call_site site = detail::call_site(std::source_location::current(),
                                                                  {})) const {
    return detail::spawn_at(scheduler(), {site.location, {}}, track(std::move(t)));
  }
  /// Spawns `f()`, tracked; the callable lives until the task ends
  /// (kyoto::spawn). As kyoto::spawn, at most three arguments (the
  /// overloads below), each recording the spawn location.
  template <class F>
    requires detail::task_factory<F>
  auto spawn(F&& f, detail::call_site site = detail::call_site(std::source_location::current(),
                                                               {})) const {
    return spawn_tracked(site, std::forward<F>(f));
  }
  /// Spawns `f(a1)`, tracked.
  template <class F, class A1>
    requires detail::task_factory<F, A1>
  auto spawn(F&& f, A1&& a1,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    return spawn_tracked(site, std::forward<F>(f), std::forward<A1>(a1));
  }
  /// Spawns `f(a1, a2)`, tracked.
  template <class F, class A1, class A2>
    requires detail::task_factory<F, A1, A2>
  auto spawn(F&& f, A1&& a1, A2&& a2,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    return spawn_tracked(site, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  /// Spawns `f(a1, a2, a3)`, tracked.
  template <class F, class A1, class A2, class A3>
    requires detail::task_factory<F, A1, A2, A3>
  auto spawn(F&& f, A1&& a1, A2&& a2, A3&& a3,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    return spawn_tracked(site, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                         std::forward<A3>(a3));
  }
  /// Four or more arguments do not compile, as for kyoto::spawn: bind them
  /// in a lambda.
  template <class F, class A1, class A2, class A3, class A4, class... Rest>
  void spawn(F&&, A1&&, A2&&, A3&&, A4&&, Rest&&...) const {
    static_assert(detail::spawn_arity_error<F>,
                  "kyoto::task_tracker::spawn(f, args...) takes at most three arguments after "
                  "f, so that it can record where it was called from: bind the arguments in a "
                  "lambda, e.g. tracker.spawn([=] { return f(a, b, c, d); })");
  }
  /// Spawns `t` onto `h`'s runtime, tracked. From any thread.
  template <class T>
  join_handle<T> spawn_on(const handle& h, task<T> t) const {
    return h.spawn(track(std::move(t)));
  }
  /// Spawns `f(args...)` onto `h`'s runtime, tracked. From any thread.
  template <class F, class... Args>
    requires detail::task_factory<F, Args...>
  auto spawn_on(const handle& h, F&& f, Args&&... args) const {
    return h.spawn(&tracked_call<std::decay_t<F>, std::decay_t<Args>...>, token(),
                   std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Whether two handles are the same tracker.
  friend bool operator==(const task_tracker& a, const task_tracker& b) noexcept {
    return a.inner_ == b.inner_;
  }

 private:
  static detail::scheduler& scheduler() {
    return detail::current_scheduler("kyoto::task_tracker::spawn");
  }
  /// Spawns tracked_call(token, f, args...) recording `site`.
  template <class F, class... Args>
  auto spawn_tracked(detail::call_site site, F&& f, Args&&... args) const {
    return detail::spawn_at(scheduler(), {site.location, {}},
                            &tracked_call<std::decay_t<F>, std::decay_t<Args>...>, token(),
                            std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class R, class A>
  static task<R> tracked_await(task_tracker_token tok, A op) {
    (void)tok;  // counts as a task for the coroutine's whole life
    co_return co_await static_cast<A&&>(op);
  }
  template <class F, class... Args>
  static auto tracked_call(task_tracker_token tok, F f, Args... args)
      -> task<detail::factory_value_t<F, Args...>> {
    (void)tok;
    co_return co_await std::invoke(std::move(f), std::move(args)...);
  }

  std::shared_ptr<detail::tracker_inner> inner_;
};

}  // namespace kyoto
