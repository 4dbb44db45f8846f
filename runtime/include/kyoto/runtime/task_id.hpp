// kyoto::task_id: the identity of a spawned task (tokio::task::Id), and
// kyoto::task_meta: what a task's hooks and dumps know about it.
#pragma once

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>

namespace kyoto {

namespace detail {
[[noreturn]] KYOTO_EXPORT void throw_no_current_task_id();
}  // namespace detail

/// The identity of a spawned task (tokio::task::Id): a 64-bit number that
/// no other task of the process ever gets, even after this one finished.
/// Comparable, hashable (std::hash), printable (operator<<, to_string).
/// Ids are handed out in blocks per spawning thread, so they grow with
/// spawn order on one thread but not across threads; only equality means
/// anything.
///
/// Thread safety: a value; any thread.
class task_id {
 public:
  /// The id of the task the calling code runs in (tokio's task::id()).
  /// Inside a nested run (a task_local scope, a stream's producer) it is
  /// the id of the spawned task running it. Throws std::logic_error
  /// outside a runtime task.
  static task_id current() {
    std::optional<task_id> id = try_current();
    if (!id) detail::throw_no_current_task_id();
    return *id;
  }

  /// As current(), but nullopt outside a runtime task (tokio's try_id()).
  static std::optional<task_id> try_current() noexcept {
    const detail::task_header* t = detail::current_task();
    if (t == nullptr || t->id() == 0) return std::nullopt;
    return task_id(t->id());
  }

  /// The id as a number (never 0).
  constexpr std::uint64_t value() const noexcept { return value_; }

  friend constexpr bool operator==(task_id, task_id) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(task_id, task_id) noexcept = default;

  /// Prints the number.
  friend std::ostream& operator<<(std::ostream& os, task_id id) { return os << id.value_; }

  /// Builds the id of a task from its number; for the runtime (and for
  /// tests comparing against a recorded number).
  constexpr explicit task_id(std::uint64_t value) noexcept : value_(value) {}

 private:
  std::uint64_t value_;
};

/// The number as decimal text.
inline std::string to_string(task_id id) {
  return std::to_string(id.value());
}

/// What the runtime knows about a task: its id, its optional name
/// (task_builder::name) and where it was spawned. Given to the runtime's
/// task hooks (runtime::builder::on_task_spawn...) and listed in dumps.
///
/// Thread safety: a view valid only during the call that received it (a
/// hook) — copy the fields to keep them.
class task_meta {
 public:
  /// The task's id.
  task_id id() const noexcept { return task_id(task_->id()); }
  /// The name given with task_builder::name(), or empty.
  std::string_view name() const noexcept { return task_->name(); }
  /// The spawn call that made the task (line 0 when unknown: the task was
  /// spawned through an overload that cannot capture it, see spawn.hpp).
  std::source_location spawned_at() const noexcept { return task_->spawn_location(); }

  /// For the runtime: a view of `task`.
  explicit task_meta(const detail::task_header& task) noexcept : task_(&task) {}

 private:
  const detail::task_header* task_;
};

}  // namespace kyoto

/// Hashes the id's number.
template <>
struct std::hash<kyoto::task_id> {
  /// The hash of `id.value()`.
  std::size_t operator()(kyoto::task_id id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
