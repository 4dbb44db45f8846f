// One operation raced by select (and by timeout): `select_op<A>` holds an
// operand of type A and its awaiter, and splits awaiting it into the steps
// select takes one at a time. See the file comment of select.hpp for how a
// select drives them.
//
//   ready()    the pass: makes the awaiter, asks await_ready()
//   suspend()  from the branch coroutine, after ready() said no
//   resume()   the winner's result
//   cancel()   lost: destroys the awaiter (unregistering it) and an owned
//              operand; lvalue tasks and sleeps keep their progress
//
// Every step runs on the awaiting task's thread; nothing here is atomic.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/manual_lifetime.hpp>
#include <kyoto/runtime/detail/task_cell.hpp>
#include <kyoto/time/detail/sleep_round.hpp>

#include <cassert>
#include <coroutine>
#include <memory>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// Primary template: an operand with an awaiter of its own (anything but
/// the lvalue task and sleep below). An rvalue argument (A a value type) is
/// owned by the op; an lvalue (A = T&) is referred to.
template <class A>
class select_op {
  static constexpr bool owned = !std::is_lvalue_reference_v<A>;
  using value_type = std::remove_reference_t<A>;
  using awaiter_type = awaiter_t<A>;
  static constexpr bool bare = std::is_reference_v<awaiter_type>;  // operand is the awaiter
  using aw_t = std::remove_reference_t<awaiter_type>;

 public:
  using result_type = await_result_t<A>;
  /// Whether, not ready, it starts after the pass (see select.hpp).
  static constexpr bool deferred() noexcept { return false; }

  template <class U>
  explicit select_op(bool enabled, U&& u) : enabled_(enabled) {
    if constexpr (owned) {
      operand_.construct_from([&]() -> value_type { return value_type(static_cast<U&&>(u)); });
      has_operand_ = true;
    } else {
      operand_ = std::addressof(u);
    }
  }
  /// Movable until the select is awaited.
  select_op(select_op&& o) noexcept(!owned || std::is_nothrow_move_constructible_v<value_type>)
      : enabled_(o.enabled_) {
    assert(!o.has_awaiter_);
    if constexpr (owned) {
      operand_.construct_from([&]() -> value_type { return std::move(*o.operand_); });
      has_operand_ = true;
    } else {
      operand_ = o.operand_;
    }
  }
  select_op(const select_op&) = delete;
  select_op& operator=(const select_op&) = delete;
  ~select_op() { cancel(); }

  bool enabled() const noexcept { return enabled_; }

  /// Makes the awaiter and asks it (the pass).
  bool ready() {
    if constexpr (bare) {
      return static_cast<bool>(operand().await_ready());
    } else {
      awaiter_.construct_from([&]() -> aw_t { return get_awaiter(static_cast<A&&>(operand())); });
      has_awaiter_ = true;
      return static_cast<bool>(awaiter_->await_ready());
    }
  }
  /// Called by the branch coroutine after ready() said no.
  decltype(auto) suspend(std::coroutine_handle<> h) { return awaiter().await_suspend(h); }
  /// The result, after ready() or a resumed suspend().
  result_type resume() { return awaiter().await_resume(); }
  /// Lost: unregisters and destroys what the select owns.
  void cancel() noexcept {
    if constexpr (!bare) {
      if (std::exchange(has_awaiter_, false)) awaiter_.destroy();
    }
    if constexpr (owned) {
      if (std::exchange(has_operand_, false)) operand_.destroy();
    }
  }

 private:
  value_type& operand() noexcept { return *operand_; }
  aw_t& awaiter() noexcept {
    if constexpr (bare) {
      return operand();
    } else {
      return *awaiter_;
    }
  }

  struct none {};
  bool enabled_;
  bool has_operand_ = false;  ///< operand_ holds the operand (owned only)
  bool has_awaiter_ = false;  ///< awaiter_ holds the awaiter (not bare only)
  std::conditional_t<owned, manual_lifetime<value_type>, value_type*> operand_;
  [[no_unique_address]] std::conditional_t<bare, none, manual_lifetime<aw_t>> awaiter_;
};

/// An lvalue task: run in place, left running when the branch loses.
template <class T>
class select_op<task<T>&> {
  using handle_type = std::coroutine_handle<task_promise<T>>;

 public:
  using result_type = T;
  /// A task not started yet runs in start order; a running one only needs
  /// its continuation set, after the pass.
  bool deferred() const noexcept {
    return task_access::handle(*task_).promise().phase_ != task_phase::not_started;
  }

  select_op(bool enabled, task<T>& t) noexcept : enabled_(enabled), task_(&t) {}
  select_op(select_op&& o) noexcept : enabled_(o.enabled_), task_(o.task_) {}
  ~select_op() { cancel(); }

  bool enabled() const noexcept { return enabled_; }

  bool ready() const {
    const handle_type h = task_access::handle(*task_);
    if (!h) throw_task_misuse("kyoto::select: awaiting an empty or moved-from task");
    return h.promise().phase_ != task_phase::not_started && h.done();
  }
  bool suspend(std::coroutine_handle<> branch) {
    const handle_type h = task_access::handle(*task_);
    task_promise<T>& p = h.promise();
    waiting_ = true;
    p.continuation_ = branch;
    if (p.phase_ != task_phase::not_started) return true;  // still running
    p.phase_ = task_phase::started_inline;
    h.resume();
    if (p.phase_ == task_phase::completed_inline) return false;
    p.phase_ = task_phase::awaited_async;
    return true;
  }
  /// The task's value; the task is left empty (it finished).
  T resume() {
    waiting_ = false;
    task<T> done = std::move(*task_);
    return task_access::handle(done).promise().result_.take();
  }
  void cancel() noexcept {
    if (!std::exchange(waiting_, false)) return;
    const handle_type h = task_access::handle(*task_);
    // The task stays suspended where it is; when it finishes, its final
    // suspend resumes nobody. The next select given it waits again.
    if (h && !h.done()) h.promise().continuation_ = std::noop_coroutine();
  }

 private:
  bool enabled_;
  bool waiting_ = false;  // continuation_ is our branch
  task<T>* task_;
};

/// An lvalue sleep: keeps its deadline across rounds (see sleep_round).
/// Deferred: its readiness is a pure deadline check, so it never wins the
/// pass over a ready branch by registering first.
template <>
class select_op<time::sleep_awaiter&> {
 public:
  using result_type = void;
  static constexpr bool deferred() noexcept { return true; }

  select_op(bool enabled, time::sleep_awaiter& s) noexcept : enabled_(enabled), round_(s) {}
  select_op(select_op&& o) noexcept : enabled_(o.enabled_), round_(std::move(o.round_)) {}

  bool enabled() const noexcept { return enabled_; }

  /// The coarse deadline check (sleep_round::elapsed): a sleep it misses is
  /// found by the branch, unless another branch is ready (then the sleep
  /// wins a round at most one tick later).
  bool ready() const noexcept { return round_.elapsed(); }
  bool suspend(std::coroutine_handle<> h) { return round_.suspend(h); }
  void resume() noexcept { round_.resume(); }
  void cancel() noexcept { round_.cancel(); }

 private:
  bool enabled_;
  sleep_round round_;
};

/// An operand select_op can hold. An lvalue must be a task, a sleep, or
/// make a fresh awaiter when awaited (a join_handle): a bare awaiter lvalue
/// would stay registered with a cancelled branch.
template <class A>
concept select_operand =
    awaitable<A> && (!std::is_lvalue_reference_v<A> || is_task<std::remove_cvref_t<A>>::value ||
                     std::is_same_v<std::remove_cvref_t<A>, time::sleep_awaiter> ||
                     has_member_co_await<A> || has_free_co_await<A>);

}  // namespace kyoto::detail
