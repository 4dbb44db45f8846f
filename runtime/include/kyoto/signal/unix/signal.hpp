// kyoto::signal::unix::signal: listen for a Unix signal (tokio's
// signal::unix::signal and Signal).
//
//   auto term = kyoto::signal::unix::signal(kyoto::signal::unix::signal_kind::terminate());
//   for (;;) {
//     co_await term.recv();
//     // SIGTERM was delivered (at least once) since the last recv()
//   }
//
// How deliveries reach listeners (the handler, the dispatcher thread, what
// it means for other handlers and threads) is in docs/signal.md and at the
// top of runtime/src/signal/registry.cpp.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/signal/unix/signal_kind.hpp>
#include <kyoto/sync/notify.hpp>

#include <kyoto/signal/detail/registry.hpp>

#include <cstdint>
#include <optional>
#include <variant>

// GCC and Clang predefine `unix` as 1 outside strict ISO mode (-std=gnu++20,
// the default dialect), which would turn `kyoto::signal::unix` into
// `kyoto::signal::1`. Portable code tests `__unix__` instead.
#ifdef unix
#undef unix
#endif

namespace kyoto::signal::unix {

/// A listener for one Unix signal (tokio's Signal), made by signal().
///
/// Every listener sees every delivery of its signal that happens after it
/// was made: recv() completes once per batch of deliveries since the
/// previous recv() (deliveries that arrive before a recv() observes them
/// coalesce into one, as the kernel's own pending signals do; none is
/// lost). Listeners are independent: each has its own position, and
/// dropping one affects no other.
///
/// Move-only. Thread safety: one task uses a listener at a time; signals
/// arrive on any thread. Any runtime, and several at once, may have
/// listeners: nothing is tied to a runtime.
class signal_listener {
 public:
  /// Listens for `o`'s signal from `o`'s position (a listener is a slot
  /// pointer and a count: nothing to unregister; `o` stays usable).
  signal_listener(signal_listener&& o) noexcept : slot_(o.slot_), seen_(o.seen_) {}
  /// Listens for `o`'s signal from `o`'s position.
  signal_listener& operator=(signal_listener&& o) noexcept {
    slot_ = o.slot_;
    seen_ = o.seen_;
    return *this;
  }
  signal_listener(const signal_listener&) = delete;
  signal_listener& operator=(const signal_listener&) = delete;

  /// Waits for the next delivery (tokio's Signal::recv): completes with a
  /// value once the signal was delivered after the listener was made or
  /// after the previous recv() completed. Never gives std::nullopt (kyoto's
  /// dispatcher never stops), but keeps tokio's Option<()> shape.
  ///
  /// Resumed on the awaiting task's thread. Cancel safe: a cancelled recv()
  /// unlinks its waiter and consumes nothing; the next recv() sees the
  /// delivery. The listener must outlive the await.
  [[nodiscard]] kyoto::task<std::optional<std::monostate>> recv();

  /// Whether a delivery is waiting to be received (completes recv() at
  /// once), consuming it if so. Never waits. (tokio 1.24 has no try_recv on
  /// Signal; this is the non-suspending form of recv().)
  [[nodiscard]] bool try_recv() noexcept {
    // Acquire: pairs with the dispatcher's release increment.
    const std::uint64_t g = slot_->generation.load(std::memory_order_acquire);
    if (g == seen_) return false;
    seen_ = g;
    return true;
  }

 private:
  friend signal_listener signal(signal_kind kind);
  explicit signal_listener(kyoto::detail::signal_slot& s) noexcept
      : slot_(&s), seen_(s.generation.load(std::memory_order_acquire)) {}

  kyoto::detail::signal_slot* slot_;
  /// The slot's generation this listener has seen; recv() completes when
  /// the slot's moves past it.
  std::uint64_t seen_;
};

/// Starts listening for `kind` (tokio's signal::unix::signal): installs
/// kyoto's handler for it on first use, for the rest of the process (it
/// replaces any handler installed before; see docs/signal.md). May be
/// called from any thread, inside a runtime or not (tokio requires a
/// runtime here; kyoto's dispatcher is process-wide, so it does not).
///
/// Throws std::invalid_argument naming the signal if kyoto must never
/// handle it (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL, SIGSTOP) or if it is
/// not a signal number; std::system_error if the handler cannot be
/// installed.
[[nodiscard]] signal_listener signal(signal_kind kind);

inline signal_listener signal(signal_kind kind) {
  return signal_listener(kyoto::detail::signal_register(kind.as_raw_value()));
}

inline kyoto::task<std::optional<std::monostate>> signal_listener::recv() {
  for (;;) {
    // The notified first, then the generation: a dispatch after the load
    // moves notify's counter after this snapshot, so the await completes
    // (the argument of cancellation_token.hpp's "Waiting").
    kyoto::sync::notified n = slot_->waiters.notified();
    if (try_recv()) co_return std::optional<std::monostate>(std::in_place);
    co_await std::move(n);
  }
}

}  // namespace kyoto::signal::unix
