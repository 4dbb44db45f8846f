// kyoto::io::sink: a writer that discards everything (tokio's io::sink).
#pragma once

#include <kyoto/io/detail/ready_op.hpp>

#include <cstddef>
#include <span>

namespace kyoto::io {

/// A writer that takes and discards everything (tokio's io::Sink).
///
/// Each operation completes at once but spends one unit of the task's
/// cooperative budget. Cancel safe. Stateless; any number of tasks may use
/// one.
class sink_writer {
 public:
  /// Takes all of `buf`: gives `buf.size()`.
  detail::ready_awaiter<std::size_t> write(std::span<const std::byte> buf) const noexcept {
    return detail::ready_awaiter<std::size_t>(buf.size());
  }
  /// Does nothing.
  detail::ready_void_awaiter flush() const noexcept { return {}; }
  /// Does nothing: a sink never ends.
  detail::ready_void_awaiter shutdown() const noexcept { return {}; }
};

/// A writer that discards everything (tokio's io::sink()).
inline sink_writer sink() noexcept {
  return {};
}

}  // namespace kyoto::io
