// The misuse errors shared by kyoto::sync's primitives (defined in
// sync/src/errors.cpp, out of line to keep the hot paths small). Each
// throws std::logic_error whose message starts with `operation`.
#pragma once

#include <kyoto/runtime/detail/export.hpp>

namespace kyoto::detail {

/// `operation` on a moved-from handle (sender, receiver, ...).
[[noreturn]] KYOTO_EXPORT void throw_empty_handle(const char* operation);

/// An awaiter awaited a second time, or after it was moved from.
[[noreturn]] KYOTO_EXPORT void throw_awaited_twice(const char* operation);

}  // namespace kyoto::detail
