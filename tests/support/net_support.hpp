// Test helpers for kyoto::net and the I/O tests over sockets: a connected
// loopback TCP pair, a watchdog for the awaits a lost byte would hang, a
// cancel that lands right after its request started, and looks at what
// the kernel holds for a socket.
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/ioctl.h>

#include <chrono>
#include <stdexcept>
#include <utility>
#include <variant>

namespace kyoto::test {

/// A connected loopback pair through `listener`: {client, accepted}.
inline kyoto::task<std::pair<net::tcp_stream, net::tcp_stream>> connected_pair(
    net::tcp_listener& listener) {
  net::tcp_stream client = co_await net::tcp_stream::connect(listener.local_addr());
  auto accepted = co_await listener.accept();
  co_return std::pair<net::tcp_stream, net::tcp_stream>(std::move(client),
                                                        std::move(accepted.first));
}

/// A connected loopback pair through a listener of its own: {client,
/// accepted}.
inline kyoto::task<std::pair<net::tcp_stream, net::tcp_stream>> connected_pair() {
  net::tcp_listener listener = co_await net::tcp_listener::bind(net::socket_addr::localhost_v4());
  co_return co_await connected_pair(listener);
}

/// A watchdog for the awaits that would hang if a cancel lost data: `op`'s
/// value, or std::runtime_error after 10 s.
template <class Op>
kyoto::task<kyoto::detail::await_result_t<Op>> within_10s(Op op) {
  using namespace std::chrono_literals;
  auto v = co_await kyoto::select(std::move(op), kyoto::time::sleep(10s));
  if (v.index() != 0) throw std::runtime_error("nothing within 10 s: the cancel lost it");
  co_return std::move(std::get<0>(v));
}

/// Starts `op` and cancels it at once: races it, first, against a branch
/// that is already ready (select_biased), so its request is submitted (and
/// completes in the kernel if what it waits for is there) before the
/// cancel reaches it. Gives whether the ready branch won, as it should.
template <class Op>
kyoto::task<bool> cancelled_at_once(Op op) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  EXPECT_TRUE(tx.send(1).has_value());
  auto v = co_await kyoto::select_biased(std::move(op), std::move(rx));
  co_return v.index() == 1;
}

/// The bytes the kernel holds for the socket's next read (SIOCINQ).
template <class Socket>
int queued_bytes(const Socket& s) {
  int n = -1;
  ::ioctl(s.native_handle(), FIONREAD, &n);
  return n;
}

/// Whether a connection waits in the listener's backlog (poll, no wait).
template <class Listener>
bool backlog_has_connection(const Listener& l) {
  pollfd p{l.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace kyoto::test
