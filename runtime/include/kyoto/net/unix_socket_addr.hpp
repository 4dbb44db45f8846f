// kyoto::net::unix_socket_addr: the address of a Unix-domain socket
// (std::os::unix::net::SocketAddr), and unix_peer_cred, the credentials of
// the process at its other end (tokio's UCred).
#pragma once

#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace kyoto::net {

/// The address of a Unix-domain socket: a filesystem path, a name in
/// Linux's abstract namespace (no file; written "@name"), or unnamed (a
/// socket that was never bound: a connecting client, either end of
/// unix_stream::pair()).
///
/// A value type: copy it freely. Thread safety: as an int.
class KYOTO_EXPORT unix_socket_addr {
 public:
  /// An unnamed address.
  unix_socket_addr() noexcept;
  /// From a sockaddr the kernel filled (accept, getsockname). Throws
  /// std::invalid_argument if it is not AF_UNIX.
  unix_socket_addr(const sockaddr* sa, socklen_t len);

  /// The address of the socket file at `path`. Throws std::invalid_argument
  /// naming the path if it is empty, holds a NUL byte or is longer than a
  /// sockaddr_un holds (107 bytes).
  static unix_socket_addr from_pathname(const std::filesystem::path& path);
  /// The address `name` in the abstract namespace (any bytes, NULs
  /// included). Throws std::invalid_argument if it is longer than 107
  /// bytes.
  static unix_socket_addr from_abstract_name(std::string_view name);

  /// Whether the socket has no name.
  bool is_unnamed() const noexcept;
  /// Whether the name is in the abstract namespace.
  bool is_abstract() const noexcept;
  /// The socket file's path, if the address is one.
  std::optional<std::filesystem::path> as_pathname() const;
  /// The abstract name (without the leading NUL), if the address is one.
  std::optional<std::string> as_abstract_name() const;

  /// The path, "@name" for an abstract name, "(unnamed)" for none.
  std::string to_string() const;

  /// For system calls.
  const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&addr_); }
  /// The length of native()'s address, as the system call gave or takes it.
  socklen_t native_size() const noexcept { return len_; }

  /// Same kind and same name (a path compares byte for byte, unresolved).
  friend bool operator==(const unix_socket_addr& a, const unix_socket_addr& b) noexcept;

 private:
  sockaddr_un addr_;
  socklen_t len_;  ///< offsetof(sun_path) + the name's bytes (no trailing NUL)
};

/// Same kind and same name (a path compares byte for byte, unresolved).
KYOTO_EXPORT bool operator==(const unix_socket_addr& a, const unix_socket_addr& b) noexcept;

/// Writes to_string().
KYOTO_EXPORT std::ostream& operator<<(std::ostream& os, const unix_socket_addr& a);

/// The credentials of the process at the other end of a Unix-domain
/// socket, as the kernel recorded them when it connected (SO_PEERCRED;
/// tokio's UCred).
struct unix_peer_cred {
  pid_t pid;  ///< the peer's process id (0 if unknown)
  uid_t uid;  ///< its effective user id
  gid_t gid;  ///< its effective group id
};

}  // namespace kyoto::net
