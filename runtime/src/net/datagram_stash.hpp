// kyoto::detail::datagram_stash: the datagrams cancelled receives took
// (kyoto/net/detail/datagram.hpp's file comment). Private: the socket
// types' .cpp files include it to define their special members.
#pragma once

#include <kyoto/net/detail/datagram.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <span>
#include <vector>

namespace kyoto::detail {

/// A datagram a cancelled receive took, or the error it got.
struct stashed_datagram {
  int error = 0;  ///< nonzero: no datagram but this error (-errno), thrown once
  std::vector<std::byte> bytes;
  bool from_known = false;  ///< false: a connected recv (the source is the peer)
  sockaddr_storage from{};  ///< the source, if from_known
  socklen_t from_len = 0;   ///< its length (0: an unnamed Unix-domain sender)
};

/// The datagrams cancelled receives took, oldest first. Thread-safe.
class datagram_stash {
 public:
  /// Copies the oldest datagram into `into` (cut to fit) and its source
  /// into `from_known`/`from`/`from_len`; removes it unless `peek`. Gives
  /// its size in `into` through `n`, or false if there is none. If the
  /// oldest is an error, gives it through `error` (removed unless `peek`)
  /// and nothing else.
  bool take(std::span<std::byte> into, bool peek, std::size_t& n, bool& from_known,
            sockaddr_storage& from, socklen_t& from_len, int& error) noexcept {
    lock_guard g(lock_);
    if (queue_.empty()) return false;
    stashed_datagram& d = queue_.front();
    error = d.error;
    if (error != 0) {
      if (!peek) queue_.pop_front();
      return true;
    }
    n = std::min(into.size(), d.bytes.size());
    if (n != 0) std::memcpy(into.data(), d.bytes.data(), n);
    from_known = d.from_known;
    from = d.from;
    from_len = d.from_len;
    if (!peek) queue_.pop_front();
    return true;
  }

  /// Keeps a datagram for the next receive (after those already kept). A
  /// bad_alloc here would lose it: terminate rather than lose it silently
  /// (noexcept), as socket_fd::stash does.
  void put(stashed_datagram d) noexcept {
    lock_guard g(lock_);
    queue_.push_back(std::move(d));
  }

 private:
  mutex lock_;
  std::deque<stashed_datagram> queue_;  // guarded by lock_
};

}  // namespace kyoto::detail
