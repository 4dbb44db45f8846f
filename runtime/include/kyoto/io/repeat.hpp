// kyoto::io::repeat: a reader giving one byte forever (tokio's io::repeat).
#pragma once

#include <kyoto/io/detail/ready_op.hpp>

#include <algorithm>
#include <cstddef>
#include <span>

namespace kyoto::io {

/// A reader that never ends, each read filling the whole buffer with one
/// byte (tokio's io::Repeat).
///
/// Each read completes at once but spends one unit of the task's
/// cooperative budget. Cancel safe. Stateless after construction; any
/// number of tasks may use one.
class repeat_reader {
 public:
  /// A reader of `byte`, forever.
  explicit repeat_reader(std::byte byte) noexcept : byte_(byte) {}
  /// Fills `buf` with the byte; gives `buf.size()`.
  detail::ready_awaiter<std::size_t> read(std::span<std::byte> buf) const noexcept {
    std::fill(buf.begin(), buf.end(), byte_);
    return detail::ready_awaiter<std::size_t>(buf.size());
  }

 private:
  std::byte byte_;
};

/// A reader giving `byte` forever (tokio's io::repeat(byte)).
inline repeat_reader repeat(std::byte byte) noexcept {
  return repeat_reader(byte);
}

/// A reader giving `byte` forever; `byte` as a character or small integer.
inline repeat_reader repeat(unsigned char byte) noexcept {
  return repeat_reader(std::byte{byte});
}

}  // namespace kyoto::io
