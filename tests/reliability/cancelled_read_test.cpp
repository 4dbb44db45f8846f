// Issue 13, item 4: a cancelled read keeps what it got, errors included.
//
// Each test makes the kernel hold something the read returns at once (a
// connection reset, a refused datagram, bytes in a pipe), then starts the
// read and cancels it right away (cancelled_at_once): its request
// completes in the kernel with that result before the cancel reaches it.
// The next read must return it. Before the fix the error was dropped (a
// reset became a clean end of stream; a refused datagram was forgotten and
// the next receive waited forever) and a child's pipe lost the bytes.
#include "errors.hpp"
#include "net_support.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/process.hpp>
#include <kyoto/runtime.hpp>

#include <poll.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace {

using kyoto::net::tcp_stream;
using kyoto::net::udp_socket;
using namespace kyoto::test;
using namespace std::chrono_literals;

/// Blocks until `fd` reports `events` (or 10 s pass): the kernel holds
/// what the cancelled read will get. Gives the events seen.
short wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  (void)::poll(&p, 1, 10'000);
  return p.revents;
}

std::string_view text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

KYOTO_TEST(CancelledRead, AResetACancelledReadGotIsThrownByTheNextRead) {
  auto [client, server] = co_await connected_pair();
  {
    tcp_stream peer = std::move(client);
    peer.set_linger(0s);  // closing sends a reset
  }
  EXPECT_NE(wait_for(server.native_handle(), POLLIN) & (POLLERR | POLLHUP), 0);
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(server.read(buf)));
  // The kernel reported the reset once, to the cancelled read; before the
  // fix this read returned 0, a clean end of stream.
  expect_error(co_await error_of(within_10s(server.read(buf))), ECONNRESET,
               "kyoto::net::tcp_stream::read");
}

KYOTO_TEST(CancelledRead, AResetACancelledPeekGotIsThrownByTheNextRead) {
  auto [client, server] = co_await connected_pair();
  {
    tcp_stream peer = std::move(client);
    peer.set_linger(0s);
  }
  EXPECT_NE(wait_for(server.native_handle(), POLLIN) & (POLLERR | POLLHUP), 0);
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(server.peek(buf)));
  // A peek consumes the error too; it stays kept for a peek and is thrown.
  expect_error(co_await error_of(server.peek(buf)), ECONNRESET, "kyoto::net::tcp_stream::peek");
  expect_error(co_await error_of(server.read(buf)), ECONNRESET, "kyoto::net::tcp_stream::read");
}

KYOTO_TEST(CancelledRead, BytesThenTheEndACancelledReadGotComeBackInOrder) {
  auto [client, server] = co_await connected_pair();
  co_await client.write_all(std::string_view("hello"));
  co_await client.shutdown();
  EXPECT_NE(wait_for(server.native_handle(), POLLRDHUP) & POLLRDHUP, 0);
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(server.read(buf)));
  const std::size_t n = co_await within_10s(server.read(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "hello");
  EXPECT_EQ(co_await within_10s(server.read(buf)), 0u);
}

// A connected UDP socket whose peer's port is closed: the datagram it sends
// comes back as an ICMP port unreachable, which the kernel reports once as
// ECONNREFUSED to the next receive.
KYOTO_TEST(CancelledRead, ARefusalACancelledUdpRecvGotIsThrownByTheNextRecv) {
  kyoto::net::socket_addr closed;
  {
    udp_socket gone = co_await udp_socket::bind("127.0.0.1:0");
    closed = gone.local_addr();
  }
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  co_await a.connect(closed);
  co_await a.send(std::string_view("ping"));
  EXPECT_NE(wait_for(a.native_handle(), POLLIN) & POLLERR, 0);
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(a.recv(buf)));
  // Before the fix the refusal was lost and this waited for a datagram
  // that never comes (within_10s gave up).
  expect_error(co_await error_of(within_10s(a.recv(buf))), ECONNREFUSED,
               "kyoto::net::udp_socket::recv");
}

KYOTO_TEST(CancelledRead, BytesACancelledPipeReadGotAreReturnedByTheNextRead) {
  kyoto::process::command cmd("sh");
  cmd.args({"-c", "printf hello"}).stdout(kyoto::process::stdio::piped());
  kyoto::process::child child = cmd.spawn();
  kyoto::process::child_stdout out = std::move(*child.stdout);
  EXPECT_NE(wait_for(out.as_raw_fd(), POLLIN) & POLLIN, 0);
  std::array<std::byte, 16> buf{};
  EXPECT_TRUE(co_await cancelled_at_once(out.read(buf)));
  // Before the fix the bytes were gone and this read gave 0 (the child had
  // exited: end of file).
  const std::size_t n = co_await within_10s(out.read(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "hello");
  EXPECT_EQ(co_await within_10s(out.read(buf)), 0u);
  (void)co_await child.wait();
}

}  // namespace
