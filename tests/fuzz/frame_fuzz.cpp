// libFuzzer target for mini-redis's frame parser (samples/mini_redis/frame.cpp)
// and the command-argument reader on top of it (parse.cpp). Built and run
// by scripts/fuzz with clang-19 -fsanitize=fuzzer,address,undefined.
//
// For every input: check() must end (no hang, no stack overflow: nesting is
// limited), say incomplete, invalid or complete; when complete, parse()
// must succeed and stop exactly where check() did; a prefix of a complete
// frame must be incomplete; and reading the frame's entries as a command
// must either work or throw mini_redis::error, nothing else.
#include "error.hpp"
#include "frame.hpp"
#include "parse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void read_as_command(mini_redis::frame f) {
  try {
    mini_redis::parse p(std::move(f));
    for (int i = 0; i < 8; ++i) {
      switch (i % 3) {
        case 0:
          (void)p.next_string();
          break;
        case 1:
          (void)p.next_bytes();
          break;
        default:
          (void)p.next_int();
          break;
      }
    }
    (void)p.finish();
  } catch (const mini_redis::error&) {
    // Not an array: a protocol error, as upstream.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto buf = std::as_bytes(std::span(data, size));
  mini_redis::cursor c(buf);
  auto checked = mini_redis::frame::check(c);
  if (!checked) {
    // Invalid input has a message; incomplete input has none.
    require(checked.error().incomplete == checked.error().message.empty());
    return 0;
  }
  const std::size_t len = c.position();
  require(len > 0 && len <= size);

  // A strict prefix of a whole frame is incomplete (or invalid, when the
  // cut falls inside a number: "$1" of "$10").
  if (len > 1) {
    mini_redis::cursor prefix(buf.first(len - 1));
    auto r = mini_redis::frame::check(prefix);
    require(!r.has_value());
  }

  c.set_position(0);
  auto parsed = mini_redis::frame::parse(c);
  if (!parsed) {
    // Only text that is not UTF-8 fails parse() after check() accepted it.
    require(!parsed.error().incomplete);
    return 0;
  }
  require(c.position() == len);
  (void)parsed->to_string();
  (void)parsed->debug_string();
  read_as_command(std::move(*parsed));
  return 0;
}
