// Where a suspended task coroutine waits: the await points that task dumps
// read (<kyoto/runtime/dump.hpp>).
//
// # What a suspension records
//
// Every `co_await` in a kyoto::task goes through the promise's
// await_transform (task.hpp), which wraps the awaiter in a
// `traced_awaiter`: the awaiter itself (held by value when `operator
// co_await` made it, by reference when the operand already was one), the
// `std::source_location` of the co_await (a default argument, so taken at
// the caller's line: one pointer in libstdc++ and libc++), and a pointer to
// a static table for the awaiter's type. Only when the awaiter suspends
// does its await_suspend store the wrapper's address in the promise: in the
// storage of its result slot, empty until the body returns
// (result_storage::park, read back by task_promise_base::parked_point()),
// so that the promise is no bigger than before task dumps. One pointer
// store per suspension; an await that completes at once stores nothing.
//
// Hence a suspended frame's parked_point() always names the co_await it is
// suspended at (every suspension of a task coroutine goes through a
// wrapper), and the chain root -> innermost awaiter is followed by asking
// each awaiter for the frame it waits on (a child task's promise).
//
// # Who reads it
//
// Only a thread that owns the task's frames: its runner, or a dump that
// claimed the idle task (task_header::claim_for_dump), so the fields need
// no atomics: the claim's acquire pairs with the release that ended the
// task's last run.
//
// # What it waits on
//
// An awaiter may describe its wait with a member
//
//   void describe(kyoto::detail::wait_description& d) const noexcept;
//
// (detected by the `describes_wait` concept): the operation's name, the
// primitive's address and one number (a file descriptor, a deadline, a task
// id). Without it the dump shows the awaiter's type.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <concepts>
#include <coroutine>
#include <cstdint>
#include <source_location>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace kyoto::detail {

class task_promise_base;

/// What the number in a wait_description means.
enum class wait_detail : unsigned char {
  none,      ///< no number
  fd,        ///< a file descriptor
  deadline,  ///< ns from the describe() call to a deadline (negative: past)
  task,      ///< a task id (a join)
  count,     ///< a count (permits, bytes)
};

/// What an awaiter waits on; filled by its describe() member. Plain data,
/// so describing costs no allocation (dumps run with a lock held).
struct wait_description {
  const char* what = nullptr;              ///< static text: the operation, e.g. "mpsc recv"
  const void* object = nullptr;            ///< the primitive waited on, or null
  wait_detail detail = wait_detail::none;  ///< what `value` means
  std::int64_t value = 0;                  ///< the fd, deadline, task id or count
};

/// An awaiter that can say what it waits on (see the file comment).
template <class A>
concept describes_wait = requires(const A& a, wait_description& d) {
  { a.describe(d) } noexcept;
};

/// An awaiter of a kyoto::task<T>: the child frame it runs (the next link
/// of the await chain).
template <class A>
concept awaits_task = requires(const A& a) {
  { a.awaited_promise() } noexcept -> std::same_as<const task_promise_base*>;
};

struct await_point;

/// What a dump learns from one await point.
struct await_info {
  wait_description wait;                     ///< empty if the awaiter cannot describe it
  const task_promise_base* child = nullptr;  ///< the awaited task's promise, if any
  const std::type_info* type = nullptr;      ///< the awaiter's type
};

/// The part of a traced_awaiter a suspended promise points to.
struct await_point {
  /// Fills `info` for the wrapper `self` (static per awaiter type).
  void (*inspect)(const await_point& self, await_info& info) noexcept = nullptr;
  std::source_location where;  ///< the co_await
};

/// An awaiter whose suspension never leaves its task idle (yield_now: the
/// task is queued again at once) says `static constexpr bool
/// kyoto_untraced = true;` and is awaited without a traced_awaiter. A
/// dump reads the chains of idle tasks only, so nothing is lost, and the
/// wrapper would grow the frame of every yielding loop (a frame that no
/// longer fits a size class of the frame pool, a loop that no longer fits
/// the cache: yield_many's cost, docs/observability.md).
template <class A>
concept untraced_await = std::remove_cvref_t<A>::kyoto_untraced;

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };

template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

/// The awaiter `co_await a` would use: a prvalue made by operator
/// co_await, or `a` itself (a reference).
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

/// Forces a wrapper member into the coroutine's body (see traced_awaiter).
#if defined(__GNUC__) || defined(__clang__)
#define KYOTO_AWAIT_INLINE [[gnu::always_inline]] inline
#else
#define KYOTO_AWAIT_INLINE inline
#endif

/// The awaiter of one co_await in a task coroutine, with its await point
/// (see the file comment). `Awaiter` is a value type or a reference.
///
/// Each member forwards to the awaiter's with the same noexcept, so that
/// wrapping never turns a nothrow await into a potentially-throwing one
/// (for which the compilers keep exception paths in the coroutine), and is
/// always inlined, so that the forwarding is not left out of line in the
/// coroutine's body. Neither changed the measured cost, which is the
/// frame's size (docs/observability.md, "What it costs").
template <class Awaiter>
class traced_awaiter : private await_point {
  using inner_type = std::remove_reference_t<Awaiter>;

 public:
  template <class A>
  KYOTO_AWAIT_INLINE traced_awaiter(A&& a, std::source_location at) noexcept(
      noexcept(Awaiter(get_awaiter(static_cast<A&&>(a)))))
      : await_point{&inspect_this, at}, inner_(get_awaiter(static_cast<A&&>(a))) {}
  traced_awaiter(const traced_awaiter&) = delete;
  traced_awaiter& operator=(const traced_awaiter&) = delete;
  ~traced_awaiter() = default;

  KYOTO_AWAIT_INLINE decltype(auto) await_ready() noexcept(
      noexcept(std::declval<inner_type&>().await_ready())) {
    return inner().await_ready();
  }

  template <class Promise>
  KYOTO_AWAIT_INLINE decltype(auto) await_suspend(std::coroutine_handle<Promise> h) noexcept(
      noexcept(std::declval<inner_type&>().await_suspend(h))) {
    // The one store per suspension; before the inner await_suspend, which
    // may run a child task inline whose dump reads the chain through here.
    h.promise().result_.park(static_cast<const await_point*>(this));
    return inner().await_suspend(h);
  }

  KYOTO_AWAIT_INLINE decltype(auto) await_resume() noexcept(
      noexcept(std::declval<inner_type&>().await_resume())) {
    return inner().await_resume();
  }

 private:
  inner_type& inner() noexcept { return inner_; }

  static void inspect_this(const await_point& self, await_info& info) noexcept {
    const inner_type& a = static_cast<const traced_awaiter&>(self).inner_;
    info.type = &typeid(inner_type);
    if constexpr (describes_wait<inner_type>) a.describe(info.wait);
    if constexpr (awaits_task<inner_type>) info.child = a.awaited_promise();
  }

  Awaiter inner_;
};

#undef KYOTO_AWAIT_INLINE

}  // namespace kyoto::detail
