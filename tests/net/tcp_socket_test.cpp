// kyoto::net::tcp_socket and tcp_stream's socket options: a port of tokio's
// tests/tcp_socket.rs (tokio 1.24), then each option round-tripped, the
// SO_REUSEPORT and SO_LINGER behaviours, and the errors.
#include "bytes.hpp"
#include "errors.hpp"
#include "net_support.hpp"

#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;

namespace {

using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_socket;
using kyoto::net::tcp_stream;
using namespace kyoto::test;

/// Whether this host can open an IPv6 socket on ::1.
bool have_ipv6() {
  try {
    tcp_socket s = tcp_socket::new_v6();
    s.bind(socket_addr::localhost_v6());
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

// ---- tokio tcp_socket.rs ----

KYOTO_TEST(TcpSocket, BasicUsageV4) {
  tcp_socket srv = tcp_socket::new_v4();
  srv.bind(socket_addr::parse("127.0.0.1:0"));
  tcp_listener listener = std::move(srv).listen(128);
  const socket_addr addr = listener.local_addr();
  tcp_socket cli = tcp_socket::new_v4();
  tcp_stream client = co_await std::move(cli).connect(addr);
  auto [server, peer] = co_await listener.accept();
  EXPECT_EQ(peer, client.local_addr());
  EXPECT_EQ(server.peer_addr(), client.local_addr());
}

KYOTO_TEST(TcpSocket, BasicUsageV6) {
  if (!have_ipv6()) {
    KYOTO_SKIP() << "no IPv6 loopback on this host";
  }
  tcp_socket srv = tcp_socket::new_v6();
  srv.bind(socket_addr::parse("[::1]:0"));
  tcp_listener listener = std::move(srv).listen(128);
  const socket_addr addr = listener.local_addr();
  EXPECT_TRUE(addr.is_ipv6());
  tcp_stream client = co_await tcp_socket::new_v6().connect(addr);
  auto accepted = co_await listener.accept();
  EXPECT_EQ(accepted.second, client.local_addr());
}

KYOTO_TEST(TcpSocket, BindBeforeConnect) {
  const socket_addr any = socket_addr::parse("127.0.0.1:0");
  tcp_socket srv = tcp_socket::new_v4();
  srv.bind(any);
  tcp_listener listener = std::move(srv).listen(128);
  tcp_socket cli = tcp_socket::new_v4();
  cli.bind(any);
  const socket_addr bound = cli.local_addr();
  EXPECT_NE(bound.port(), 0);
  tcp_stream client = co_await std::move(cli).connect(listener.local_addr());
  EXPECT_EQ(client.local_addr(), bound);  // the connection kept the bound address
  auto accepted = co_await listener.accept();
  EXPECT_EQ(accepted.second, bound);
}

KYOTO_TEST(TcpSocket, BasicLinger) {
  tcp_socket srv = tcp_socket::new_v4();
  srv.bind(socket_addr::parse("127.0.0.1:0"));
  EXPECT_EQ(srv.linger(), std::nullopt);
  srv.set_linger(0s);
  EXPECT_EQ(srv.linger(), std::optional(0s));
  srv.set_linger(std::nullopt);
  EXPECT_EQ(srv.linger(), std::nullopt);
  co_return;
}

// ---- options ----

KYOTO_TEST(TcpSocket, OptionsReadBackWhatWasSet) {
  tcp_socket s = tcp_socket::new_v4();
  s.set_reuseaddr(true);
  EXPECT_TRUE(s.reuseaddr());
  s.set_reuseaddr(false);
  EXPECT_FALSE(s.reuseaddr());
  s.set_reuseport(true);
  EXPECT_TRUE(s.reuseport());
  s.set_keepalive(true);
  EXPECT_TRUE(s.keepalive());
  s.set_keepalive(false);
  EXPECT_FALSE(s.keepalive());
  s.set_nodelay(true);
  EXPECT_TRUE(s.nodelay());
  s.set_linger(7s);
  EXPECT_EQ(s.linger(), std::optional(7s));
  // Linux doubles the buffer sizes for its bookkeeping: at least what was
  // asked is kept.
  s.set_send_buffer_size(64 * 1024);
  EXPECT_GE(s.send_buffer_size(), 64u * 1024);
  s.set_recv_buffer_size(32 * 1024);
  EXPECT_GE(s.recv_buffer_size(), 32u * 1024);
  co_return;
}

KYOTO_TEST(TcpSocket, NodelaySetBeforeConnectIsKeptByTheStream) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  tcp_socket cli = tcp_socket::new_v4();
  cli.set_nodelay(true);
  tcp_stream client = co_await std::move(cli).connect(listener.local_addr());
  EXPECT_TRUE(client.nodelay());
}

KYOTO_TEST(TcpSocket, ReuseportLetsTwoListenersShareAPort) {
  tcp_socket a = tcp_socket::new_v4();
  a.set_reuseport(true);
  a.bind(socket_addr::localhost_v4());
  const socket_addr addr = a.local_addr();
  tcp_socket b = tcp_socket::new_v4();
  b.set_reuseport(true);
  b.bind(addr);
  EXPECT_EQ(b.local_addr(), addr);
  tcp_listener la = std::move(a).listen(16);
  tcp_listener lb = std::move(b).listen(16);
  EXPECT_EQ(la.local_addr(), lb.local_addr());
  co_return;
}

KYOTO_TEST(TcpSocket, BindingAPortInUseWithoutReuseportNamesTheAddress) {
  tcp_listener taken = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = taken.local_addr();
  tcp_socket s = tcp_socket::new_v4();
  const auto e = expect_throws<std::system_error>(
      [&] { s.bind(addr); }, "kyoto::net::tcp_socket::bind " + addr.to_string());
  if (e) {
    EXPECT_EQ(e->code(), std::error_code(EADDRINUSE, std::system_category()));
  }
}

KYOTO_TEST(TcpSocket, BindingTwiceIsEinval) {
  tcp_socket s = tcp_socket::new_v4();
  s.bind(socket_addr::localhost_v4());
  const auto e = expect_throws<std::system_error>([&] { s.bind(socket_addr::localhost_v4()); },
                                                  "kyoto::net::tcp_socket::bind 127.0.0.1:0");
  if (e) {
    EXPECT_EQ(e->code(), std::error_code(EINVAL, std::system_category()));
  }
  co_return;
}

KYOTO_TEST(TcpSocket, BindingAnAddressOfTheOtherFamilyFails) {
  tcp_socket s = tcp_socket::new_v4();
  expect_throws<std::system_error>([&] { s.bind(socket_addr::localhost_v6()); },
                                   "kyoto::net::tcp_socket::bind [::1]:0");
  co_return;
}

KYOTO_TEST(TcpSocket, AConnectToAClosedPortIsRefusedNamingTheAddress) {
  // A port that was free a moment ago: bound, then closed.
  socket_addr addr;
  {
    tcp_socket s = tcp_socket::new_v4();
    s.bind(socket_addr::localhost_v4());
    addr = s.local_addr();
  }
  const auto e = co_await error_of(tcp_socket::new_v4().connect(addr));
  expect_error(e, ECONNREFUSED, "kyoto::net::tcp_socket::connect " + addr.to_string());
}

KYOTO_TEST(TcpSocket, ANegativeLingerIsRefused) {
  tcp_socket s = tcp_socket::new_v4();
  expect_throws<std::invalid_argument>([&] { s.set_linger(-1s); },
                                       "kyoto::net::tcp_socket::set_linger: a negative linger");
  co_return;
}

KYOTO_TEST(TcpSocket, AnUnboundSocketListensOnAnEphemeralPort) {
  tcp_listener listener = tcp_socket::new_v4().listen(8);
  EXPECT_NE(listener.local_addr().port(), 0);
  tcp_stream client =
      co_await tcp_stream::connect(socket_addr::from_ip("127.0.0.1", listener.local_addr().port()));
  auto accepted = co_await listener.accept();
  co_await client.write_all("ping");
  std::array<std::byte, 4> buf{};
  co_await accepted.first.read_exact(buf);
  EXPECT_EQ(text(buf), "ping");
}

// ---- tcp_stream's linger and ttl ----

KYOTO_TEST(TcpStream, LingerReadsBackWhatWasSet) {
  auto [client, server] = co_await connected_pair();
  EXPECT_EQ(client.linger(), std::nullopt);
  client.set_linger(3s);
  EXPECT_EQ(client.linger(), std::optional(3s));
  client.set_linger(std::nullopt);
  EXPECT_EQ(client.linger(), std::nullopt);
  expect_throws<std::invalid_argument>([&] { client.set_linger(-2s); },
                                       "kyoto::net::tcp_stream::set_linger");
}

KYOTO_TEST(TcpStream, ClosingWithAZeroLingerResetsTheConnection) {
  auto [client, server] = co_await connected_pair();
  client.set_linger(0s);
  {
    tcp_stream drop = std::move(client);  // close(2) sends a RST, not a FIN
  }
  std::array<std::byte, 8> buf{};
  const auto e = co_await error_of(server.read(buf));
  expect_error(e, ECONNRESET, "kyoto::net::tcp_stream::read");
}

KYOTO_TEST(TcpStream, TtlReadsBackWhatWasSet) {
  auto [client, server] = co_await connected_pair();
  client.set_ttl(17);
  EXPECT_EQ(client.ttl(), 17);
  expect_throws<std::system_error>([&] { client.set_ttl(-5); }, "kyoto::net::tcp_stream::set_ttl");
}

}  // namespace
