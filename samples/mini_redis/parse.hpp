// mini-redis's parse module (upstream src/parse.rs): reads a command's
// arguments out of an array frame, one token at a time.
#pragma once

#include "frame.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mini_redis {

/// Why a token could not be read (upstream's ParseError). Only
/// end_of_stream is handled (an optional argument that is absent); any
/// other error closes the connection.
struct parse_error {
  /// The array had no more entries.
  bool end_of_stream = false;
  /// What is wrong; empty for end_of_stream (an optional argument's
  /// absence allocates nothing), which throw_parse_error() reports as
  /// "protocol error; unexpected end of stream".
  std::string message;
};

/// A cursor over a command's array frame (upstream's Parse).
///
/// Thread safety: a plain value.
class parse {
 public:
  /// Parses `f`'s entries; throws mini_redis::error unless `f` is an array
  /// ("protocol error; expected array, got ...").
  explicit parse(frame f);

  /// The next entry as a string: a simple string, or a bulk string that is
  /// UTF-8.
  kyoto::result<std::string, parse_error> next_string();
  /// The next entry as bytes: a simple or bulk string.
  kyoto::result<kyoto::bytes, parse_error> next_bytes();
  /// The next entry as a number: an integer, or a simple or bulk string of
  /// digits (read as the `atoi` crate does).
  kyoto::result<std::uint64_t, parse_error> next_int();
  /// Succeeds if there is no entry left.
  kyoto::result<void, parse_error> finish();

 private:
  std::vector<frame> parts_;
  std::size_t next_ = 0;
};

/// Throws mini_redis::error with the error's message (upstream's `?` on a
/// ParseError).
[[noreturn]] void throw_parse_error(const parse_error& e);

/// The value, or throws as throw_parse_error (upstream's `parse.next_*()?`).
template <class T>
T value_or_throw(kyoto::result<T, parse_error> r) {
  if (!r) throw_parse_error(r.error());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

}  // namespace mini_redis
