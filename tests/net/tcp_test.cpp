// kyoto::net::tcp_listener and tcp_stream over real loopback sockets: ports
// of tokio's tests/tcp_accept.rs, tcp_connect.rs, tcp_echo.rs,
// tcp_into_split.rs, tcp_peek.rs, tcp_shutdown.rs and tcp_stream.rs (tokio
// 1.24) where they apply, then errors, cancel safety and split halves under
// load.
//
// Not ported: tcp_accept.rs's no_extra_poll and accept_many (they count
// polls of one accept shared by many tasks; a kyoto listener accepts from
// one task at a time), the (host, port) tuple forms (kyoto takes
// "host:port" strings and socket_addr), tcp_into_split.rs's reunite (no
// reunite in kyoto), and tcp_stream.rs's set_linger, try_* , poll_*,
// readable/writable/ready and buffer_not_included_in_future (no such API
// in kyoto; what they check of reads and writes is covered below).
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "net_support.hpp"

#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace oneshot = kyoto::sync::oneshot;

namespace {

using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_read_half;
using kyoto::net::tcp_stream;
using kyoto::net::tcp_write_half;
using namespace kyoto::test;

constexpr std::string_view split_msg = "split";  // tcp_into_split.rs's MSG
constexpr std::size_t raced_total = std::size_t{64} * 1024;

KYOTO_TEST(Tcp, EchoOneMessage) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = listener.local_addr();
  auto server = kyoto::spawn([&listener]() -> kyoto::task<> {
    auto [stream, peer] = co_await listener.accept();
    EXPECT_TRUE(peer.is_loopback());
    std::array<std::byte, 5> buf{};
    co_await stream.read_exact(buf);
    co_await stream.write_all(std::span<const std::byte>(buf));
  });
  tcp_stream client = co_await tcp_stream::connect(addr);
  co_await client.write_all(bytes("hello"));
  std::array<std::byte, 5> buf{};
  co_await client.read_exact(buf);
  EXPECT_EQ(text(buf), "hello");
  co_await server;
  std::array<std::byte, 1> rest{};
  const std::size_t n = co_await client.read(rest);
  EXPECT_EQ(n, 0u) << "the server closed its socket";
}

// ---- tcp_accept.rs ----

/// Accepts one connection on `l` and sends it through `out`.
kyoto::task<> accept_and_send(tcp_listener& l, oneshot::sender<tcp_stream> out) {
  auto [socket, peer] = co_await l.accept();
  EXPECT_EQ(peer, socket.peer_addr());
  EXPECT_TRUE(out.send(std::move(socket)).has_value());
}

/// Connects to `listener` while a spawned task accepts (tokio's shape):
/// {the connecting stream, the accepted one (empty if the accept failed)}.
kyoto::task<std::pair<tcp_stream, kyoto::result<tcp_stream, oneshot::recv_error>>>
connect_while_accepting(tcp_listener& listener) {
  auto [tx, rx] = oneshot::channel<tcp_stream>();
  auto acceptor = kyoto::spawn(accept_and_send, std::ref(listener), std::move(tx));
  tcp_stream connected = co_await tcp_stream::connect(listener.local_addr());
  auto accepted = co_await rx;
  co_await acceptor;
  co_return std::pair(std::move(connected), std::move(accepted));
}

kyoto::task<> accept_and_compare(tcp_listener listener) {
  auto [cli, srv] = co_await connect_while_accepting(listener);
  KYOTO_ASSERT_TRUE(srv.has_value());
  EXPECT_EQ(cli.local_addr(), srv.value().peer_addr());
}

KYOTO_TEST(TcpAccept, IpString) {
  tcp_listener l = co_await tcp_listener::bind("127.0.0.1:0");
  co_await accept_and_compare(std::move(l));
}

KYOTO_TEST(TcpAccept, HostString) {
  tcp_listener l = co_await tcp_listener::bind("localhost:0");
  co_await accept_and_compare(std::move(l));
}

KYOTO_TEST(TcpAccept, SocketAddr) {
  tcp_listener l = co_await tcp_listener::bind(socket_addr::parse("127.0.0.1:0"));
  co_await accept_and_compare(std::move(l));
}

// ---- tcp_connect.rs ----

kyoto::task<> connect_and_compare(socket_addr bind_to) {
  tcp_listener srv = co_await tcp_listener::bind(bind_to);
  const socket_addr addr = srv.local_addr();
  EXPECT_EQ(addr.is_ipv4(), bind_to.is_ipv4());
  auto [mine, theirs] = co_await connect_while_accepting(srv);
  KYOTO_ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(mine.local_addr(), theirs.value().peer_addr());
  EXPECT_EQ(theirs.value().local_addr(), mine.peer_addr());
}

KYOTO_TEST(TcpConnect, V4) {
  co_await connect_and_compare(socket_addr::parse("127.0.0.1:0"));
}

KYOTO_TEST(TcpConnect, V6) {
  co_await connect_and_compare(socket_addr::parse("[::1]:0"));
}

kyoto::task<> connect_by_string(std::string host) {
  tcp_listener srv = co_await tcp_listener::bind("127.0.0.1:0");
  const std::string addr = host + ":" + std::to_string(srv.local_addr().port());
  auto [client, accepted] = co_await kyoto::try_join(tcp_stream::connect(addr), srv.accept());
  EXPECT_EQ(client.local_addr(), accepted.second);
}

KYOTO_TEST(TcpConnect, AddrIpString) {
  co_await connect_by_string("127.0.0.1");
}

// "localhost" may resolve to ::1 first, where nobody listens: connect tries
// the next address.
KYOTO_TEST(TcpConnect, AddrHostString) {
  co_await connect_by_string("localhost");
}

KYOTO_TEST(TcpConnect, AClosedPortIsRefusedNamingTheOperation) {
  socket_addr closed;
  {
    tcp_listener gone = co_await tcp_listener::bind(socket_addr::localhost_v4());
    closed = gone.local_addr();
  }
  expect_error(co_await error_of(tcp_stream::connect(closed)), ECONNREFUSED,
               "kyoto::net::tcp_stream::connect");
}

KYOTO_TEST(TcpListener, BindingAPortInUseIsEaddrinuse) {
  tcp_listener first = co_await tcp_listener::bind(socket_addr::localhost_v4());
  expect_error(co_await error_of(tcp_listener::bind(first.local_addr())), EADDRINUSE,
               "kyoto::net::tcp_listener::bind");
}

// ---- tcp_echo.rs, on every runtime flavour ----

class TcpFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

kyoto::task<> echo_client(socket_addr addr, oneshot::sender<int> done, int iterations) {
  constexpr std::string_view msg = "foo bar baz";
  tcp_stream stream = co_await tcp_stream::connect(addr);
  for (int i = 0; i < iterations; ++i) {
    co_await stream.write_all(bytes(msg));
    std::array<std::byte, 11> buf{};
    co_await stream.read_exact(buf);
    EXPECT_EQ(text(buf), msg);
  }
  EXPECT_TRUE(done.send(1).has_value());
}  // the stream closes: the server's copy ends

TEST_P(TcpFlavours, EchoServer) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    constexpr int iterations = 1024;
    auto [tx, rx] = oneshot::channel<int>();
    tcp_listener srv = co_await tcp_listener::bind("127.0.0.1:0");
    auto client = kyoto::spawn(echo_client(srv.local_addr(), std::move(tx), iterations));
    auto [stream, peer] = co_await srv.accept();
    auto [rd, wr] = std::move(stream).split();
    const std::uint64_t n = co_await kyoto::io::copy(rd, wr);
    EXPECT_EQ(n, iterations * std::string_view("foo bar baz").size());
    auto done = co_await rx;
    EXPECT_TRUE(done.has_value());
    co_await client;
  }());
}

// ---- read cancel safety, on every runtime flavour ----

// The bytes arrive before the select starts (a peek confirms them) and the
// other branch is ready: the read is submitted, completes in the kernel as
// soon as it is, and is then cancelled. The next read returns the bytes.
TEST_P(TcpFlavours, BytesACancelledReadGotAreReadNext) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    auto [client, server] = co_await connected_pair();
    co_await server.write_all(bytes("cancel safe"));
    std::array<std::byte, 64> buf{};
    const std::size_t peeked = co_await client.peek(buf);
    EXPECT_EQ(peeked, 11u);
    std::array<std::byte, 64> lost{};
    EXPECT_TRUE(co_await cancelled_at_once(client.read(lost)));
    // io_uring ran the read at once (the bytes were there) before the
    // cancel reached it: the kernel's queue is empty, the stash has them.
    EXPECT_EQ(queued_bytes(client), 0);
    co_await server.write_all(bytes(" and more"));
    std::string got;
    while (got.size() < 20) {
      const std::size_t n = co_await within_10s(client.read(buf));
      KYOTO_ASSERT_GT(n, 0u);
      got += text(std::span(buf).first(n));
    }
    EXPECT_EQ(got, "cancel safe and more");
  }());
}

// Reads raced against yield_now while a writer trickles data in: the
// cancel lands before, during or after a read gets bytes; every byte is
// read once, in order.
TEST_P(TcpFlavours, ReadsRacedAgainstYieldLoseNothing) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    constexpr std::size_t total = raced_total;
    auto [client, server] = co_await connected_pair();
    auto writer = kyoto::spawn(
        [](tcp_stream& s) -> kyoto::task<> {
          std::vector<std::byte> data(raced_total);
          for (std::size_t i = 0; i < raced_total; ++i)
            data[i] = static_cast<std::byte>(i * 7);
          for (std::size_t off = 0; off < raced_total; off += 1000) {
            const std::size_t n = std::min<std::size_t>(1000, raced_total - off);
            co_await s.write_all(std::span<const std::byte>(data).subspan(off, n));
            co_await kyoto::yield_now();
          }
        },
        std::ref(server));
    std::vector<std::byte> got;
    int cancelled = 0;
    std::array<std::byte, 777> buf{};
    while (got.size() < total) {
      auto v = co_await kyoto::select(client.read(buf), kyoto::yield_now());
      if (v.index() == 0) {
        const std::size_t n = std::get<0>(v);
        KYOTO_ASSERT_GT(n, 0u);
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      } else {
        ++cancelled;
      }
    }
    co_await writer;
    for (std::size_t i = 0; i < total; ++i) {
      if (got[i] != static_cast<std::byte>(i * 7)) {
        ADD_FAILURE() << "byte " << i << " differs";
        break;
      }
    }
    EXPECT_GT(cancelled, 0);
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(TcpFlavours);

// ---- accept cancel safety ----

// The connection waits in the backlog before the select starts and the
// other branch is ready: the accept completes in the kernel and is then
// cancelled. The next accept returns that connection.
KYOTO_TEST(TcpListener, AConnectionACancelledAcceptGotIsReturnedNext) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  tcp_stream client = co_await tcp_stream::connect(listener.local_addr());
  EXPECT_TRUE(backlog_has_connection(listener));
  EXPECT_TRUE(co_await cancelled_at_once(listener.accept()));
  EXPECT_FALSE(backlog_has_connection(listener)) << "the cancelled accept took it";
  auto [server, peer] = co_await within_10s(listener.accept());
  EXPECT_EQ(peer, client.local_addr());
  co_await client.write_all(bytes("kept"));
  std::array<std::byte, 4> buf{};
  co_await server.read_exact(buf);
  EXPECT_EQ(text(buf), "kept");
}

// ---- tcp_into_split.rs ----

KYOTO_TEST(TcpIntoSplit, Split) {
  auto [stream1, stream2] = co_await connected_pair();
  auto [read_half, write_half] = std::move(stream1).split();
  auto [a, b, c] = co_await kyoto::try_join(
      [](tcp_stream& s2) -> kyoto::task<> {
        const std::size_t len = co_await s2.write(bytes(split_msg));
        EXPECT_EQ(len, split_msg.size());
        std::array<std::byte, 32> buf{};
        const std::size_t n = co_await s2.read(buf);
        EXPECT_EQ(text(std::span(buf).first(n)), split_msg);
      }(stream2),
      [](tcp_write_half& w) -> kyoto::task<> {
        const std::size_t len = co_await w.write(bytes(split_msg));
        EXPECT_EQ(len, split_msg.size());
      }(write_half),
      [](tcp_read_half& r) -> kyoto::task<> {
        std::array<std::byte, 32> buf{};
        const std::size_t peek1 = co_await r.peek(buf);
        const std::size_t peek2 = co_await r.peek(buf);
        EXPECT_EQ(peek1, peek2);
        const std::size_t n = co_await r.read(buf);
        EXPECT_EQ(peek1, n);
        EXPECT_EQ(text(std::span(buf).first(n)), split_msg);
      }(read_half));
  (void)a;
  (void)b;
  (void)c;
}

kyoto::task<> drop_later(tcp_write_half w) {
  co_await kyoto::yield_now();
  tcp_write_half drop = std::move(w);  // shuts the write side, while the read waits
}

// tokio drops the write half from a thread after 10 ms; here a task drops
// it while the read is pending (no sleep needed: the server's end of
// stream is what the read waits for).
KYOTO_TEST(TcpIntoSplit, DropWrite) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  auto server = kyoto::spawn(
      [](tcp_listener& l) -> kyoto::task<> {
        auto [stream, peer] = co_await l.accept();
        co_await stream.write_all(bytes(split_msg));
        std::array<std::byte, 32> buf{};
        const std::size_t n = co_await stream.read(buf);
        EXPECT_EQ(n, 0u) << "unexpected read of " << n << " bytes";
      },
      std::ref(listener));
  tcp_stream stream = co_await tcp_stream::connect(listener.local_addr());
  auto [read_half, write_half] = std::move(stream).split();
  std::array<std::byte, 32> buf{};
  const std::size_t len = co_await read_half.read(buf);
  EXPECT_EQ(text(std::span(buf).first(len)), split_msg);
  auto dropper = kyoto::spawn(drop_later(std::move(write_half)));
  const std::size_t n = co_await read_half.read(buf);
  EXPECT_EQ(n, 0u);
  co_await dropper;
  co_await server;
}

// ---- tcp_peek.rs ----

KYOTO_TEST(TcpPeek, Peek) {
  auto [left, right] = co_await connected_pair();
  const std::array<std::byte, 4> sent{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  co_await right.write_all(sent);
  std::array<std::byte, 16> buf{};
  const std::size_t n = co_await left.peek(buf);
  EXPECT_EQ(n, 4u);
  EXPECT_TRUE(std::equal(sent.begin(), sent.end(), buf.begin()));
  buf = {};
  const std::size_t m = co_await left.read(buf);
  EXPECT_EQ(m, 4u);
  EXPECT_TRUE(std::equal(sent.begin(), sent.end(), buf.begin()));
}

// ---- tcp_shutdown.rs ----

KYOTO_TEST(TcpShutdown, Shutdown) {
  tcp_listener srv = co_await tcp_listener::bind("127.0.0.1:0");
  auto client = kyoto::spawn(
      [](socket_addr addr) -> kyoto::task<> {
        tcp_stream stream = co_await tcp_stream::connect(addr);
        co_await stream.shutdown();
        std::array<std::byte, 1> buf{};
        const std::size_t n = co_await stream.read(buf);
        EXPECT_EQ(n, 0u);
      },
      srv.local_addr());
  auto [stream, peer] = co_await srv.accept();
  auto [rd, wr] = std::move(stream).split();
  const std::uint64_t n = co_await kyoto::io::copy(rd, wr);
  EXPECT_EQ(n, 0u);
  {
    tcp_write_half drop = std::move(wr);
  }  // the client's read ends
  co_await client;
}

// ---- tcp_stream.rs (what applies), errors ----

KYOTO_TEST(TcpStream, NodelayAndTtl) {
  auto [client, server] = co_await connected_pair();
  client.set_nodelay(true);
  EXPECT_TRUE(client.nodelay());
  client.set_nodelay(false);
  EXPECT_FALSE(client.nodelay());
  client.set_ttl(33);
  EXPECT_EQ(client.ttl(), 33);
}

// tokio's read_closed / poll_read_ready "detect the client disconnect".
KYOTO_TEST(TcpStream, ReadAfterThePeerIsDroppedGivesEndOfStream) {
  auto [client, server] = co_await connected_pair();
  co_await client.write_all(bytes("ping"));
  {
    tcp_stream drop = std::move(client);
  }
  std::array<std::byte, 4> buf{};
  co_await server.read_exact(buf);
  EXPECT_EQ(text(buf), "ping");
  const std::size_t n = co_await server.read(buf);
  EXPECT_EQ(n, 0u);
  expect_error(co_await error_of(server.read_exact(buf)), kyoto::io::errc::unexpected_eof,
               "kyoto::net::tcp_stream::read_exact");
}

// A reset (SO_LINGER {1, 0}, then close) is an error on that connection
// only: its peer's read throws ECONNRESET; another connection of the same
// listener keeps working.
KYOTO_TEST(TcpStream, APeerResetFailsOnlyThatStream) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  tcp_stream client1 = co_await tcp_stream::connect(listener.local_addr());
  auto [server1, peer1] = co_await listener.accept();
  tcp_stream client2 = co_await tcp_stream::connect(listener.local_addr());
  auto [server2, peer2] = co_await listener.accept();
  const linger reset{1, 0};
  KYOTO_ASSERT_EQ(
      ::setsockopt(server1.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  {
    tcp_stream drop = std::move(server1);
  }  // sends RST
  std::array<std::byte, 8> buf{};
  expect_error(co_await error_of(client1.read(buf)), ECONNRESET, "kyoto::net::tcp_stream::read");
  co_await client2.write_all(bytes("still"));
  std::array<std::byte, 5> five{};
  co_await server2.read_exact(five);
  EXPECT_EQ(text(five), "still");
  co_await server2.write_all(bytes("fine"));
  std::array<std::byte, 4> four{};
  co_await client2.read_exact(four);
  EXPECT_EQ(text(four), "fine");
}

// ---- split halves under load ----

kyoto::task<> send_pattern(tcp_write_half w, std::size_t total, std::uint8_t seed) {
  std::vector<std::byte> data(total);
  for (std::size_t i = 0; i < total; ++i)
    data[i] = static_cast<std::byte>(i * 31 + seed);
  std::span<const std::byte> rest(data);
  while (!rest.empty()) {
    const std::size_t n = std::min<std::size_t>(rest.size(), std::size_t{48} * 1024);
    co_await w.write_all(rest.first(n));
    rest = rest.subspan(n);
  }
}  // `w` goes: the peer reads end of stream

kyoto::task<std::size_t> check_pattern(tcp_read_half r, std::uint8_t seed) {
  std::array<std::byte, std::size_t{16} * 1024> buf{};
  std::size_t total = 0;
  std::size_t wrong = 0;
  for (;;) {
    const std::size_t n = co_await r.read(buf);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] != static_cast<std::byte>((total + i) * 31 + seed)) ++wrong;
    }
    total += n;
  }
  EXPECT_EQ(wrong, 0u);
  co_return total;
}

// Both halves of both ends in four tasks on two workers: 1 MiB each way.
KYOTO_TEST_WITH(TcpIntoSplit, HalvesMoveAMebibyteEachWayFromConcurrentTasks,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr std::size_t mib = std::size_t{1024} * 1024;
  auto [client, server] = co_await connected_pair();
  auto [cr, cw] = std::move(client).split();
  auto [sr, sw] = std::move(server).split();
  auto up = kyoto::spawn(send_pattern(std::move(cw), mib, 1));
  auto down = kyoto::spawn(send_pattern(std::move(sw), mib, 2));
  auto got_up = kyoto::spawn(check_pattern(std::move(sr), 1));
  auto got_down = kyoto::spawn(check_pattern(std::move(cr), 2));
  co_await up;
  co_await down;
  const std::size_t n_up = co_await got_up;
  const std::size_t n_down = co_await got_down;
  EXPECT_EQ(n_up, mib);
  EXPECT_EQ(n_down, mib);
}

}  // namespace
