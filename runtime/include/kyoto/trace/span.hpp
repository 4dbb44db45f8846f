// kyoto::trace::span: a named context with key/value fields that follows a
// task across co_await (tokio's tracing::Span with Instrument).
//
// A span is entered for an awaitable — `co_await span.in_scope(op)` or
// `kyoto::trace::instrument(op, span)` — and is then the *current span*
// wherever op's coroutines run: after every suspension, on whichever
// worker resumes them. The current span is a task-local (it is carried by
// a kyoto::task_local scope, detail/nested_run.hpp), so other tasks on the
// same thread, another branch of an enclosing join and tasks spawned from
// inside do not see it (as in tracing, a spawned task runs in a span only
// if it is instrumented with one). Every event (kyoto::trace::info() and
// the others, <kyoto/trace/event.hpp>) and every message of kyoto's own
// logger emitted inside prints the current span's context: the names and
// fields of it and its ancestors, `outer{a=1}:inner{b=2}: message`.
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/task_local.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/join_branch.hpp>

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto::trace {

/// One key/value field of a span or an event (tracing's `key = value`).
/// The value is kept as text: strings as they are, numbers in decimal,
/// bools as true/false.
///
/// Thread safety: a plain value.
struct field {
  /// A text value.
  field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  /// A text value, copied.
  field(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  /// A text value, copied (a null-terminated string).
  field(std::string k, const char* v) : key(std::move(k)), value(v) {}
  /// A bool: true or false.
  template <class B>
    requires std::same_as<B, bool>
  field(std::string k, B v) : key(std::move(k)), value(v ? "true" : "false") {}
  /// A number, in decimal.
  template <class N>
    requires(std::is_arithmetic_v<N> && !std::same_as<N, bool> && !std::same_as<N, char>)
  field(std::string k, N v) : key(std::move(k)), value(std::to_string(v)) {}

  std::string key;    ///< the field's name
  std::string value;  ///< its value, as text
};

class span;

}  // namespace kyoto::trace

namespace kyoto::detail {

/// What a span shares between its copies: immutable once made.
struct span_data {
  std::string name;
  std::vector<trace::field> fields;
  std::shared_ptr<const span_data> parent;  ///< the span current at creation
};

/// The task-local that holds the current span (defined in the library, so
/// there is one key in the process).
KYOTO_EXPORT const task_local<trace::span>& current_span_key() noexcept;

}  // namespace kyoto::detail

namespace kyoto::trace {

/// A named context with fields (tokio's tracing::Span). Made with a name
/// and fields, its parent is the span current where it is made (tracing's
/// contextual parent). A default-constructed span is *none* (tracing's
/// Span::none()): entering it means "no span".
///
/// Copies share the same immutable data; a span is cheap to copy (one
/// reference count).
///
/// Thread safety: a span is immutable; copies may be used from any thread
/// at once. current() reads the calling task's own context.
class KYOTO_EXPORT span {
 public:
  /// The none span.
  span() noexcept = default;
  /// A span named `name` with `fields`, child of the current span (if
  /// any). Throws std::invalid_argument (naming kyoto::trace::span) if the
  /// name is empty.
  explicit span(std::string name, std::initializer_list<field> fields = {});

  /// Whether this is the none span.
  bool is_none() const noexcept { return data_ == nullptr; }
  /// Its name (empty for none).
  std::string_view name() const noexcept;
  /// Its own fields, in the order given (empty for none).
  const std::vector<field>& fields() const noexcept;
  /// The span it was made in (none if it was made outside any span).
  span parent() const noexcept { return span(data_ != nullptr ? data_->parent : nullptr); }
  /// Its context as events print it: its ancestors' and its own name and
  /// fields from the root down, `outer{a=1 b=x}:inner{c=2}` (a span
  /// without fields prints as its name); empty for none.
  std::string context() const;

  /// The current span of the calling code: the innermost span whose
  /// in_scope() (or instrument()) it runs in; none outside any (tracing's
  /// Span::current()). Any thread.
  static span current() noexcept {
    const span* s = detail::current_span_key().try_get();
    return s != nullptr ? *s : span();
  }

  /// Awaits `a` with this span current (tracing's Instrument::instrument /
  /// Span::in_scope for futures) and gives its result or rethrows its
  /// exception. A lazy task: nothing runs until it is awaited or spawned,
  /// so `kyoto::spawn(s.in_scope(work()))` runs a whole task in the span.
  /// Inside, spans made become its children; entering another span (or
  /// none) inside replaces it until that scope ends.
  ///
  /// `a` is any awaitable (as for task_local::scope): an rvalue is moved
  /// into the scope, an lvalue is awaited in place. Must be awaited inside
  /// a runtime task (throws std::logic_error naming
  /// kyoto::task_local::scope otherwise).
  ///
  /// Cancel safety: cancelling the scope cancels `a` (its destructors still
  /// see the span); whether that loses anything is `a`'s own cancel
  /// safety. Costs what a task_local scope costs: one extra resumption per
  /// resumption of `a`'s coroutines.
  template <class A>
    requires detail::awaitable<A> && detail::join_operand<A>
  [[nodiscard]] task<detail::await_result_t<A>> in_scope(A&& a) const {
    return detail::current_span_key().scope(*this, static_cast<A&&>(a));
  }

  /// Calls `f(args...)` synchronously with this span current (tracing's
  /// Span::in_scope for a closure; Span::enter's guard). Any thread.
  template <class F, class... Args>
    requires std::invocable<F&&, Args&&...>
  decltype(auto) enter(F&& f, Args&&... args) const {
    return detail::current_span_key().sync_scope(*this, std::forward<F>(f),
                                                 std::forward<Args>(args)...);
  }

 private:
  explicit span(std::shared_ptr<const detail::span_data> d) noexcept : data_(std::move(d)) {}

  std::shared_ptr<const detail::span_data> data_;
};

/// `a` run with `s` current: the same as `s.in_scope(a)` (tracing's
/// `future.instrument(span)`), for spawning an instrumented task:
///
///     kyoto::spawn(kyoto::trace::instrument(handle(conn), kyoto::trace::span("conn", {{"id",
///     7}})));
///
/// Thread safety, cancel safety and cost: those of span::in_scope().
template <class A>
  requires detail::awaitable<A> && detail::join_operand<A>
[[nodiscard]] task<detail::await_result_t<A>> instrument(A&& a, const span& s) {
  return s.in_scope(static_cast<A&&>(a));
}

}  // namespace kyoto::trace
