// kyoto::io::write_all: writing helpers for any async_write (tokio's
// AsyncWriteExt).
//
// Each is a kyoto::task that takes the writer by reference and the bytes
// as a span: the writer and the bytes must outlive the awaited task
// (awaiting it in the same full-expression always does).
#pragma once

#include <kyoto/io/concepts.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/runtime/task.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>

namespace kyoto::detail {

/// write_all's loop, naming `operation` in its errors.
template <class W>
task<void> write_all_named(W& w, std::span<const std::byte> buf, const char* operation) {
  while (!buf.empty()) {
    const std::size_t n = co_await w.write(buf);
    if (n == 0) throw_io_error(io::errc::write_zero, operation);
    buf = buf.subspan(std::min(n, buf.size()));
  }
}

}  // namespace kyoto::detail

namespace kyoto::io {

/// Writes all of `buf` to `w`, continuing short writes (tokio's
/// write_all). Does not flush.
///
/// Errors: std::system_error with io::errc::write_zero ("kyoto::io::
/// write_all") if a write takes no bytes; whatever `w.write` throws.
/// Cancel safety: not cancel safe: a cancelled call may have written part
/// of `buf`, and how much is not reported.
/// Thread safety: one task writes `w` at a time; `w` and `buf` must outlive
/// the awaited task. Resumes wherever `w`'s writes resume.
template <async_write W>
task<void> write_all(W& w, std::span<const std::byte> buf) {
  return detail::write_all_named(w, buf, "kyoto::io::write_all");
}

/// write_all() of a string's bytes (the characters must outlive the
/// awaited task; a string literal always does).
template <async_write W>
task<void> write_all(W& w, std::string_view s) {
  return detail::write_all_named(w, std::as_bytes(std::span(s)), "kyoto::io::write_all");
}

}  // namespace kyoto::io
