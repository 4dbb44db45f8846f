// A notified's entry in a kyoto::sync::notify's wait list (the protocol is
// in <kyoto/sync/notify.hpp>'s file comment; the code in sync/src/notify.cpp).
#pragma once

#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

namespace kyoto::detail {

/// What took a notified's entry off the wait list (see notify.hpp's file
/// comment).
enum class notify_mark : unsigned char {
  none,  ///< not marked: in the list, or never registered
  one,   ///< popped by notify_one(): the permit, handed to this waiter
  all,   ///< popped by notify_waiters()
};

/// A notified's entry in its notify's wait list. Every field is guarded by
/// the notify's lock.
struct notify_waiter {
  notify_waiter* prev = nullptr;  ///< list link; meaningful while unmarked and listed
  notify_waiter* next = nullptr;  ///< list link
  /// The node of the await suspended on this entry, or null. The notifier
  /// that marks the entry takes it (sets null) and wakes it.
  wake_node* waker = nullptr;
  /// Set by the notifier that pops the entry (none while it is listed);
  /// read by the owner.
  notify_mark mark = notify_mark::none;
};

/// Throws std::logic_error with `what` (misuse of a notify or a notified).
[[noreturn]] KYOTO_EXPORT void throw_notify_misuse(const char* what);

}  // namespace kyoto::detail
