// The engine of kyoto::streams' synchronous one-input adapters (map,
// filter, filter_map): an adapter that is a plain object, not a coroutine.
//
// # Why
//
// An adapter written as a kyoto::stream runs its body as a nested task of
// the consumer (stream_core.hpp): every item costs a run of that task per
// stage (a CAS to begin the run, the co_yield's park, the resumptions). A
// synchronous stage needs none of it: its next() can await the input's
// next() itself and transform what it gives. So `fused_stream<S, Stage>`
// holds the input `S` and the stage, and its next() awaiter drives the
// input's awaiter by hand:
//
// - fast path, in await_ready(): make the input's awaiter; while its
//   await_ready() is true, take the item and apply the stage (emit, skip,
//   or the input ended). An item emitted or the end completes the await
//   without suspending anything and without a coroutine frame.
// - slow path: the input's await_ready() said false (it may hold the
//   input's lock, see runtime/detail/awaitable.hpp), so our await_ready()
//   returns false and our await_suspend() at once calls the input's
//   await_suspend() with the stream's *resume* coroutine as the waiter.
//   When the input completes it resumes that coroutine (in the consumer's
//   task, since the input's wake_node was prepared there), which takes the
//   item, applies the stage and either transfers to the consumer or, for a
//   skipped item, awaits the input again.
//
// The resume coroutine is one pooled frame per stream, made at the first
// next() (before any input awaiter exists, so no allocation falls between
// an await_ready() that returned false and its await_suspend()); it knows
// the waiting awaiter through its promise, set at each suspension, so the
// stream may move between next() calls.
//
// # Cancel safety
//
// The input's awaiter lives in our awaiter. A next() destroyed while
// suspended destroys it: the input's own cancel safety applies (a
// cancelled recv() took nothing, a cancelled kyoto::stream next() leaves
// its body where it was). Items the input had already given were either
// skipped by the stage or are in the completed await: nothing is lost.
// The resume coroutine stays suspended, unused, until the next suspension.
//
// # End and errors
//
// Like a kyoto::stream, a fused adapter is fused: after its input ended,
// or after the input's next() or the stage threw (rethrown by that
// next()), next() gives nullopt without polling the input.
#pragma once

#include <kyoto/stream/async_stream.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>

#include <cassert>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace kyoto::detail {

/// What a stage did with one input item.
enum class fused_verdict : unsigned char {
  emit,  ///< the output slot holds an item
  skip,  ///< nothing for this item: await the input again
};

/// The coroutine an input's awaiter resumes on the slow path; see the file
/// comment. Each resumption calls `on_wake(target)` and transfers to what
/// it returns.
class fused_resume {
 public:
  struct promise_type : pooled_frame {
    fused_resume get_return_object() noexcept {
      return fused_resume(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    /// on_wake() is noexcept.
    void unhandled_exception() const noexcept { std::terminate(); }

    /// The suspended awaiter to continue; set before each suspension.
    void* target = nullptr;
    /// Continues `target`; gives the coroutine to transfer to.
    std::coroutine_handle<> (*on_wake)(void* target) noexcept = nullptr;
  };

  /// The created (suspended) coroutine.
  std::coroutine_handle<promise_type> handle() const noexcept { return h_; }

 private:
  explicit fused_resume(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

struct fused_wake_awaiter {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(
      std::coroutine_handle<fused_resume::promise_type> h) const noexcept {
    return h.promise().on_wake(h.promise().target);
  }
  void await_resume() const noexcept {}
};

inline fused_resume run_fused_resume() {
  for (;;)
    co_await fused_wake_awaiter{};
}

template <class A>
inline constexpr bool is_plain_awaiter_v = !has_member_co_await<A> && !has_free_co_await<A>;

/// The input's next() awaitable and the awaiter driving it, made in place
/// (neither needs to be movable).
template <class S, bool Plain = is_plain_awaiter_v<decltype(std::declval<S&>().next())>>
struct fused_input {
  using op_type = decltype(std::declval<S&>().next());
  explicit fused_input(S& s) : op(s.next()) {}
  op_type& awaiter() noexcept { return op; }
  op_type op;
};

template <class S>
struct fused_input<S, false> {
  using op_type = decltype(std::declval<S&>().next());
  using awaiter_type = decltype(get_awaiter(std::declval<op_type&>()));
  explicit fused_input(S& s) : op(s.next()), aw(get_awaiter(op)) {}
  std::remove_reference_t<awaiter_type>& awaiter() noexcept { return aw; }
  op_type op;
  awaiter_type aw;  ///< destroyed before op
};

/// Two stages as one: `second` applied to what `first` emits.
template <class First, class Second>
struct fused_chain_stage {
  using output = typename Second::output;
  template <class In>
  fused_verdict operator()(In&& v, std::optional<output>& out) {
    std::optional<typename First::output> mid;
    if (first(std::forward<In>(v), mid) == fused_verdict::skip) return fused_verdict::skip;
    return second(std::move(*mid), out);
  }
  First first;
  Second second;
};

/// Whether `S` is a fused_stream (whose stages a new stage joins).
template <class S>
inline constexpr bool is_fused_stream_v = false;

/// A stream that applies `Stage` to the items of `S`; see the file
/// comment. `Stage` has `using output = ...;` and
/// `fused_verdict operator()(In&& item, std::optional<output>& out)`.
///
/// Thread safety: one task at a time (it may move between tasks between
/// next() calls). Cancel safety: that of `S`'s next() (cancel safe if it
/// is).
template <async_stream S, class Stage>
class fused_stream {
  using in_type = stream_item_t<S>;

 public:
  /// The items it gives.
  using value_type = typename Stage::output;

  /// Awaits the next item; see next().
  class [[nodiscard]] next_awaiter {
    using input = fused_input<S>;
    using suspend_result =
        decltype(std::declval<input&>().awaiter().await_suspend(std::coroutine_handle<>()));
    static constexpr bool transfers =
        !std::is_void_v<suspend_result> && !std::is_same_v<suspend_result, bool>;

   public:
    /// Made by next(); not constructed by users.
    explicit next_awaiter(fused_stream* s) noexcept : s_(s) {}
    /// Movable until awaited (select and timeout hold it by value).
    next_awaiter(next_awaiter&& o) noexcept : s_(o.s_) {
      assert(!o.in_ && "a fused next() awaiter moved while awaited");
    }
    next_awaiter(const next_awaiter&) = delete;
    next_awaiter& operator=(const next_awaiter&) = delete;
    /// Destroyed while suspended (cancelled): the input's awaiter goes
    /// with it (its own cancellation); the input keeps what it has.
    ~next_awaiter() = default;

    /// The fast path: true when an item (or the end) came without waiting.
    bool await_ready() {
      if (s_->ended_) return true;
      if (!s_->resume_) s_->resume_ = run_fused_resume().handle();
      return pull();
    }

    /// The input must wait: suspends it with the stream's resume
    /// coroutine as its waiter (releasing what its await_ready() holds).
    auto await_suspend(std::coroutine_handle<> h) {
      consumer_ = h;
      const std::coroutine_handle<> r = suspend_input();
      if constexpr (transfers) {
        return r ? r : h;
      } else {
        return static_cast<bool>(r);
      }
    }

    /// The item, or nullopt at the end; rethrows what the input or the
    /// stage threw on the slow path.
    std::optional<value_type> await_resume() {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return std::move(out_);
    }

   private:
    /// Makes input awaiters until one is not ready (false, it may hold a
    /// lock) or an item or the end is there (true).
    bool pull() {
      for (;;) {
        in_.emplace(s_->inner_);
        if (!in_->awaiter().await_ready()) return false;
        if (take()) return true;
      }
    }

    /// Takes the completed input await's result through the stage: true
    /// for an item or the end, false for a skipped item.
    bool take() {
      try {
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): take() follows a started input await
        std::optional<in_type> v = in_->awaiter().await_resume();
        in_.reset();
        if (!v) {
          s_->ended_ = true;
          return true;
        }
        return s_->stage_(std::move(*v), out_) == fused_verdict::emit;
      } catch (...) {
        in_.reset();
        s_->ended_ = true;
        throw;
      }
    }

    /// Suspends the input's awaiter (its await_ready() said false) until
    /// an item or the end: an empty handle when that came without
    /// suspending, noop_coroutine() when suspended, else the coroutine to
    /// transfer to.
    std::coroutine_handle<> suspend_input() {
      for (;;) {
        auto& resume = s_->resume_.promise();
        resume.target = this;
        resume.on_wake = &next_awaiter::on_wake;
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): the caller emplaced the input await
        auto& a = in_->awaiter();
        if constexpr (std::is_void_v<suspend_result>) {
          a.await_suspend(s_->resume_);
          return std::noop_coroutine();
        } else if constexpr (std::is_same_v<suspend_result, bool>) {
          if (a.await_suspend(s_->resume_)) return std::noop_coroutine();
        } else {
          return a.await_suspend(s_->resume_);
        }
        // The input completed without suspending.
        if (take()) return {};
        if (pull()) return {};
      }
    }

    /// The input completed after suspending: in the consumer's task, from
    /// the resume coroutine.
    static std::coroutine_handle<> on_wake(void* target) noexcept {
      auto* self = static_cast<next_awaiter*>(target);
      try {
        if (!self->take() && !self->pull()) {
          const std::coroutine_handle<> r = self->suspend_input();
          if (r) return r;
        }
      } catch (...) {
        self->error_ = std::current_exception();
      }
      return self->consumer_;
    }

    fused_stream* s_;
    std::optional<input> in_;  ///< the input's await in progress
    std::optional<value_type> out_;
    std::exception_ptr error_;
    std::coroutine_handle<> consumer_;
  };

  /// Applies `stage` to the items of `s`; takes both over.
  fused_stream(S s, Stage stage) : inner_(std::move(s)), stage_(std::move(stage)) {}
  /// Takes over `o`'s input, stage and state.
  fused_stream(fused_stream&& o) noexcept(std::is_nothrow_move_constructible_v<S> &&
                                          std::is_nothrow_move_constructible_v<Stage>)
      : inner_(std::move(o.inner_)),
        stage_(std::move(o.stage_)),
        resume_(std::exchange(o.resume_, {})),
        ended_(o.ended_) {}
  fused_stream& operator=(fused_stream&&) = delete;
  fused_stream(const fused_stream&) = delete;
  fused_stream& operator=(const fused_stream&) = delete;
  /// No next() may be suspended.
  ~fused_stream() {
    if (resume_) resume_.destroy();
  }

  /// `co_await s.next()`: the next item, or nullopt at the end. One next()
  /// at a time; the stream must outlive it. Cancel safe if `S`'s is.
  next_awaiter next() noexcept { return next_awaiter(this); }

  /// This stream with `next` applied after its stage, over the same input:
  /// `filter(p) | map(f)` is one fused_stream over the input, so an item
  /// crosses one awaiter, not one per adapter. No next() may be in
  /// progress; this is left moved-from.
  template <class Next>
  fused_stream<S, fused_chain_stage<Stage, Next>> add_stage(Next next) && {
    fused_stream<S, fused_chain_stage<Stage, Next>> out(
        std::move(inner_), fused_chain_stage<Stage, Next>{std::move(stage_), std::move(next)});
    out.ended_ = ended_;
    return out;
  }

 private:
  template <async_stream, class>
  friend class fused_stream;

  S inner_;
  Stage stage_;
  std::coroutine_handle<fused_resume::promise_type> resume_;
  bool ended_ = false;
};

template <class S, class Stage>
inline constexpr bool is_fused_stream_v<fused_stream<S, Stage>> = true;

/// `stage` over `s`: joins `s`'s stages if `s` is a fused_stream.
template <async_stream S, class Stage>
auto make_fused(S s, Stage stage) {
  if constexpr (is_fused_stream_v<S>) {
    return std::move(s).add_stage(std::move(stage));
  } else {
    return fused_stream<S, Stage>(std::move(s), std::move(stage));
  }
}

/// map's stage.
template <class F, class In>
struct map_stage {
  using output = std::decay_t<std::invoke_result_t<F&, In&&>>;
  fused_verdict operator()(In&& v, std::optional<output>& out) {
    out.emplace(std::invoke(f, std::move(v)));
    return fused_verdict::emit;
  }
  F f;
};

/// filter's stage.
template <class P, class In>
struct filter_stage {
  using output = In;
  fused_verdict operator()(In&& v, std::optional<output>& out) {
    const bool keep = std::invoke(pred, std::as_const(v));
    if (!keep) return fused_verdict::skip;
    out.emplace(std::move(v));
    return fused_verdict::emit;
  }
  P pred;
};

template <class O>
struct fused_optional_value;
template <class T>
struct fused_optional_value<std::optional<T>> {
  using type = T;
};

/// filter_map's stage.
template <class F, class In>
struct filter_map_stage {
  using output = typename fused_optional_value<std::decay_t<std::invoke_result_t<F&, In&&>>>::type;
  fused_verdict operator()(In&& v, std::optional<output>& out) {
    auto r = std::invoke(f, std::move(v));
    if (!r) return fused_verdict::skip;
    out.emplace(std::move(*r));
    return fused_verdict::emit;
  }
  F f;
};

}  // namespace kyoto::detail
