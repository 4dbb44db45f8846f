// What kyoto's datagram sockets (udp_socket, unix_datagram) share: the
// awaiters of a datagram's receive and send, and the stash of datagrams
// cancelled receives took.
//
// # Why a datagram stash
//
// On io_uring a receive is not "wait until readable, then read": the kernel
// takes the datagram off the socket's queue into our buffer and then
// completes. A receive cancelled by select or timeout may therefore already
// hold a datagram, which the socket no longer has. tokio documents recv and
// recv_from as cancel safe, and so does kyoto: the cancelled receive's
// destructor waits for the request to end (io_op.hpp) and, if a datagram
// came in, keeps it whole, with its source address, in the socket's stash;
// the next receive returns it first, without asking the kernel. (A datagram
// longer than the cancelled receive's buffer was already cut to it by the
// kernel, as that receive would have returned it.) Peeks leave the
// datagram in the kernel's queue, so a cancelled peek keeps no datagram.
// An error a cancelled receive got (a connected UDP socket's
// ECONNREFUSED, which the kernel reports once, even to a peek) is kept in
// the same queue, in order, and thrown by the receive that takes it.
//
// Several tasks may send and receive on one socket at once (as tokio's
// `&self` methods allow), so the stash has a lock of its own; it is touched
// only when a receive starts and when a cancelled one ends.
#pragma once

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>

namespace kyoto::detail {

/// The datagrams cancelled receives took from the kernel (see the file
/// comment); defined in src/net/datagram.cpp, where the socket types'
/// special members (which hold it by unique_ptr) are defined too.
/// Thread-safe.
class datagram_stash;

/// Awaits one datagram: a recv (connected socket, IORING_OP_RECV) or a
/// recvmsg that also gives the source address (IORING_OP_RECVMSG), either
/// of which may peek. The msghdr, iovec and source address live here; their
/// pointers are taken in await_suspend, once the awaiter no longer moves.
///
/// A stashed datagram (or error) is returned first, without suspending.
/// Cancel safe: a datagram a cancelled (non-peek) receive got, or an error
/// any cancelled receive got, goes to the stash.
class KYOTO_EXPORT datagram_recv_awaiter {
 public:
  /// What to receive.
  enum class mode : std::uint8_t { recv, peek, recv_from, peek_from };

  datagram_recv_awaiter(datagram_stash& stash, int fd, std::span<std::byte> buf, mode m,
                        const char* operation) noexcept;
  datagram_recv_awaiter(datagram_recv_awaiter&& o) noexcept;
  datagram_recv_awaiter& operator=(datagram_recv_awaiter&&) = delete;
  ~datagram_recv_awaiter();

  bool await_ready() noexcept;
  void await_suspend(std::coroutine_handle<> h);
  /// The datagram's size in the buffer (the rest of a longer datagram is
  /// discarded, as recv(2) does). Throws std::system_error naming the
  /// operation.
  std::size_t await_resume();

 protected:
  /// The source address of the datagram await_resume() returned, into
  /// `out`; gives its length (0: an unnamed Unix-domain sender). As the
  /// kernel gave it, or the connected peer's when it is not known (a
  /// datagram a cancelled recv() stashed). Throws std::system_error.
  socklen_t source(sockaddr_storage& out) const;

 private:
  static constexpr std::size_t not_ready = ~std::size_t{0};
  bool from() const noexcept { return mode_ == mode::recv_from || mode_ == mode::peek_from; }
  bool peek() const noexcept { return mode_ == mode::peek || mode_ == mode::peek_from; }

  datagram_stash* stash_;
  int fd_;
  std::span<std::byte> buf_;
  op_awaiter op_;
  const char* operation_;
  mode mode_;
  bool from_known_ = false;        ///< from_/from_len_ hold the source
  std::size_t ready_ = not_ready;  ///< a stashed datagram's size
  int stashed_error_ = 0;          ///< an error the stash gave (-errno), or 0
  sockaddr_storage from_{};        ///< the source address (recvmsg, or the stash)
  socklen_t from_len_ = 0;         ///< its length
  iovec iov_{};
  msghdr msg_{};
};

/// Awaits the send of one datagram: to the connected peer
/// (IORING_OP_SEND) or to an address (IORING_OP_SENDMSG; the msghdr and a
/// copy of the address live here). An empty datagram is sent too. Gives
/// the bytes sent (all of them: a datagram is never sent in part). Not
/// cancel safe: a cancelled send may or may not have sent the datagram.
class KYOTO_EXPORT datagram_send_awaiter {
 public:
  /// To the connected peer.
  datagram_send_awaiter(int fd, std::span<const std::byte> buf, const char* operation) noexcept;
  /// To `to` (`len` bytes, at most sizeof(sockaddr_storage); copied).
  datagram_send_awaiter(int fd, std::span<const std::byte> buf, const sockaddr* to, socklen_t len,
                        const char* operation) noexcept;
  datagram_send_awaiter(datagram_send_awaiter&& o) noexcept;
  datagram_send_awaiter& operator=(datagram_send_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  /// Throws std::system_error naming the operation (EMSGSIZE, ECONNREFUSED
  /// after an ICMP port unreachable on a connected socket, ...).
  std::size_t await_resume();

 private:
  std::span<const std::byte> buf_;
  op_awaiter op_;
  const char* operation_;
  socklen_t to_len_ = 0;  ///< 0: to the connected peer
  sockaddr_storage to_{};
  iovec iov_{};
  msghdr msg_{};
};

}  // namespace kyoto::detail
