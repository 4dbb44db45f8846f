// Where a suspended task coroutine waits: the await points that task dumps
// read (<kyoto/runtime/dump.hpp>).
//
// # What a suspension records
//
// Every `co_await` in a kyoto::task goes through the promise's
// await_transform (task.hpp). Each call site has one static `await_site`:
// the co_await's `std::source_location` (a default argument, so taken at
// the caller's line) and a reader for the awaiter's type. await_transform
// stores the site's address in the promise, in the storage of its result
// slot (empty until the body returns: result_storage::park), and wraps the
// awaiter in a `traced_awaiter` holding the awaiter alone (by value when
// `operator co_await` made it, by reference when the operand already was
// one). Only when the awaiter suspends does the wrapper's await_suspend
// add, in the same word, the awaiter's distance from the promise
// (`await_word`). So the frame grows by nothing: the promise is 24 bytes
// and the wrapper the awaiter's size. docs/observability.md ("What it
// costs") says why the site is found per call site this way.
//
// Hence a suspended frame's parked_word() always names the co_await it is
// suspended at (every suspension of a task coroutine goes through a
// wrapper), and the chain root -> innermost awaiter is followed by asking
// each awaiter for the frame it waits on (a child task's promise).
//
// # Since when
//
// The same await_suspend stores the thread's `state_tick` (a millisecond
// count each driver turn refreshes: driver::fire_timers) in the promise's
// `state_tick_`, 4 bytes of padding after its phase, and says in the
// word's low 3 bits (zero in a site's address) where that field is: the
// offset depends on T, which the dump does not know. The innermost frame
// of an idle task is the one that suspended last, so its tick is when the
// task went idle (docs/observability.md, "Time in state").
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

#include <chrono>
#include <climits>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
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

/// The calling thread's coarse clock for "time in state": milliseconds of
/// its runtime's clock (paused time included), modulo 2^32. Its driver
/// refreshes it at every turn (driver::fire_timers), so it is at most a
/// driver turn stale; a suspension stores it in its frame with a plain
/// store (traced_awaiter::await_suspend). 0 on a thread that never drove.
KYOTO_EXPORT inline thread_local constinit std::uint32_t state_tick = 0;

/// The state_tick of time point `t`.
inline std::uint32_t state_tick_at(std::chrono::steady_clock::time_point t) noexcept {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

/// The state tick of now (kyoto::time::clock::now(): the steady clock, or
/// on a thread driving a paused runtime its virtual clock), for a thread
/// whose state_tick is not kept (task_header.hpp, current_state_tick()).
/// Out of line: a clock read. Any thread.
KYOTO_EXPORT std::uint32_t state_tick_from_clock() noexcept;

/// What a dump learns from one await point.
struct await_info {
  wait_description wait;                     ///< empty if the awaiter cannot describe it
  const task_promise_base* child = nullptr;  ///< the awaited task's promise, if any
  const std::type_info* type = nullptr;      ///< the awaiter's type
};

/// One co_await of a task coroutine: a static record per call site (see the
/// file comment).
struct alignas(8) await_site {
  /// Fills `info` from the awaiter `at` units (traced_awaiter::unit) away
  /// from the promise `frame` (static per awaiter type).
  void (*inspect)(const task_promise_base& frame, std::int16_t at,
                  await_info& info) noexcept = nullptr;
  std::source_location where;  ///< the co_await
};

/// A suspended frame's await point, one word in its result slot: the
/// await_site's address in the low 48 bits (user-space addresses of x86-64
/// and AArch64 fit; its low 3 bits, zero in the 8-aligned address, say
/// where the frame's state tick is: tick_slot()), the awaiter's distance
/// from the promise in the high 16 (a signed count of the awaiter's
/// alignment, at most 8 bytes: 256 KiB either way for most awaiters). An
/// awaiter farther away (a huge local array between them) is recorded as
/// `far_awaiter`: the dump shows the co_await's line but not what it waits
/// on, and the chain ends there. A site that does not fit 48 bits is
/// recorded as no point (the dump shows the task without its chain).
namespace await_word {
inline constexpr unsigned site_bits = 48;
/// The low bits: the frame's state tick is at byte 8 * slot + 4 of the
/// promise (slot 1..7), or not kept (0: a result of more than 56 bytes).
inline constexpr std::uintptr_t tick_mask = 7;
inline constexpr std::uintptr_t site_mask = ((std::uintptr_t{1} << site_bits) - 1) & ~tick_mask;
inline constexpr std::int16_t far_awaiter = INT16_MIN;

/// The word for `site` alone (before the suspension knows the awaiter).
inline std::uintptr_t of(const await_site* site) noexcept {
  return reinterpret_cast<std::uintptr_t>(site);
}
/// The tick_mask bits for a state tick at `tick` in the promise at
/// `promise` (a constant once inlined: both are the same frame's).
inline std::uintptr_t tick_slot(const void* promise, const std::uint32_t* tick) noexcept {
  const std::uintptr_t at =
      reinterpret_cast<std::uintptr_t>(tick) - reinterpret_cast<std::uintptr_t>(promise);
  return at % 8 == 4 && at / 8 >= 1 && at / 8 <= tick_mask ? at / 8 : 0;
}
/// `word` (of()) with the awaiter `units` away and the tick's `slot`
/// (tick_slot()); 0 if the site does not fit.
inline std::uintptr_t with_awaiter(std::uintptr_t word, std::int16_t units,
                                   std::uintptr_t slot) noexcept {
  if ((word & ~site_mask) != 0) [[unlikely]]
    return 0;
  return word | (static_cast<std::uintptr_t>(static_cast<std::uint16_t>(units)) << site_bits) |
         slot;
}
/// The state tick of the frame at `promise` whose word is `word`, or
/// false if it keeps none.
inline bool tick(const void* promise, std::uintptr_t word, std::uint32_t& out) noexcept {
  const std::uintptr_t slot = word & tick_mask;
  if (slot == 0) return false;
  out = *std::launder(reinterpret_cast<const std::uint32_t*>(
      static_cast<const unsigned char*>(promise) + 8 * slot + 4));
  return true;
}
/// The site of a word, or null.
inline const await_site* site(std::uintptr_t word) noexcept {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): a tagged pointer
  return reinterpret_cast<const await_site*>(word & site_mask);
}
/// The awaiter's distance of a word.
inline std::int16_t awaiter(std::uintptr_t word) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(word >> site_bits));
}
/// `awaiter`'s distance from `promise` in units of `Unit` bytes.
template <std::size_t Unit>
std::int16_t distance(const void* promise, const void* awaiter) noexcept {
  const std::intptr_t d =
      reinterpret_cast<std::intptr_t>(awaiter) - reinterpret_cast<std::intptr_t>(promise);
  const std::intptr_t units = d / static_cast<std::intptr_t>(Unit);
  return units > INT16_MIN && units <= INT16_MAX ? static_cast<std::int16_t>(units) : far_awaiter;
}
}  // namespace await_word

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

/// The awaiter of one co_await in a task coroutine (see the file comment).
/// `Awaiter` is a value type or a reference. The wrapper holds the awaiter
/// alone: it adds no byte to the frame.
///
/// Each member forwards to the awaiter's with the same noexcept, so that
/// wrapping never turns a nothrow await into a potentially-throwing one
/// (for which the compilers keep exception paths in the coroutine), and is
/// always inlined, so that the forwarding is not left out of line in the
/// coroutine's body.
template <class Awaiter>
class traced_awaiter {
  using inner_type = std::remove_reference_t<Awaiter>;

 public:
  template <class A>
    requires(!std::is_same_v<std::remove_cvref_t<A>, traced_awaiter>)
  KYOTO_AWAIT_INLINE explicit traced_awaiter(A&& a) noexcept(
      noexcept(Awaiter(get_awaiter(static_cast<A&&>(a)))))
      : inner_(get_awaiter(static_cast<A&&>(a))) {}
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
    // await_transform parked the site; add where the awaiter is. Before the
    // inner await_suspend, which may run a child task inline whose dump
    // reads the chain through here.
    // The state tick too: a plain store (see the file comment).
    Promise& p = h.promise();
    p.result_.park(await_word::with_awaiter(
        p.result_.parked(), await_word::distance<unit()>(static_cast<const void*>(&p), this),
        await_word::tick_slot(static_cast<const void*>(&p), &p.state_tick_)));
    p.state_tick_ = state_tick;
    return inner().await_suspend(h);
  }

  KYOTO_AWAIT_INLINE decltype(auto) await_resume() noexcept(
      noexcept(std::declval<inner_type&>().await_resume())) {
    return inner().await_resume();
  }

  /// The site record's reader for this awaiter type.
  static void inspect(const task_promise_base& frame, std::int16_t at, await_info& info) noexcept {
    info.type = &typeid(inner_type);
    if (at == await_word::far_awaiter) return;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the frame's own awaiter
    const auto* self = reinterpret_cast<const traced_awaiter*>(
        reinterpret_cast<std::intptr_t>(&frame) +
        static_cast<std::intptr_t>(at) * static_cast<std::intptr_t>(unit()));
    const inner_type& a = self->inner_;
    if constexpr (describes_wait<inner_type>) a.describe(info.wait);
    if constexpr (awaits_task<inner_type>) info.child = a.awaited_promise();
  }

 private:
  inner_type& inner() noexcept { return inner_; }

  /// The unit of the wrapper's recorded distance from the promise (which
  /// is aligned to at least 8).
  static constexpr std::size_t unit() noexcept {
    return alignof(traced_awaiter) < 8 ? alignof(traced_awaiter) : 8;
  }

  Awaiter inner_;
};

#undef KYOTO_AWAIT_INLINE

}  // namespace kyoto::detail
