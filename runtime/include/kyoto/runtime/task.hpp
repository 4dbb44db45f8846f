// kyoto::task<T>: the coroutine type of async functions.
//
// # Contract
//
// - Lazy: calling a task-returning function allocates its frame and runs
//   nothing; the body starts when the task is awaited or spawned.
// - Move-only; destroying a task that has not finished destroys its frame,
//   running the destructors of everything alive at the suspension point
//   (that is how kyoto cancels: see join_handle::abort and select).
// - Awaiting a task gives its co_returned value or rethrows its exception.
//   A task is awaited at most once; awaiting a moved-from task or awaiting
//   twice throws std::logic_error.
//
// # How awaiting works (and why the stack stays flat at -O0)
//
// The awaiter resumes the child directly from await_suspend. If the child
// finishes without suspending, its final_suspend returns to that call and
// await_suspend returns false: the parent continues without ever having
// suspended, and the stack is back where it was. If the child suspends, the
// parent suspends too, and when the child later finishes (resumed by its
// task's thread, from the bottom of the stack) it transfers to the parent
// symmetrically. So a loop of a million awaits of tasks that complete at
// once uses constant stack even where the compiler does not turn symmetric
// transfer into a tail call (GCC and Clang at -O0; libcoro #273, folly
// #2077). The phase field needs no atomics: all coroutines of one spawned
// task are resumed by one thread at a time (see task_header.hpp).
#pragma once

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/result_storage.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <source_location>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kyoto {

template <class T = void>
class task;

namespace detail {

/// Where a task's coroutine stands relative to its awaiter.
enum class task_phase : unsigned char {
  not_started,       ///< created, never awaited
  started_inline,    ///< being run from the awaiter's await_suspend
  completed_inline,  ///< finished before the awaiter suspended
  awaited_async,     ///< the awaiter suspended; continuation_ must be resumed
  root,              ///< the root of a spawned task; continuation_ is a no-op
};

/// The part of every task promise that does not depend on T.
class task_promise_base : public pooled_frame {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
      Promise& p = h.promise();
      if (p.phase_ == task_phase::started_inline) {
        // The awaiter's await_suspend is below us on the stack: return to it.
        p.phase_ = task_phase::completed_inline;
        return std::noop_coroutine();
      }
      return p.continuation_;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }

  /// Every co_await of a task coroutine: wraps the awaiter so that its
  /// suspension records where it is (detail/await_point.hpp; task dumps).
  /// `Site`, a fresh closure type per call site, gives each co_await its
  /// own static record, whose address is parked in the promise here (the
  /// suspension adds the awaiter's place). Members of this non-template
  /// class: GCC 12 rejects a lambda in a default template argument of a
  /// member of a class template. The closure type stays out of the
  /// wrapper's type, hence out of the frame's (in a coroutine defined in a
  /// header, a field of a type with internal linkage would warn
  /// -Wsubobject-linkage).
  template <class A, class Site = decltype([] {})>
    requires(!untraced_await<A>)
  [[gnu::always_inline]] traced_awaiter<decltype(get_awaiter(std::declval<A>()))>
  await_transform(A&& a, std::source_location where = std::source_location::current()) noexcept(
      noexcept(traced_awaiter<decltype(get_awaiter(std::declval<A>()))>(std::declval<A>()))) {
    using awaiter = traced_awaiter<decltype(get_awaiter(std::declval<A>()))>;
    // A guarded static: `where` is a function argument (the same at every
    // call from this site).
    static const await_site site{&awaiter::inspect, where};
    park_word(await_word::of(&site));
    return awaiter(static_cast<A&&>(a));
  }
  /// An awaiter that never leaves the task idle (detail/await_point.hpp,
  /// untraced_await) is awaited as it is: the operand itself, no copy.
  template <untraced_await A>
  [[gnu::always_inline]] A&& await_transform(A&& a) noexcept {
    return static_cast<A&&>(a);
  }

  /// The co_await this frame is suspended at, an await_word (stale while
  /// it runs; 0 before its first co_await). Read by task dumps, which only
  /// read suspended frames. Kept in the storage of the result slot, the
  /// first member of every task_promise (this class has no data member, so
  /// that slot is at its address; see the static_asserts below).
  std::uintptr_t parked_word() const noexcept {
    return *std::launder(reinterpret_cast<const std::uintptr_t*>(this));
  }

 private:
  void park_word(std::uintptr_t word) noexcept {
    *std::launder(reinterpret_cast<std::uintptr_t*>(this)) = word;
  }
};

template <class T>
class task_promise : public task_promise_base {
 public:
  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }

  template <class U = T>
    requires std::convertible_to<U&&, T>
  void return_value(U&& value) {
    result_.set_value(std::forward<U>(value));
  }

  /// First: its storage holds the await point while the frame is
  /// suspended (parked_point()). no_unique_address lets phase_ sit in the
  /// result's tail padding: a promise is 24 bytes for small T, in every
  /// frame.
  [[no_unique_address]] result_storage<T> result_;
  task_phase phase_ = task_phase::not_started;
  /// The state_tick of the frame's last suspension at a traced co_await
  /// (detail/await_point.hpp): in padding, the promise stays 24 bytes.
  std::uint32_t state_tick_ = 0;
  std::coroutine_handle<> continuation_;
};

template <>
class task_promise<void> : public task_promise_base {
 public:
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }
  void return_void() noexcept { result_.set_value(); }

  // See task_promise<T>.
  [[no_unique_address]] result_storage<void> result_;
  task_phase phase_ = task_phase::not_started;
  std::uint32_t state_tick_ = 0;
  std::coroutine_handle<> continuation_;
};

// 8 bytes of result (or await point), 8 of kind, phase and state tick, 8 of
// continuation; the result slot at the promise's address (parked_word()).
static_assert(sizeof(task_promise<void>) == 24 && sizeof(task_promise<int>) == 24);
static_assert(std::is_standard_layout_v<task_promise<void>> &&
              offsetof(task_promise<void>, result_) == 0);
// The state tick at 8 * slot + 4 (await_word::tick_slot).
static_assert(offsetof(task_promise<void>, state_tick_) == 12 &&
              offsetof(task_promise<int>, state_tick_) == 12);

/// Lets the runtime adopt a task's coroutine (spawn, join, block_on).
struct task_access {
  template <class T>
  static std::coroutine_handle<task_promise<T>> release(task<T>& t) noexcept {
    return std::exchange(t.handle_, {});
  }
  template <class T>
  static std::coroutine_handle<task_promise<T>> handle(const task<T>& t) noexcept {
    return t.handle_;
  }
};

[[noreturn]] KYOTO_EXPORT void throw_task_misuse(const char* what);

}  // namespace detail

/// A lazily started coroutine producing a T (see the file comment).
///
/// Thread safety: a task object is used by one thread at a time. Its body
/// runs on whichever runtime thread runs the spawned task it belongs to.
/// Cancel safety: destroying a suspended task cancels it; what that means
/// for the operation it was waiting on is documented by that operation.
template <class T>
class [[nodiscard]] task {
 public:
  /// The coroutine promise (library-internal; C++ finds it here).
  using promise_type = detail::task_promise<T>;
  /// What `co_await` on the task gives.
  using value_type = T;

  /// An empty task; awaiting it throws std::logic_error.
  task() noexcept = default;
  /// Takes over `other`'s coroutine; `other` is left empty (valid() is
  /// false).
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  /// Destroys this task's coroutine if it has not finished
  /// (cancellation), then takes over `other`'s; `other` is left empty.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;

  /// Destroys the coroutine frame if it has not finished (cancellation).
  ~task() { destroy(); }

  /// Whether this task owns a coroutine (false after a move).
  bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// Runs the task to completion inside the awaiting coroutine. If the
  /// awaiting coroutine is destroyed meanwhile, the task is cancelled too.
  ///@{
  auto operator co_await() & noexcept { return awaiter{this}; }
  auto operator co_await() && noexcept { return awaiter{this}; }
  ///@}

 private:
  friend struct detail::task_access;
  friend class detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  explicit task(handle_type h) noexcept : handle_(h) {}

  void destroy() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  struct awaiter {
    task* owner;

    awaiter(task* t) noexcept : owner(t) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;

    /// The awaiting coroutine was destroyed while the child was suspended
    /// (cancellation): the child can never return to it, so it is cancelled
    /// too, and the task object left empty.
    ~awaiter() {
      const handle_type h = owner->handle_;
      if (h && h.promise().phase_ == detail::task_phase::awaited_async && !h.done()) {
        owner->destroy();
      }
    }

    bool await_ready() const {
      const handle_type h = owner->handle_;
      if (!h) detail::throw_task_misuse("kyoto::task: awaiting an empty or moved-from task");
      if (h.promise().phase_ != detail::task_phase::not_started) {
        detail::throw_task_misuse("kyoto::task: a task can be awaited only once");
      }
      return false;
    }

    bool await_suspend(std::coroutine_handle<> parent) const {
      const handle_type h = owner->handle_;
      promise_type& p = h.promise();
      p.continuation_ = parent;
      p.phase_ = detail::task_phase::started_inline;
      h.resume();
      if (p.phase_ == detail::task_phase::completed_inline) return false;
      p.phase_ = detail::task_phase::awaited_async;
      return true;
    }

    T await_resume() const { return owner->handle_.promise().result_.take(); }

    /// The child's frame: the next link of a dump's await chain.
    const detail::task_promise_base* awaited_promise() const noexcept {
      return owner->handle_ ? &owner->handle_.promise() : nullptr;
    }
  };

  handle_type handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

}  // namespace detail

}  // namespace kyoto
