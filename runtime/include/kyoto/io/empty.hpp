// kyoto::io::empty: a reader at end of stream (tokio's io::empty).
#pragma once

#include <kyoto/io/detail/ready_op.hpp>

#include <cstddef>
#include <span>

namespace kyoto::io {

/// A reader at end of stream (tokio's io::Empty): every read gives 0.
///
/// Each read completes at once but spends one unit of the task's
/// cooperative budget (it yields when the budget is spent), so a loop over
/// it does not starve the thread. Cancel safe. Thread safety: stateless;
/// any number of tasks may use one.
class empty_reader {
 public:
  /// Gives 0 (end of stream).
  detail::ready_awaiter<std::size_t> read(std::span<std::byte>) const noexcept {
    return detail::ready_awaiter<std::size_t>(0);
  }
};

/// A reader at end of stream (tokio's io::empty()).
inline empty_reader empty() noexcept {
  return {};
}

}  // namespace kyoto::io
