// kyoto::join_set<T>: a set of spawned tasks whose results are collected in
// the order they complete (tokio::task::JoinSet).
//
// # The protocol
//
// Each task of the set has an *entry*, owned by the set. The entry holds
// what a join_handle would hold (the task's join interest and one
// reference to its cell) and a callback_node registered as the task's join
// waker (task_header::set_join_waker). When the task completes (returns,
// throws or is cancelled), the completing thread calls the node's function
// from task_header::finish(), still holding JOIN_WAKER; the function takes
// the set's lock, appends the entry to the *ready queue* and wakes the
// join_next() waiting for it, if any, still under the lock.
//
// Who touches what:
//
//   entries, size, pending   the owner only (the coroutine or thread using
//                            the set; join_set is used by one at a time).
//   ready queue, waiter      under `lock`: pushed by completion callbacks on
//                            any thread, popped by the owner.
//   an entry's fields        written by the owner before its node is
//                            published (set_join_waker's release CAS; the
//                            callback runs after finish()'s acquire RMW);
//                            ready_next under `lock`.
//
// Freeing an entry: the completing thread may still be inside the callback
// (between its wake and clearing JOIN_WAKER) when the owner pops the entry,
// and a callback appends to the queue through the previous tail entry. So
// an entry is freed only after unset_join_waker() on it returned (after
// which its task no longer touches it) — for a popped entry that is at
// most a few instructions' wait — and detach_all() and the destructor
// first unset every entry, then free them all.
//
// The waiter follows the wake rule (task_header.hpp): the callback wakes
// it under `lock`, and a join_next() awaiter destroyed while waiting takes
// `lock` to unregister; if its node was already taken, the wake is over
// and it purges the node from its task. join_next() pops nothing until it
// resumes, so cancelling it loses no result (cancel safe, as tokio's).
//
// The set's shared state (entries, ready queue) is
// runtime/detail/join_set_core.hpp.
#pragma once

#include <kyoto/runtime/abort_handle.hpp>
#include <kyoto/runtime/handle.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/task_id.hpp>

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/join_set_core.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

namespace kyoto {

/// A set of spawned tasks, joined in the order they complete
/// (tokio::task::JoinSet).
///
/// spawn() starts a task (on the calling thread's runtime, or on a given
/// handle's with spawn_on) and keeps it in the set; `co_await join_next()`
/// waits for the next task to complete and gives its outcome:
///
///     kyoto::join_set<int> set;
///     for (int i = 0; i < 10; ++i) set.spawn(work, i);
///     while (auto r = co_await set.join_next()) {
///       if (r->has_value()) use(**r);
///       else if (r->error().is_panic()) r->error().rethrow();
///     }
///
/// An outcome is a `kyoto::result<T, kyoto::join_error>` (tokio's
/// Result<T, JoinError>): the task's value, or a join_error that says the
/// task was cancelled (is_cancelled()) or threw (is_panic(); exception()
/// or rethrow() give the exception itself). `r->value()` on an error throws
/// kyoto::bad_result_access naming it (the port of tokio's unwrap()).
///
/// Destroying the set aborts every task still in it (as tokio does);
/// detach_all() lets them run on instead. A task that completed with an
/// exception nobody joined is logged, as for a dropped join_handle.
///
/// Thread safety: a join_set is used by one coroutine or thread at a time
/// (tokio's &mut self); its tasks run anywhere and complete concurrently.
/// Using it from two branches of one join while a join_next() waits throws
/// std::logic_error. The abort_handles spawn() returns are usable from any
/// thread.
template <class T = void>
class join_set {
  static_assert(!std::is_reference_v<T>, "kyoto::join_set<T>: T must be a value type or void");

 public:
  /// What join_next() and try_join_next() give for one task.
  using outcome = kyoto::result<T, kyoto::join_error>;

  /// An empty set.
  join_set() noexcept = default;
  /// Takes over `other`'s tasks; `other` is left empty (only assigning
  /// to it or destroying it is valid).
  join_set(join_set&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  /// Aborts this set's tasks (as the destructor does), then takes over
  /// `other`'s; `other` is left empty. Precondition: no join_next() of
  /// this set is waiting.
  join_set& operator=(join_set&& other) noexcept {
    if (this != &other) {
      destroy();
      core_ = std::exchange(other.core_, nullptr);
    }
    return *this;
  }
  join_set(const join_set&) = delete;
  join_set& operator=(const join_set&) = delete;

  /// Aborts every task in the set and forgets them (they are cancelled
  /// when their runtime gets to them). Precondition: no join_next() of
  /// this set is waiting.
  ~join_set() { destroy(); }

  /// Spawns `t` on the calling thread's runtime (see kyoto::spawn) and adds
  /// it to the set; returns a handle that can abort it. Throws
  /// std::logic_error off a runtime thread, or if `t` is empty.
  /// Records the line that called it, as kyoto::spawn does.
  kyoto::abort_handle spawn(
      task<T> t, detail::call_site site = detail::call_site(std::source_location::current(), {})) {
    return insert(detail::spawn_at(detail::current_scheduler("kyoto::join_set::spawn"),
                                   {site.location, {}}, std::move(t)));
  }

  /// Spawns `f()` (see kyoto::spawn: the callable lives as long as the
  /// task) and adds it to the set; records the line that called it.
  template <class F>
    requires detail::task_factory<F> && std::same_as<detail::factory_value_t<F>, T>
  kyoto::abort_handle spawn(
      F&& f, detail::call_site site = detail::call_site(std::source_location::current(), {})) {
    return insert(detail::spawn_at(detail::current_scheduler("kyoto::join_set::spawn"),
                                   {site.location, {}}, std::forward<F>(f)));
  }

  /// Spawns `f(a1)`; as above.
  template <class F, class A1>
    requires detail::task_factory<F, A1> && std::same_as<detail::factory_value_t<F, A1>, T>
  kyoto::abort_handle spawn(
      F&& f, A1&& a1,
      detail::call_site site = detail::call_site(std::source_location::current(), {})) {
    return insert(detail::spawn_at(detail::current_scheduler("kyoto::join_set::spawn"),
                                   {site.location, {}}, std::forward<F>(f), std::forward<A1>(a1)));
  }

  /// Spawns `f(a1, a2)`; as above.
  template <class F, class A1, class A2>
    requires detail::task_factory<F, A1, A2> && std::same_as<detail::factory_value_t<F, A1, A2>, T>
  kyoto::abort_handle spawn(
      F&& f, A1&& a1, A2&& a2,
      detail::call_site site = detail::call_site(std::source_location::current(), {})) {
    return insert(detail::spawn_at(detail::current_scheduler("kyoto::join_set::spawn"),
                                   {site.location, {}}, std::forward<F>(f), std::forward<A1>(a1),
                                   std::forward<A2>(a2)));
  }

  /// Spawns `f(a1, a2, a3)`; as above.
  template <class F, class A1, class A2, class A3>
    requires detail::task_factory<F, A1, A2, A3> &&
             std::same_as<detail::factory_value_t<F, A1, A2, A3>, T>
  kyoto::abort_handle spawn(
      F&& f, A1&& a1, A2&& a2, A3&& a3,
      detail::call_site site = detail::call_site(std::source_location::current(), {})) {
    return insert(detail::spawn_at(detail::current_scheduler("kyoto::join_set::spawn"),
                                   {site.location, {}}, std::forward<F>(f), std::forward<A1>(a1),
                                   std::forward<A2>(a2), std::forward<A3>(a3)));
  }

  /// Four or more arguments do not compile, as for kyoto::spawn: bind them
  /// in a lambda.
  template <class F, class A1, class A2, class A3, class A4, class... Rest>
  void spawn(F&&, A1&&, A2&&, A3&&, A4&&, Rest&&...) {
    static_assert(detail::spawn_arity_error<F>,
                  "kyoto::join_set::spawn(f, args...) takes at most three arguments after f, "
                  "so that it can record where it was called from: bind the arguments in a "
                  "lambda, e.g. set.spawn([=] { return f(a, b, c, d); })");
  }

  /// Spawns `t` on the runtime of `h` (tokio's spawn_on); from any thread.
  kyoto::abort_handle spawn_on(const kyoto::handle& h, task<T> t) {
    return insert(h.spawn(std::move(t)));
  }

  /// Spawns `f(args...)` on the runtime of `h`; from any thread.
  template <class F, class... Args>
    requires detail::task_factory<F, Args...> &&
             std::same_as<detail::factory_value_t<F, Args...>, T>
  kyoto::abort_handle spawn_on(const kyoto::handle& h, F&& f, Args&&... args) {
    return insert(h.spawn(std::forward<F>(f), std::forward<Args>(args)...));
  }

  /// Waits for the next task to complete and gives its outcome; nullopt
  /// when the set is empty (tokio's join_next). Outcomes come in completion
  /// order; a task is removed from the set when its outcome is given.
  ///
  /// Resumed on the awaiting task's thread. An outcome that is ready at
  /// once spends the cooperative budget (it yields first when the budget
  /// is spent). Cancel safe: a join_next() cancelled while waiting took
  /// nothing; the next one gives the outcome it would have given. Throws
  /// std::logic_error if another join_next() of this set is waiting, or
  /// outside a runtime task.
  [[nodiscard]] auto join_next() noexcept { return join_next_awaiter<false>(*this); }

  /// As join_next(), but gives the task's id with its outcome (tokio's
  /// join_next_with_id): `std::optional<std::pair<task_id, outcome>>`,
  /// also for a task that threw or was cancelled. Same thread, cancel
  /// safety and errors as join_next().
  [[nodiscard]] auto join_next_with_id() noexcept { return join_next_awaiter<true>(*this); }

  /// The outcome of a task that has completed, without waiting; nullopt if
  /// none has (or the set is empty). Spends no budget. Throws
  /// std::logic_error while a join_next() of this set is waiting.
  std::optional<outcome> try_join_next() {
    if (core_ == nullptr) return std::nullopt;
    if (core_->pending) detail::throw_join_set_pending("kyoto::join_set::try_join_next");
    detail::join_set_entry* e = core_->pop_ready();
    if (e == nullptr) return std::nullopt;
    return take(e);
  }

  /// As try_join_next(), with the task's id (tokio's
  /// try_join_next_with_id).
  std::optional<std::pair<task_id, outcome>> try_join_next_with_id() {
    if (core_ == nullptr) return std::nullopt;
    if (core_->pending) detail::throw_join_set_pending("kyoto::join_set::try_join_next_with_id");
    detail::join_set_entry* e = core_->pop_ready();
    if (e == nullptr) return std::nullopt;
    const task_id id(e->cell->id());
    return std::pair<task_id, outcome>(id, take(e));
  }

  /// Requests cancellation of every task in the set; they stay in it and
  /// their outcomes (join_error, is_cancelled(), unless one completed
  /// first) come from join_next() (tokio's abort_all). Never blocks.
  void abort_all() noexcept {
    if (core_ != nullptr) core_->abort_all();
  }

  /// Removes every task from the set without aborting it; they run on,
  /// detached, as if their join_handles had been dropped (tokio's
  /// detach_all). Throws std::logic_error while a join_next() waits.
  void detach_all() {
    if (core_ == nullptr) return;
    if (core_->pending) detail::throw_join_set_pending("kyoto::join_set::detach_all");
    core_->clear(false);
  }

  /// Aborts every task and waits until all have finished, discarding their
  /// outcomes (tokio's shutdown); an exception a task ended with is logged,
  /// not lost. Cancel safe: what it has not yet joined stays in the set.
  [[nodiscard]] task<> shutdown() {
    abort_all();
    for (;;) {
      std::optional<outcome> r = co_await join_next();
      if (!r.has_value()) break;
      if (!r->has_value() && r->error().is_panic()) {
        detail::log_unobserved_exception(r->error().exception());
      }
    }
  }

  /// The number of tasks in the set, running or completed but not yet
  /// joined (tokio's len).
  std::size_t size() const noexcept { return core_ != nullptr ? core_->size() : 0; }

  /// Whether the set holds no task.
  bool empty() const noexcept { return size() == 0; }

 private:
  kyoto::abort_handle insert(join_handle<T>&& h) {
    if (core_ == nullptr) {
      // On failure, `h` detaches the task as it goes.
      core_ = new detail::join_set_core;
    }
    kyoto::abort_handle ah = h.abort_handle();
    core_->add(detail::join_handle_access::release(h));
    return ah;
  }

  void destroy() noexcept {
    if (core_ == nullptr) return;
    assert(!core_->pending && "kyoto::join_set destroyed while a join_next() waits");
    core_->clear(true);
    delete std::exchange(core_, nullptr);
  }

  /// The outcome of a popped entry; the entry is erased either way.
  outcome take(detail::join_set_entry* e) {
    auto* cell = static_cast<detail::task_cell<T>*>(e->cell);
    struct eraser {
      detail::join_set_core* core;
      detail::join_set_entry* e;
      ~eraser() { core->erase(e, true); }
    } guard{core_, e};
    // The result is visible: the callback published it under the lock we
    // popped with (or set_join_waker saw COMPLETE with acquire).
    switch (cell->result.state()) {
      case detail::result_storage<T>::kind::value:
        if constexpr (std::is_void_v<T>) {
          return outcome();
        } else {
          return outcome(cell->result.take());
        }
      case detail::result_storage<T>::kind::exception:
        return outcome(
            kyoto::unexpected<kyoto::join_error>(kyoto::join_error(cell->result.exception())));
      default:
        return outcome(kyoto::unexpected<kyoto::join_error>(
            kyoto::join_error("kyoto::join_set: the task was cancelled")));
    }
  }

  template <bool WithId>
  class join_next_awaiter {
   public:
    /// What co_await gives.
    using value_type = std::conditional_t<WithId, std::optional<std::pair<task_id, outcome>>,
                                          std::optional<outcome>>;

    explicit join_next_awaiter(join_set& s) noexcept : set_(&s) {}
    /// Movable until awaited.
    join_next_awaiter(join_next_awaiter&& o) noexcept : set_(o.set_) {
      assert(!o.registered_ && !o.yielded_ && "a join_next awaiter moved while awaited");
    }
    join_next_awaiter(const join_next_awaiter&) = delete;
    join_next_awaiter& operator=(const join_next_awaiter&) = delete;

    /// Destroyed while waiting (cancelled): unregisters, or takes back a
    /// wake that already happened (the wake rule).
    ~join_next_awaiter() {
      if (registered_) {
        detail::join_set_core& c = *set_->core_;
        bool woken;
        {
          detail::lock_guard g(c.lock);
          woken = c.waiter != &node_;
          if (!woken) c.waiter = nullptr;
        }
        if (woken) node_.task->purge(&node_);
        c.pending = false;
      } else if (yielded_) {
        node_.task->purge(&node_);
        set_->core_->pending = false;
      }
    }

    bool await_ready() {
      detail::join_set_core* c = set_->core_;
      if (c == nullptr || c->size() == 0) return true;  // nullopt
      if (c->pending) detail::throw_join_set_pending("kyoto::join_set::join_next");
      if (!c->has_ready()) return false;
      if (detail::coop_proceed()) return true;
      yielded_ = true;  // out of budget: yield first (coop.hpp)
      return false;
    }

    bool await_suspend(std::coroutine_handle<> h) {
      detail::join_set_core& c = *set_->core_;
      node_.prepare(h);  // throws outside a task
      if (yielded_) {
        c.pending = true;
        detail::coop_yield(node_);
        return true;
      }
      detail::lock_guard g(c.lock);
      if (!c.ready.empty()) return false;  // completed meanwhile
      c.pending = true;
      registered_ = true;
      // Published: from here on a callback on another thread may wake the
      // node, but the task cannot resume this coroutine before this run
      // ends (the wake only pushes while it is RUNNING).
      c.waiter = &node_;
      return true;
    }

    value_type await_resume() {
      detail::join_set_core* c = set_->core_;
      if (registered_ || yielded_) c->pending = false;
      registered_ = false;
      yielded_ = false;
      if (c == nullptr || c->size() == 0) return std::nullopt;
      // Only the owner pops, and it was waiting here: the entry that woke
      // us (or that was ready before we yielded) is still queued.
      detail::join_set_entry* e = c->pop_ready();
      assert(e != nullptr);
      if constexpr (WithId) {
        const task_id id(e->cell->id());
        return std::pair<task_id, outcome>(id, set_->take(e));
      } else {
        return set_->take(e);
      }
    }

   private:
    join_set* set_;
    detail::wake_node node_;
    bool registered_ = false;  ///< node_ is (or was) the set's waiter
    bool yielded_ = false;     ///< node_ is queued by the budget's yield
  };

  detail::join_set_core* core_ = nullptr;
};

}  // namespace kyoto
