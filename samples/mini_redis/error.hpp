// mini-redis's error type (upstream's `crate::Error`, a boxed error): what
// ends a connection, or what a client call fails with.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mini_redis {

/// The port's `crate::Error`: a message. A server handler that throws it
/// (or any exception) closes that connection; a client call throws it for a
/// protocol error or an error reply (whose text is the message).
///
/// Thread safety: an ordinary exception value.
class error : public std::runtime_error {
 public:
  /// An error saying `message`.
  explicit error(const std::string& message) : std::runtime_error(message) {}
};

/// The port an unconfigured server listens on and a client connects to
/// (upstream's DEFAULT_PORT).
inline constexpr std::uint16_t default_port = 6379;

}  // namespace mini_redis
