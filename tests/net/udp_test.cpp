// kyoto::net::udp_socket over real loopback sockets: ports of tokio's
// tests/udp.rs (tokio 1.24) where they apply, then the cancel safety of the
// receives (the datagram stash), errors and options.
//
// Not ported: the *_poll tests, try_send_*/try_recv_* and poll_ready (kyoto
// has no poll_* or try_* socket API); their round trips are kept, written
// with the awaited operations.
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "net_support.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace oneshot = kyoto::sync::oneshot;
namespace mpsc = kyoto::sync::mpsc;

namespace {

using kyoto::net::socket_addr;
using kyoto::net::udp_socket;
using namespace kyoto::test;

constexpr std::string_view msg = "hello";

/// Two sockets bound to ephemeral IPv4 loopback ports.
kyoto::task<std::pair<udp_socket, udp_socket>> two_sockets() {
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  udp_socket b = co_await udp_socket::bind("127.0.0.1:0");
  co_return std::pair<udp_socket, udp_socket>(std::move(a), std::move(b));
}

/// Receives one datagram on `s` (recv_from); expects it to be `want`, sent
/// from `sender`.
kyoto::task<> expect_datagram(udp_socket& s, std::string_view want, socket_addr sender) {
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await s.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), want);
  EXPECT_EQ(from, sender);
}

// tokio udp.rs: send_recv
KYOTO_TEST(Udp, ConnectedSocketsSendAndRecv) {
  auto [sender, receiver] = co_await two_sockets();
  co_await sender.connect(receiver.local_addr());
  co_await receiver.connect(sender.local_addr());
  const std::size_t sent = co_await sender.send(msg);
  EXPECT_EQ(sent, msg.size());
  std::array<std::byte, 32> buf{};
  const std::size_t n = co_await receiver.recv(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), msg);
  EXPECT_EQ(receiver.peer_addr(), sender.local_addr());
}

// tokio udp.rs: send_to_recv_from
KYOTO_TEST(Udp, SendToArrivesWithTheSendersAddress) {
  auto [sender, receiver] = co_await two_sockets();
  const std::size_t sent = co_await sender.send_to(msg, receiver.local_addr());
  EXPECT_EQ(sent, msg.size());
  co_await expect_datagram(receiver, msg, sender.local_addr());
}

// tokio udp.rs: send_to_peek_from
KYOTO_TEST(Udp, PeekFromLeavesTheDatagramForRecvFrom) {
  auto [sender, receiver] = co_await two_sockets();
  co_await sender.send_to(msg, receiver.local_addr());
  for (int i = 0; i < 2; ++i) {
    std::array<std::byte, 32> buf{};
    auto [n, from] = co_await receiver.peek_from(buf);
    EXPECT_EQ(text(std::span(buf).first(n)), msg);
    EXPECT_EQ(from, sender.local_addr());
  }
  co_await expect_datagram(receiver, msg, sender.local_addr());
}

// tokio udp.rs: split (an Arc<UdpSocket> shared by two tasks)
KYOTO_TEST(Udp, OneSocketSharedBySendingAndReceivingTasks) {
  auto s = std::make_shared<udp_socket>(co_await udp_socket::bind("127.0.0.1:0"));
  const socket_addr addr = s->local_addr();
  auto send_task =
      kyoto::spawn([](std::shared_ptr<udp_socket> sock,
                      socket_addr to) -> kyoto::task<> { co_await sock->send_to(msg, to); },
                   s, addr);
  co_await expect_datagram(*s, msg, addr);
  co_await send_task;
}

kyoto::task<> echo_sender(std::shared_ptr<udp_socket> s,
                          mpsc::receiver<std::pair<std::string, socket_addr>> rx) {
  for (;;) {
    auto item = co_await rx.recv();
    if (!item) co_return;
    co_await s->send_to(item->first, item->second);
  }
}

kyoto::task<> echo_receiver(std::shared_ptr<udp_socket> s,
                            mpsc::sender<std::pair<std::string, socket_addr>> tx, int count) {
  std::array<std::byte, 32> buf{};
  for (int i = 0; i < count; ++i) {
    auto [n, from] = co_await s->recv_from(buf);
    auto sent = co_await tx.send(std::pair(text(std::span(buf).first(n)), from));
    if (!sent.has_value()) co_return;
  }
}

// tokio udp.rs: split_chan, on every runtime flavour: an echo server whose
// receiving and sending tasks share the socket, talking through a channel.
class UdpFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(UdpFlavours, EchoServerSplitOverAChannel) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    constexpr int rounds = 50;
    auto s = std::make_shared<udp_socket>(co_await udp_socket::bind("127.0.0.1:0"));
    const socket_addr addr = s->local_addr();
    auto [tx, rx] = mpsc::channel<std::pair<std::string, socket_addr>>(1000);
    auto out = kyoto::spawn(echo_sender(s, std::move(rx)));
    auto in = kyoto::spawn(echo_receiver(s, std::move(tx), rounds));
    udp_socket client = co_await udp_socket::bind("127.0.0.1:0");
    for (int i = 0; i < rounds; ++i) {
      const std::string m = "ping " + std::to_string(i);
      co_await client.send_to(m, addr);
      co_await expect_datagram(client, m, addr);
    }
    co_await in;   // received `rounds` datagrams, then dropped its sender
    co_await out;  // the channel closed
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(UdpFlavours);

// tokio udp.rs: try_send_spawn (send_to, then connect and send; the
// receiver is connected to the sender throughout)
KYOTO_TEST(Udp, SendToThenConnectThenSend) {
  auto [sender, receiver] = co_await two_sockets();
  co_await receiver.connect(sender.local_addr());
  const std::size_t sent1 = co_await sender.send_to(msg, receiver.local_addr());
  EXPECT_EQ(sent1, msg.size());
  std::array<std::byte, 32> buf{};
  std::size_t received = co_await receiver.recv(buf);
  co_await sender.connect(receiver.local_addr());
  const std::size_t sent2 = co_await sender.send("world!");
  EXPECT_EQ(sent2, 6u);
  received += co_await receiver.recv(buf);
  EXPECT_EQ(received, msg.size() + 6);
}

// tokio udp.rs: try_send_recv, try_recv_buf (connected), then
// try_send_to_recv_from, try_recv_buf_from, poll_ready (unconnected)
KYOTO_TEST(Udp, FiveConnectedRoundTrips) {
  auto [server, client] = co_await two_sockets();
  co_await client.connect(server.local_addr());
  co_await server.connect(client.local_addr());
  for (int i = 0; i < 5; ++i) {
    const std::size_t sent = co_await client.send("hello world");
    EXPECT_EQ(sent, 11u);
    std::array<std::byte, 512> buf{};
    const std::size_t n = co_await server.recv(buf);
    EXPECT_EQ(text(std::span(buf).first(n)), "hello world");
  }
}

KYOTO_TEST(Udp, FiveUnconnectedRoundTrips) {
  udp_socket server = co_await udp_socket::bind("127.0.0.1:0");
  const socket_addr saddr = server.local_addr();
  udp_socket client = co_await udp_socket::bind("127.0.0.1:0");
  const socket_addr caddr = client.local_addr();
  for (int i = 0; i < 5; ++i) {
    const std::size_t sent = co_await client.send_to("hello world", saddr);
    EXPECT_EQ(sent, 11u);
    std::array<std::byte, 512> buf{};
    auto [n, from] = co_await server.recv_from(buf);
    EXPECT_EQ(n, 11u);
    EXPECT_EQ(from, caddr);
    EXPECT_EQ(text(std::span(buf).first(n)), "hello world");
  }
}

KYOTO_TEST(Udp, WorksOverIpv6) {
  udp_socket a = co_await udp_socket::bind(socket_addr::localhost_v6());
  udp_socket b = co_await udp_socket::bind("[::1]:0");
  EXPECT_TRUE(a.local_addr().is_ipv6());
  co_await a.send_to(msg, b.local_addr());
  co_await expect_datagram(b, msg, a.local_addr());
}

KYOTO_TEST(Udp, ALongDatagramIsCutToTheBufferAndTheRestDiscarded) {
  auto [a, b] = co_await two_sockets();
  co_await a.send_to("0123456789", b.local_addr());
  co_await a.send_to("next", b.local_addr());
  std::array<std::byte, 4> small{};
  auto [n, from] = co_await b.recv_from(small);
  EXPECT_EQ(text(std::span(small).first(n)), "0123");
  std::array<std::byte, 32> buf{};
  auto [m, from2] = co_await b.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(m)), "next");
}

KYOTO_TEST(Udp, AnEmptyDatagramIsSentAndReceived) {
  auto [a, b] = co_await two_sockets();
  const std::size_t sent = co_await a.send_to(std::span<const std::byte>(), b.local_addr());
  EXPECT_EQ(sent, 0u);
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await b.recv_from(buf);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(from, a.local_addr());
}

// ---- cancel safety: the datagram stash ----

// The datagram is queued before the select starts (peek_from confirms it)
// and the other branch is ready: the recv_from is submitted, completes in
// the kernel with the datagram as soon as it is, and is then cancelled.
// The datagram must come back from the next recv_from, with its source.
KYOTO_TEST(Udp, ADatagramACancelledRecvFromGotIsReturnedNext) {
  auto [a, b] = co_await two_sockets();
  co_await a.send_to(msg, b.local_addr());
  std::array<std::byte, 32> buf{};
  auto [peeked, peek_from] = co_await b.peek_from(buf);
  EXPECT_EQ(peeked, msg.size());
  std::array<std::byte, 32> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(b.recv_from(lost)));
  // io_uring completed the request inline (the datagram was queued) before
  // the cancel reached it: the kernel's queue is empty, the stash has it.
  EXPECT_EQ(queued_bytes(b), 0);
  auto [n, from] = co_await within_10s(b.recv_from(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), msg);
  EXPECT_EQ(from, a.local_addr());
}

KYOTO_TEST(Udp, AStashedDatagramComesBeforeQueuedOnesAndPeekLeavesIt) {
  auto [a, b] = co_await two_sockets();
  const std::array<std::string_view, 3> sent{"one", "two", "three"};
  for (std::string_view s : sent)
    co_await a.send_to(s, b.local_addr());
  std::array<std::byte, 32> buf{};
  const auto there = co_await b.peek_from(buf);  // the datagrams are there
  EXPECT_EQ(text(std::span(buf).first(there.first)), "one");
  EXPECT_TRUE(co_await cancelled_at_once(b.recv_from(buf)));
  // "one" in the stash, the others in the kernel. A peek shows the stashed
  // one without taking it; a receive with a stashed datagram is ready at
  // once (it wins a select).
  auto [pn, pfrom] = co_await b.peek_from(buf);
  EXPECT_EQ(text(std::span(buf).first(pn)), "one");
  EXPECT_EQ(pfrom, a.local_addr());
  const std::size_t peeked = co_await b.peek(buf);
  EXPECT_EQ(text(std::span(buf).first(peeked)), "one");
  auto [tx2, rx2] = oneshot::channel<int>();
  EXPECT_TRUE(tx2.send(2).has_value());
  auto w = co_await kyoto::select_biased(b.recv_from(buf), std::move(rx2));
  KYOTO_ASSERT_EQ(w.index(), 0u);
  EXPECT_EQ(text(std::span(buf).first(std::get<0>(w).first)), "one");
  for (std::string_view s : {"two", "three"}) {
    co_await expect_datagram(b, s, a.local_addr());
  }
}

KYOTO_TEST(Udp, ACancelledPeekKeepsNothing) {
  auto [a, b] = co_await two_sockets();
  co_await a.send_to("first", b.local_addr());
  std::array<std::byte, 32> buf{};
  auto [pn, pfrom] = co_await b.peek_from(buf);
  EXPECT_EQ(pn, 5u);
  EXPECT_TRUE(co_await cancelled_at_once(b.peek_from(buf)));
  co_await a.send_to("second", b.local_addr());
  co_await expect_datagram(b, "first", a.local_addr());
  co_await expect_datagram(b, "second", a.local_addr());
}

// A cancelled connected recv() does not learn the source: recv_from gives
// the connected peer's address for it.
KYOTO_TEST(Udp, ADatagramACancelledRecvGotHasThePeersAddress) {
  auto [a, b] = co_await two_sockets();
  co_await b.connect(a.local_addr());
  co_await a.send_to(msg, b.local_addr());
  std::array<std::byte, 32> buf{};
  std::size_t peeked = co_await b.peek(buf);
  EXPECT_EQ(peeked, msg.size());
  EXPECT_TRUE(co_await cancelled_at_once(b.recv(buf)));
  std::array<std::byte, 32> out{};
  auto [n, from] = co_await within_10s(b.recv_from(out));
  EXPECT_EQ(text(std::span(out).first(n)), msg);
  EXPECT_EQ(from, a.local_addr());
}

// Nothing was queued: the timer wins, the cancelled recv_from got nothing,
// and a datagram sent afterwards is received once.
KYOTO_TEST(Udp, ARecvFromCancelledEmptyHandedLeavesNothingBehind) {
  auto [a, b] = co_await two_sockets();
  std::array<std::byte, 32> buf{};
  auto v = co_await kyoto::select(b.recv_from(buf), kyoto::time::sleep(5ms));
  EXPECT_EQ(v.index(), 1u);
  co_await a.send_to("late", b.local_addr());
  co_await a.send_to("later", b.local_addr());
  co_await expect_datagram(b, "late", a.local_addr());
  co_await expect_datagram(b, "later", a.local_addr());
}

// Receives raced against yield_now on every flavour (the cancel lands
// before, during or after the datagram arrives): every datagram is
// received exactly once, in order.
TEST_P(UdpFlavours, RecvFromRacedAgainstYieldLosesNothing) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    constexpr int count = 100;
    auto [a, b] = co_await two_sockets();
    auto sender = kyoto::spawn(
        [](udp_socket& from, socket_addr to) -> kyoto::task<> {
          for (int i = 0; i < count; ++i) {
            const std::string m = std::to_string(i);
            co_await from.send_to(m, to);
            if (i % 8 == 0) co_await kyoto::yield_now();
          }
        },
        std::ref(a), b.local_addr());
    std::vector<std::string> got;
    int cancelled = 0;
    std::array<std::byte, 32> buf{};
    while (got.size() < static_cast<std::size_t>(count)) {
      auto v = co_await kyoto::select(b.recv_from(buf), kyoto::yield_now());
      if (v.index() == 0) {
        got.push_back(text(std::span(buf).first(std::get<0>(v).first)));
      } else {
        ++cancelled;
      }
    }
    co_await sender;
    for (int i = 0; i < count; ++i)
      EXPECT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
    EXPECT_GT(cancelled, 0);
  }());
}

kyoto::task<> receive_until(std::shared_ptr<udp_socket> s, std::atomic<int>& received,
                            std::vector<int>& got, kyoto::sync::mutex<int>& lock, int count) {
  std::array<std::byte, 32> buf{};
  while (received.load() < count) {
    auto v = co_await kyoto::select(s->recv_from(buf), kyoto::yield_now());
    if (v.index() != 0) continue;
    const int value = std::stoi(text(std::span(buf).first(std::get<0>(v).first)));
    {
      auto guard = co_await lock.lock();
      got.push_back(value);
    }
    received.fetch_add(1);
  }
}

// Two tasks receive on one socket at once on four workers, each receive
// raced against yield_now: the stash is shared, and every datagram is
// received exactly once.
KYOTO_TEST_WITH(Udp, ConcurrentReceiversRacingCancelsReceiveEachDatagramOnce,
                kyoto::runtime::builder::multi_thread().worker_threads(4)) {
  constexpr int count = 200;
  auto s = std::make_shared<udp_socket>(co_await udp_socket::bind("127.0.0.1:0"));
  udp_socket sender = co_await udp_socket::bind("127.0.0.1:0");
  std::atomic<int> received{0};
  std::vector<int> got;
  kyoto::sync::mutex<int> lock(0);
  auto r1 = kyoto::spawn(receive_until(s, received, got, lock, count));
  auto r2 = kyoto::spawn(receive_until(s, received, got, lock, count));
  for (int i = 0; i < count; ++i) {
    const std::string m = std::to_string(i);
    co_await sender.send_to(m, s->local_addr());
    if (i % 16 == 0) co_await kyoto::yield_now();
  }
  co_await r1;
  co_await r2;
  std::sort(got.begin(), got.end());
  KYOTO_ASSERT_EQ(got.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

// ---- errors ----

KYOTO_TEST(Udp, BindingAnAddressInUseNamesTheOperation) {
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  expect_error(co_await error_of(udp_socket::bind(a.local_addr())), EADDRINUSE,
               "kyoto::net::udp_socket::bind");
}

KYOTO_TEST(Udp, AnOversizedDatagramIsEmsgsize) {
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  std::vector<std::byte> big(70'000);
  expect_error(co_await error_of(a.send_to(big, a.local_addr())), EMSGSIZE,
               "kyoto::net::udp_socket::send_to");
}

KYOTO_TEST(Udp, SendOnAnUnconnectedSocketIsEdestaddrreq) {
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  expect_error(co_await error_of(a.send(msg)), EDESTADDRREQ, "kyoto::net::udp_socket::send");
  if (const auto e = kyoto::test::expect_throws<std::system_error>([&] { (void)a.peer_addr(); })) {
    expect_error(e, ENOTCONN, "kyoto::net::udp_socket::peer_addr");
  }
}

// The port is closed: loopback answers the datagram with an ICMP port
// unreachable, which a connected socket's next receive reports.
KYOTO_TEST(Udp, AConnectedRecvReportsARefusedDatagram) {
  socket_addr closed;
  {
    udp_socket gone = co_await udp_socket::bind("127.0.0.1:0");
    closed = gone.local_addr();
  }
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  co_await a.connect(closed);
  co_await a.send(msg);
  std::array<std::byte, 32> buf{};
  expect_error(co_await error_of(a.recv(buf)), ECONNREFUSED, "kyoto::net::udp_socket::recv");
}

KYOTO_TEST(Udp, ConnectToAnAddressOfTheOtherFamilyFails) {
  udp_socket a = co_await udp_socket::bind("127.0.0.1:0");
  co_await kyoto::test::expect_throws_async<std::system_error>(
      [&] { return a.connect(socket_addr::localhost_v6(9)); }, "kyoto::net::udp_socket::connect");
  co_await a.connect("localhost:9");  // resolves; the IPv4 address works
  EXPECT_EQ(a.peer_addr(), socket_addr::localhost_v4(9));
}

// ---- options ----

KYOTO_TEST(Udp, BroadcastAndTtlOptions) {
  udp_socket v4 = co_await udp_socket::bind("127.0.0.1:0");
  EXPECT_FALSE(v4.broadcast());
  v4.set_broadcast(true);
  EXPECT_TRUE(v4.broadcast());
  v4.set_broadcast(false);
  EXPECT_FALSE(v4.broadcast());
  v4.set_ttl(42);
  EXPECT_EQ(v4.ttl(), 42);
  udp_socket v6 = co_await udp_socket::bind("[::1]:0");
  v6.set_ttl(17);
  EXPECT_EQ(v6.ttl(), 17);
  if (const auto e = kyoto::test::expect_throws<std::system_error>([&] { v4.set_ttl(1000); })) {
    expect_error(e, EINVAL, "kyoto::net::udp_socket::set_ttl");
  }
}

}  // namespace
