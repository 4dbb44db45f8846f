// kyoto::handle: a cheap, copyable reference to a runtime.
#pragma once

#include <kyoto/runtime/dump.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>

#include <memory>
#include <utility>

namespace kyoto {

class runtime;

namespace detail {

/// Runs `a` as the root task on `s` and blocks the calling thread until it
/// finishes; see runtime::block_on.
template <class A>
await_result_t<A> block_on(scheduler& s, A&& a) {
  s.begin_block_on();  // throws before anything is spawned
  struct claim {
    scheduler& s;
    ~claim() { s.end_block_on(); }
  } held{s};
  auto h = spawn_on(s, as_task_for_block_on(static_cast<A&&>(a)));
  s.block_on(join_handle_access::cell(h));
  return join_handle_access::take(h);
}

}  // namespace detail

/// A reference to a runtime that can spawn onto it from any thread
/// (tokio::runtime::Handle). Copyable; keeps the runtime's scheduler
/// object alive, but not the runtime: spawning after the runtime was
/// destroyed gives a task that is cancelled at once.
///
/// Thread safety: all members may be called from any thread.
class KYOTO_EXPORT handle {
 public:
  /// The runtime running the calling thread. Throws std::logic_error when
  /// called from a thread that is not running a kyoto runtime.
  static handle current();

  /// Spawns a task onto this runtime; see kyoto::spawn. From any thread.
  template <class T>
  join_handle<T> spawn(task<T> t) const {
    return detail::spawn_on(*sched_, std::move(t));
  }

  /// Spawns `f(args...)` onto this runtime; see kyoto::spawn. From any
  /// thread.
  template <class F, class... Args>
    requires detail::task_factory<F, Args...>
  auto spawn(F&& f, Args&&... args) const {
    return detail::spawn_on(*sched_, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Runs `f(args...)` on this runtime's blocking pool; see
  /// kyoto::spawn_blocking. From any thread.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
  auto spawn_blocking(F&& f, Args&&... args) const {
    return detail::spawn_blocking_on(*sched_, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Runs `a` to completion on this runtime, blocking the calling thread;
  /// see runtime::block_on.
  template <class A>
    requires detail::awaitable<A>
  detail::await_result_t<A> block_on(A&& a) const {
    return detail::block_on(*sched_, static_cast<A&&>(a));
  }

  /// Every live task of the runtime; see runtime::dump(). From any thread.
  runtime_dump dump() const { return detail::dump_scheduler(*sched_); }

  friend bool operator==(const handle&, const handle&) = default;

 private:
  friend class runtime;
  explicit handle(std::shared_ptr<detail::scheduler> s) noexcept : sched_(std::move(s)) {}

  std::shared_ptr<detail::scheduler> sched_;
};

}  // namespace kyoto
