// kyoto::select: wait for the first of several operations, cancel the rest
// (tokio's select!).
//
// # How a select runs
//
// Every branch is an operation (`select_op`) held by the select's awaiter,
// which lives in the awaiting coroutine's frame. Awaiting the select makes
// one pass over the enabled branches, in start order (a random rotation,
// or argument order for select_biased):
//
// - a branch whose readiness is a pure check (an lvalue sleep: its
//   deadline; an lvalue task already started: whether it finished) is
//   checked; if not ready it is *deferred*;
// - any other branch gets its awaiter's await_ready(); if that says
//   "not ready", the branch is started at once (an await_ready that
//   returned false may hold a lock that only await_suspend releases, as a
//   bounded send does): a small coroutine (`select_branch`) calls the
//   awaiter's await_suspend.
//
// The first branch found ready wins without any branch coroutine: the
// common case of a busy loop (a channel with a value) allocates nothing.
// Deferred branches are started after the pass. If nothing finished, the
// awaiting coroutine suspends; the first branch to be resumed wins. The
// winner (ready or resumed) at once cancels every other branch: its
// awaiter is destroyed (which unregisters it, by the wake rule of
// task_header.hpp, also when it was already woken), its frame destroyed,
// and its operand destroyed if the select owns it. Only then does the
// awaiting coroutine resume and take the winner's result (await_resume).
// All of it runs on the awaiting task's thread, so no state here is atomic.
//
// Lvalue branches are not cancelled, only left: a `task<T>&` keeps running
// in place (its continuation is set to a no-op; the next select that is
// given it resumes waiting for it), a `time::sleep_awaiter&` keeps its
// deadline (each round awaits a fresh sleep_until(deadline)). Other lvalue
// operands must make a fresh awaiter when awaited (a join_handle): that
// awaiter is destroyed, the operation itself is left alone.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>

#include <time.h>

#include <array>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace kyoto {

/// Thrown by `co_await select(...)` when every branch is disabled (each is
/// a `when(false, ...)`): tokio's `else` branch. Catch it where tokio would
/// write `else => ...`.
///
/// Thread safety: an ordinary exception value. Cancel safety: n/a.
class all_branches_disabled : public std::runtime_error {
 public:
  all_branches_disabled() : std::runtime_error("kyoto::select: every branch is disabled") {}
};

/// A select branch with a precondition (tokio's `, if cond`): made by
/// when(). A disabled branch is never awaited (its operand is still
/// destroyed with the select). Pass it straight to select().
///
/// Thread safety: used by one task. Cancel safety: that of the operand.
template <class A>
class when_branch {
 public:
  when_branch(bool enabled, A&& a) : enabled_(enabled), operand_(static_cast<A&&>(a)) {}
  when_branch(when_branch&&) = default;
  when_branch(const when_branch&) = delete;
  when_branch& operator=(const when_branch&) = delete;

  /// Whether the branch takes part in the select.
  bool enabled() const noexcept { return enabled_; }
  /// The operand (moved from by select()).
  A&& operand() noexcept { return static_cast<A&&>(operand_); }

 private:
  bool enabled_;
  A operand_;  // a value for an rvalue argument, a reference for an lvalue
};

/// Makes `a` a select branch only if `enabled` (tokio's `branch, if cond`).
/// An rvalue operand is moved into the branch; an lvalue is referred to.
template <class A>
  requires detail::awaitable<A>
[[nodiscard]] when_branch<A> when(bool enabled, A&& a) {
  return when_branch<A>(enabled, std::forward<A>(a));
}

namespace detail {

template <class A>
struct unwrap_when {
  using type = A;
};
template <class A>
struct unwrap_when<when_branch<A>> {
  using type = A;
};
/// The operand type of a select argument (when_branch unwrapped).
template <class A>
using select_operand_t = typename unwrap_when<std::remove_cvref_t<A>>::type;
template <class A>
inline constexpr bool is_when_v = !std::is_same_v<select_operand_t<A>, std::remove_cvref_t<A>>;

template <class A>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

/// A select's value for one branch: the awaited type, or std::monostate.
template <class A>
using select_value_t =
    std::conditional_t<std::is_void_v<await_result_t<A>>, std::monostate, await_result_t<A>>;

/// An object constructed in place, destroyed on demand. For awaiters, which
/// are often neither copyable nor movable (hence the factory).
template <class T>
class manual_slot {
 public:
  manual_slot() noexcept = default;
  manual_slot(const manual_slot&) = delete;
  manual_slot& operator=(const manual_slot&) = delete;
  ~manual_slot() { reset(); }

  template <class F>
  T& emplace_from(F&& make) {
    assert(!engaged_);
    ::new (static_cast<void*>(buf_)) T(static_cast<F&&>(make)());
    engaged_ = true;
    return get();
  }
  bool engaged() const noexcept { return engaged_; }
  T& get() noexcept { return *std::launder(reinterpret_cast<T*>(buf_)); }
  void reset() noexcept {
    if (engaged_) {
      engaged_ = false;
      get().~T();
    }
  }

 private:
  alignas(T) unsigned char buf_[sizeof(T)];
  bool engaged_ = false;
};

/// Normalises an awaiter's await_suspend to "suspend?" (true) or a
/// coroutine to transfer to.
template <class Aw>
decltype(auto) forward_suspend(Aw& aw, std::coroutine_handle<> h) {
  return aw.await_suspend(h);
}

/// One branch's operation; see the file comment. Primary template: an
/// operand with an awaiter of its own (anything but the lvalue task and
/// sleep below). `Owned`: the select holds the operand (an rvalue argument).
template <class A>
class select_op {
  static constexpr bool owned = !std::is_lvalue_reference_v<A>;
  using value_type = std::remove_reference_t<A>;
  using awaiter_type = awaiter_t<A>;
  static constexpr bool bare = std::is_reference_v<awaiter_type>;  // operand is the awaiter
  using aw_t = std::remove_reference_t<awaiter_type>;

 public:
  using result_type = await_result_t<A>;
  /// Whether, not ready, it starts after the pass (see the file comment).
  static constexpr bool deferred() noexcept { return false; }

  template <class U>
  explicit select_op(bool enabled, U&& u) : enabled_(enabled) {
    if constexpr (owned) {
      operand_.emplace_from([&]() -> value_type { return value_type(static_cast<U&&>(u)); });
    } else {
      operand_ = std::addressof(u);
    }
  }
  /// Movable until the select is awaited.
  select_op(select_op&& o) : enabled_(o.enabled_) {
    assert(!o.awaiter_.engaged());
    if constexpr (owned) {
      operand_.emplace_from([&]() -> value_type { return std::move(o.operand_.get()); });
    } else {
      operand_ = o.operand_;
    }
  }

  bool enabled() const noexcept { return enabled_; }

  /// Makes the awaiter and asks it (the pass).
  bool ready() {
    if constexpr (bare) {
      return static_cast<bool>(operand().await_ready());
    } else {
      awaiter_.emplace_from([&]() -> aw_t { return get_awaiter(static_cast<A&&>(operand())); });
      return static_cast<bool>(awaiter_.get().await_ready());
    }
  }
  /// Called by the branch coroutine after ready() said no.
  decltype(auto) suspend(std::coroutine_handle<> h) { return awaiter().await_suspend(h); }
  /// The result, after ready() or a resumed suspend().
  result_type resume() { return awaiter().await_resume(); }
  /// Lost: unregisters and destroys what the select owns.
  void cancel() noexcept {
    awaiter_.reset();
    if constexpr (owned) operand_.reset();
  }

 private:
  value_type& operand() noexcept {
    if constexpr (owned) {
      return operand_.get();
    } else {
      return *operand_;
    }
  }
  aw_t& awaiter() noexcept {
    if constexpr (bare) {
      return operand();
    } else {
      return awaiter_.get();
    }
  }

  struct none {
    void reset() noexcept {}
    bool engaged() const noexcept { return false; }
  };
  bool enabled_;
  std::conditional_t<owned, manual_slot<value_type>, value_type*> operand_;
  std::conditional_t<bare, none, manual_slot<aw_t>> awaiter_;
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

/// An lvalue sleep: keeps its deadline across rounds; each round awaits a
/// fresh sleep_until(deadline), destroyed when the branch loses.
template <>
class select_op<time::sleep_awaiter&> {
 public:
  using result_type = void;
  static constexpr bool deferred() noexcept { return true; }

  select_op(bool enabled, time::sleep_awaiter& s) noexcept : enabled_(enabled), sleep_(&s) {}
  select_op(select_op&& o) noexcept : enabled_(o.enabled_), sleep_(o.sleep_) {}

  bool enabled() const noexcept { return enabled_; }

  /// A deadline check against the coarse monotonic clock (a few ns, where
  /// clock::now() costs tens): it lags the precise clock by under a tick,
  /// so it never reports a sleep early; a sleep it misses is found by the
  /// branch, which checks the precise clock, unless another branch is
  /// ready (then the sleep wins a round at most one tick later). No budget
  /// is consumed, as tokio's Sleep::is_elapsed.
  bool ready() const noexcept {
    const time::instant d = sleep_->deadline();
    if (d == time::instant::max()) return false;
    ::timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    const time::instant now(std::chrono::duration_cast<time::clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    return now >= d;
  }
  bool suspend(std::coroutine_handle<> h) {
    time::sleep_awaiter& s =
        fresh_.emplace_from([&] { return time::sleep_until(sleep_->deadline()); });
    if (s.await_ready()) return false;
    return s.await_suspend(h);
  }
  void resume() noexcept {
    if (fresh_.engaged()) fresh_.get().await_resume();
    fresh_.reset();
    sleep_->await_resume();  // marks it done: awaiting it again completes at once
  }
  void cancel() noexcept { fresh_.reset(); }

 private:
  bool enabled_;
  time::sleep_awaiter* sleep_;
  manual_slot<time::sleep_awaiter> fresh_;
};

/// What the branches of one select share. Owned by the select's awaiter.
struct select_state {
  static constexpr std::size_t none = ~std::size_t{0};
  std::coroutine_handle<> parent;  ///< the coroutine awaiting the select
  std::size_t winner = none;       ///< the branch that finished first
  bool parent_suspended = false;   ///< await_suspend returned true
  std::exception_ptr error;        ///< the winner threw (from await_suspend)
  void* self = nullptr;            ///< the select_awaiter
  void (*cancel_losers)(void* self, std::size_t winner) noexcept = nullptr;
};

/// A select branch's coroutine; owns its frame.
class select_branch {
 public:
  class promise_type : public pooled_frame {
   public:
    template <class... Args>
    promise_type(select_state* s, std::size_t index, Args&...) noexcept
        : state_(s), index_(index) {}

    select_branch get_return_object() noexcept {
      return select_branch(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        select_state& s = *p.state_;
        // Losers are destroyed the moment a winner exists, so none gets here.
        assert(s.winner == select_state::none);
        s.winner = p.index_;
        s.error = std::move(p.error_);
        s.cancel_losers(s.self, p.index_);
        if (s.parent_suspended) return s.parent;
        return std::noop_coroutine();  // back to the select's start pass
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

   private:
    select_state* state_;
    std::size_t index_;
    std::exception_ptr error_;
  };

  select_branch() noexcept = default;
  select_branch(select_branch&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  select_branch& operator=(select_branch&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~select_branch() { reset(); }

  void start() const { h_.resume(); }
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

 private:
  explicit select_branch(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

/// The branch's co_await: the pass already asked await_ready.
template <class Op>
struct select_suspend {
  Op& op;
  bool await_ready() const noexcept { return false; }
  decltype(auto) await_suspend(std::coroutine_handle<> h) { return op.suspend(h); }
  void await_resume() const noexcept {}  // the select takes the result
};

template <class Op>
select_branch run_select_branch(select_state*, std::size_t, Op& op) {
  co_await select_suspend<Op>{op};
}

/// A per-thread xorshift32 (tokio's FastRand): the start offset.
inline std::uint32_t select_random() noexcept {
  thread_local std::uint32_t state =
      0x9E3779B9u ^ static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&state) >> 4);
  std::uint32_t x = state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}

/// The awaiter of select(a, b, ...) / select_biased(...).
template <bool Biased, class... A>
class select_awaiter {
  static constexpr std::size_t n = sizeof...(A);
  static_assert(n > 0 && n <= 64, "kyoto::select takes 1 to 64 branches");
  using ops_type = std::tuple<select_op<A>...>;

 public:
  using result_type = std::variant<select_value_t<A>...>;

  template <class... U>
  explicit select_awaiter(U&&... u) : ops_(make_op<A>(std::forward<U>(u))...) {}
  /// Movable until awaited.
  select_awaiter(select_awaiter&& o) : ops_(std::move(o.ops_)) {
    assert(o.state_.winner == select_state::none && !o.state_.parent_suspended);
  }
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;

  bool await_ready() {
    state_.self = this;
    state_.cancel_losers = &cancel_losers_of;
    std::size_t start = 0;
    if constexpr (!Biased && n > 1) {
      start = static_cast<std::size_t>((std::uint64_t{select_random()} * n) >> 32);
    }
    bool any = false;
    std::uint64_t deferred = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = start + k < n ? start + k : start + k - n;
      const bool done = visit(i, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        auto& op = std::get<I>(ops_);
        if (!op.enabled()) return false;
        any = true;
        if (op.ready()) return win_ready(I);
        if (op.deferred()) {
          deferred |= std::uint64_t{1} << I;
          return false;
        }
        return start_branch<I>();
      });
      if (done) return true;
    }
    for (std::size_t k = 0; deferred != 0 && k < n; ++k) {
      const std::size_t i = start + k < n ? start + k : start + k - n;
      if ((deferred >> i & 1) == 0) continue;
      if (visit(i, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            return start_branch<I>();
          }))
        return true;
    }
    if (!any) all_disabled_ = true;
    return !any;
  }

  void await_suspend(std::coroutine_handle<> parent) noexcept {
    state_.parent = parent;
    state_.parent_suspended = true;
  }

  result_type await_resume() {
    if (all_disabled_) throw all_branches_disabled();
    if (state_.error) std::rethrow_exception(state_.error);
    return take<0>();
  }

 private:
  template <class Arg, class U>
  static select_op<Arg> make_op(U&& u) {
    if constexpr (is_when_v<U>) {
      const bool enabled = u.enabled();
      return select_op<Arg>(enabled, u.operand());
    } else {
      return select_op<Arg>(true, std::forward<U>(u));
    }
  }

  template <class F>
  static bool visit(std::size_t i, F&& f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      bool r = false;
      (void)((i == I && ((r = f(std::integral_constant<std::size_t, I>{})), true)) || ...);
      return r;
    }(std::index_sequence_for<A...>{});
  }

  bool win_ready(std::size_t i) noexcept {
    state_.winner = i;
    cancel_losers_of(this, i);
    return true;
  }

  /// Starts branch I; true if the select is over (it or an earlier-started
  /// branch won meanwhile: only it can, as nothing else runs).
  template <std::size_t I>
  bool start_branch() {
    branches_[I] = run_select_branch(&state_, I, std::get<I>(ops_));
    branches_[I].start();
    return state_.winner != select_state::none;
  }

  static void cancel_losers_of(void* self, std::size_t winner) noexcept {
    auto& s = *static_cast<select_awaiter*>(self);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (s.template cancel_one<I>(winner), ...);
    }(std::index_sequence_for<A...>{});
  }

  template <std::size_t I>
  void cancel_one(std::size_t winner) noexcept {
    if (I == winner) return;
    std::get<I>(ops_).cancel();
    branches_[I].reset();
  }

  template <std::size_t I>
  result_type take() {
    if constexpr (I + 1 < n) {
      if (state_.winner != I) return take<I + 1>();
    }
    auto& op = std::get<I>(ops_);
    if constexpr (std::is_void_v<typename select_op_t<I>::result_type>) {
      op.resume();
      return result_type(std::in_place_index<I>);
    } else {
      return result_type(std::in_place_index<I>, op.resume());
    }
  }
  template <std::size_t I>
  using select_op_t = std::tuple_element_t<I, ops_type>;

  ops_type ops_;
  std::array<select_branch, n> branches_;  // destroyed before ops_
  select_state state_;
  bool all_disabled_ = false;
};

/// An argument of select: an awaitable or a when() of one. An lvalue must
/// be a task, a sleep, or make a fresh awaiter when awaited (a join_handle):
/// a bare awaiter lvalue would stay registered with a cancelled branch.
template <class A>
concept select_operand =
    awaitable<A> && (!std::is_lvalue_reference_v<A> || is_task_v<std::remove_cvref_t<A>> ||
                     std::is_same_v<std::remove_cvref_t<A>, time::sleep_awaiter> ||
                     has_member_co_await<A> || has_free_co_await<A>);

template <class A>
using select_arg_t = std::conditional_t<is_when_v<A>, select_operand_t<A>, A>;

}  // namespace detail

/// Awaits every operation concurrently inside the calling task until the
/// first completes (tokio::select!); returns a std::variant holding its
/// value at its branch's index (void: std::monostate). Every other branch
/// is cancelled before select returns: rvalue operands are destroyed
/// (destructors run), lvalue operands are left alone with their progress
/// (a `task<T>&` keeps running, a `time::sleep_awaiter&` keeps its
/// deadline: tokio's `&mut fut`).
///
/// Branches are tried from a random offset (fairness; see select_biased for
/// argument order). A branch wrapped in `when(false, op)` is skipped; if
/// every branch is, select throws all_branches_disabled (tokio's `else`).
/// If the winning operation throws, the others are cancelled first and the
/// exception propagates. An lvalue task that wins is left empty.
///
/// Thread safety: awaited by one task; the branches run on that task's
/// thread, never in parallel. Cancel safety: cancelling the select cancels
/// every branch (rvalues destroyed, lvalues left as on losing); in a loop,
/// a branch's value is lost only if its operation is not cancel safe (see
/// each operation's documentation: mpsc recv() and notified() are; a
/// partial read is not).
template <class... A>
  requires(detail::select_operand<detail::select_arg_t<A>> && ...)
[[nodiscard]] detail::select_awaiter<false, detail::select_arg_t<A>...> select(A&&... a) {
  return detail::select_awaiter<false, detail::select_arg_t<A>...>(std::forward<A>(a)...);
}

/// select() trying the branches in argument order (tokio's `biased;`): the
/// first ready branch by position wins. Everything else as select().
///
/// Thread safety and cancel safety: as select().
template <class... A>
  requires(detail::select_operand<detail::select_arg_t<A>> && ...)
[[nodiscard]] detail::select_awaiter<true, detail::select_arg_t<A>...> select_biased(A&&... a) {
  return detail::select_awaiter<true, detail::select_arg_t<A>...>(std::forward<A>(a)...);
}

}  // namespace kyoto
