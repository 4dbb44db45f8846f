// kyoto::net::unix_datagram: a port of tokio's tests/uds_datagram.rs
// (tokio 1.24), then addresses, errors, shutdown and the cancel safety of
// the receives (the datagram stash, shared with udp_socket).
//
// Ported as what they check, written with kyoto's awaited operations (kyoto
// has no poll_* or try_* socket API): echo, echo_from, split,
// send_to_recv_from_poll, send_recv_poll and try_send_to_recv_from (five
// round trips). try_send_recv_never_block and try_recv_buf_never_block
// filled the receiver's queue with try_send until WouldBlock: here a
// sender fills it until its send waits, and every datagram is then
// received once, in order.
#include "bytes.hpp"
#include "errors.hpp"
#include "net_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using kyoto::net::shutdown_how;
using kyoto::net::unix_datagram;
using kyoto::net::unix_socket_addr;
using namespace kyoto::test;

/// Echoes every datagram back to its sender, if it has a path.
kyoto::task<> echo_server(std::shared_ptr<unix_datagram> socket) {
  std::array<std::byte, 1024> buf{};
  for (;;) {
    auto [len, peer] = co_await socket->recv_from(buf);
    if (auto path = peer.as_pathname()) {
      co_await socket->send_to(std::span<const std::byte>(buf).first(len), *path);
    }
  }
}

// ---- tokio uds_datagram.rs ----

/// tokio's echo tests' setup: an echo server bound in a temp dir, and a
/// client bound next to it and connected to it. The server task is
/// aborted when this goes.
struct echo_setup {
  temp_dir dir;
  fs::path server_path = dir / "server.sock";
  kyoto::join_handle<void> server =
      kyoto::spawn(echo_server(std::make_shared<unix_datagram>(unix_datagram::bind(server_path))));
  unix_datagram socket = unix_datagram::bind(dir / "client.sock");

  echo_setup() { socket.connect(server_path); }
  echo_setup(const echo_setup&) = delete;
  echo_setup& operator=(const echo_setup&) = delete;
  ~echo_setup() { server.abort(); }
};

KYOTO_TEST(UnixDatagram, Echo) {
  echo_setup e;
  co_await e.socket.send("ECHO");
  std::array<std::byte, 16> buf{};
  const std::size_t len = co_await within_10s(e.socket.recv(buf));
  EXPECT_EQ(text(std::span(buf).first(len)), "ECHO");
}

KYOTO_TEST(UnixDatagram, EchoFrom) {
  echo_setup e;
  co_await e.socket.send("ECHO");
  std::array<std::byte, 16> buf{};
  auto [len, addr] = co_await within_10s(e.socket.recv_from(buf));
  EXPECT_EQ(text(std::span(buf).first(len)), "ECHO");
  EXPECT_EQ(addr.as_pathname(), std::optional<fs::path>(e.server_path));
}

KYOTO_TEST(UnixDatagram, SplitSendAndRecvFromTwoTasks) {
  temp_dir dir;
  const fs::path path = dir / "split.sock";
  auto s = std::make_shared<unix_datagram>(unix_datagram::bind(path));
  // One socket, shared by a sending and a receiving task (tokio's Arc).
  co_await kyoto::try_join(
      [](std::shared_ptr<unix_datagram> sender, fs::path to) -> kyoto::task<> {
        co_await sender->send_to("hello", to);
      }(s, path),
      [](std::shared_ptr<unix_datagram> receiver) -> kyoto::task<> {
        std::array<std::byte, 32> buf{};
        auto [len, from] = co_await receiver->recv_from(buf);
        EXPECT_EQ(text(std::span(buf).first(len)), "hello");
      }(s));
}

KYOTO_TEST(UnixDatagram, SendToRecvFrom) {
  temp_dir dir;
  const fs::path sender_path = dir / "sender.sock";
  const fs::path receiver_path = dir / "receiver.sock";
  unix_datagram sender = unix_datagram::bind(sender_path);
  unix_datagram receiver = unix_datagram::bind(receiver_path);
  const std::size_t sent = co_await sender.send_to("hello", receiver_path);
  EXPECT_EQ(sent, 5u);
  std::array<std::byte, 32> buf{};
  auto [len, addr] = co_await receiver.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(len)), "hello");
  EXPECT_EQ(addr.as_pathname(), std::optional<fs::path>(sender_path));
}

KYOTO_TEST(UnixDatagram, SendRecvConnected) {
  temp_dir dir;
  const fs::path sender_path = dir / "sender.sock";
  const fs::path receiver_path = dir / "receiver.sock";
  unix_datagram sender = unix_datagram::bind(sender_path);
  unix_datagram receiver = unix_datagram::bind(receiver_path);
  sender.connect(receiver_path);
  receiver.connect(sender_path);
  co_await sender.send("hello");
  std::array<std::byte, 32> buf{};
  const std::size_t len = co_await receiver.recv(buf);
  EXPECT_EQ(text(std::span(buf).first(len)), "hello");
  EXPECT_EQ(sender.peer_addr().as_pathname(), std::optional<fs::path>(receiver_path));
  EXPECT_EQ(receiver.local_addr().as_pathname(), std::optional<fs::path>(receiver_path));
}

KYOTO_TEST(UnixDatagram, FiveRoundTripsKeepTheSendersPath) {
  temp_dir dir;
  const fs::path server_path = dir / "server.sock";
  const fs::path client_path = dir / "client.sock";
  unix_datagram server = unix_datagram::bind(server_path);
  unix_datagram client = unix_datagram::bind(client_path);
  for (int i = 0; i < 5; ++i) {
    const std::size_t n = co_await client.send_to("hello world", server_path);
    EXPECT_EQ(n, 11u);
    std::array<std::byte, 512> buf{};
    auto [len, addr] = co_await server.recv_from(buf);
    EXPECT_EQ(len, 11u);
    EXPECT_EQ(addr.as_pathname(), std::optional<fs::path>(client_path));
    EXPECT_EQ(text(std::span(buf).first(len)), "hello world");
  }
}

// try_send_recv_never_block: the sender fills the receiver's queue
// (net.unix.max_dgram_qlen) until a send waits; the receiver then takes
// every datagram, once and in order, and the waiting send completes.
KYOTO_TEST(UnixDatagram, ASendWaitsWhileTheQueueIsFullAndNothingIsLost) {
  auto [a, b] = unix_datagram::pair();
  constexpr std::string_view payload = "PAYLOAD";
  int sent = 0;
  for (;;) {
    auto v = co_await kyoto::select_biased(a.send(payload), kyoto::time::sleep(50ms));
    if (v.index() == 1) break;  // the queue is full: the send waits
    EXPECT_EQ(std::get<0>(v), payload.size());
    ++sent;
    KYOTO_ASSERT_LT(sent, 1'000'000);
  }
  EXPECT_GT(sent, 0);
  // The send the timer cancelled may have gone out: count what arrives.
  int received = 0;
  std::array<std::byte, 16> buf{};
  for (;;) {
    auto v = co_await kyoto::select_biased(b.recv(buf), kyoto::time::sleep(50ms));
    if (v.index() == 1) break;
    EXPECT_EQ(text(std::span(buf).first(std::get<0>(v))), payload);
    ++received;
  }
  EXPECT_TRUE(received == sent || received == sent + 1) << received << " of " << sent;
  // The queue has room again: a send completes at once.
  co_await within_10s(a.send(payload));
  const std::size_t n = co_await within_10s(b.recv(buf));
  EXPECT_EQ(n, payload.size());
}

// ---- pair, unbound, addresses ----

KYOTO_TEST(UnixDatagram, APairIsConnectedAndUnnamed) {
  auto [a, b] = unix_datagram::pair();
  co_await a.send("ping");
  std::array<std::byte, 16> buf{};
  auto [n, from] = co_await b.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "ping");
  EXPECT_TRUE(from.is_unnamed());
  EXPECT_TRUE(a.local_addr().is_unnamed());
  EXPECT_TRUE(b.peer_addr().is_unnamed());
  co_await b.send("pong");
  const std::size_t m = co_await a.recv(buf);
  EXPECT_EQ(text(std::span(buf).first(m)), "pong");
}

KYOTO_TEST(UnixDatagram, AnUnboundSocketSendsAsAnUnnamedSender) {
  temp_dir dir;
  const fs::path server_path = dir / "server.sock";
  unix_datagram server = unix_datagram::bind(server_path);
  unix_datagram client = unix_datagram::unbound();
  EXPECT_TRUE(client.local_addr().is_unnamed());
  co_await client.send_to("anonymous", server_path);
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await server.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "anonymous");
  EXPECT_TRUE(from.is_unnamed());
  EXPECT_EQ(from.as_pathname(), std::nullopt);
}

KYOTO_TEST(UnixDatagram, AbstractNamesWorkWithoutAFile) {
  const std::string name = "kyoto-dgram-test-" + std::to_string(::getpid());
  const unix_socket_addr addr = unix_socket_addr::from_abstract_name(name);
  unix_datagram server = unix_datagram::bind(addr);
  unix_datagram client = unix_datagram::unbound();
  co_await client.send_to("abstract", addr);
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await server.recv_from(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "abstract");
  EXPECT_EQ(server.local_addr(), addr);
  EXPECT_EQ(server.local_addr().as_abstract_name(), std::optional(name));
}

KYOTO_TEST(UnixDatagram, ALongDatagramIsCutToTheBuffer) {
  auto [a, b] = unix_datagram::pair();
  co_await a.send("0123456789");
  co_await a.send("next");
  std::array<std::byte, 4> small{};
  const std::size_t n = co_await b.recv(small);
  EXPECT_EQ(text(std::span(small).first(n)), "0123");
  std::array<std::byte, 16> buf{};
  const std::size_t m = co_await b.recv(buf);
  EXPECT_EQ(text(std::span(buf).first(m)), "next");  // the rest was discarded
}

KYOTO_TEST(UnixDatagram, AnEmptyDatagramIsSentAndReceived) {
  auto [a, b] = unix_datagram::pair();
  const std::size_t sent = co_await a.send(std::string_view());
  EXPECT_EQ(sent, 0u);
  co_await a.send("after");
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(co_await b.recv(buf), 0u);
  const std::size_t n = co_await b.recv(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "after");
}

// ---- shutdown ----

KYOTO_TEST(UnixDatagram, ShutdownReadWakesAWaitingRecvWithZero) {
  auto [a, b] = unix_datagram::pair();
  auto shared = std::make_shared<unix_datagram>(std::move(b));
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::join_handle<std::size_t> h = kyoto::spawn(
      [](std::shared_ptr<unix_datagram> s,
         kyoto::sync::oneshot::sender<int> started) -> kyoto::task<std::size_t> {
        std::array<std::byte, 16> buf{};
        (void)started.send(1);
        co_return co_await s->recv(buf);
      },
      shared, std::move(started_tx));
  (void)co_await std::move(started_rx);
  shared->shutdown(shutdown_how::read);
  EXPECT_EQ(co_await within_10s(std::move(h)), 0u);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(co_await shared->recv(buf), 0u);  // and every later one
}

KYOTO_TEST(UnixDatagram, ASendAfterShutdownWriteIsEpipe) {
  auto [a, b] = unix_datagram::pair();
  a.shutdown(shutdown_how::write);
  const auto e = co_await error_of(a.send("late"));
  expect_error(e, EPIPE, "kyoto::net::unix_datagram::send");
}

// ---- errors ----

KYOTO_TEST(UnixDatagram, BindingAnExistingPathIsEaddrinuseNamingIt) {
  temp_dir dir;
  const fs::path path = dir / "taken.sock";
  unix_datagram first = unix_datagram::bind(path);
  const auto e =
      expect_throws<std::system_error>([&] { (void)unix_datagram::bind(path); },
                                       "kyoto::net::unix_datagram::bind \"" + path.string() + "\"");
  if (e) {
    EXPECT_EQ(e->code(), std::error_code(EADDRINUSE, std::system_category()));
  }
  co_return;
}

KYOTO_TEST(UnixDatagram, SendingToAMissingPathIsEnoentNamingTheOperation) {
  temp_dir dir;
  unix_datagram s = unix_datagram::unbound();
  const auto e = co_await error_of(s.send_to("x", dir / "nobody.sock"));
  expect_error(e, ENOENT, "kyoto::net::unix_datagram::send_to");
}

KYOTO_TEST(UnixDatagram, ConnectingToAMissingPathNamesIt) {
  temp_dir dir;
  const fs::path path = dir / "nobody.sock";
  unix_datagram s = unix_datagram::unbound();
  const auto e = expect_throws<std::system_error>(
      [&] { s.connect(path); }, "kyoto::net::unix_datagram::connect \"" + path.string() + "\"");
  if (e) {
    EXPECT_EQ(e->code(), std::error_code(ENOENT, std::system_category()));
  }
  co_return;
}

KYOTO_TEST(UnixDatagram, SendingUnconnectedIsAnError) {
  unix_datagram s = unix_datagram::unbound();
  const auto e = co_await error_of(s.send("x"));
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::string(e->what()).find("kyoto::net::unix_datagram::send"), std::string::npos);
  expect_throws<std::system_error>([&] { (void)s.peer_addr(); },
                                   "kyoto::net::unix_datagram::peer_addr");
}

KYOTO_TEST(UnixDatagram, APathTooLongIsInvalidArgument) {
  const std::string path(200, 'x');
  expect_throws<std::invalid_argument>([&] { (void)unix_datagram::bind(fs::path(path)); },
                                       "longer than the 107 bytes");
  unix_datagram s = unix_datagram::unbound();
  expect_throws<std::invalid_argument>([&] { (void)s.send_to("x", fs::path(path)); },
                                       "longer than the 107 bytes");
  co_return;
}

// ---- cancel safety ----

// The datagram is queued before the select starts and the other branch is
// ready: the recv_from is submitted, completes in the kernel with the
// datagram, and is then cancelled. It must come back from the next
// receive, with its sender's path.
KYOTO_TEST(UnixDatagram, ADatagramACancelledRecvFromGotIsReturnedNext) {
  temp_dir dir;
  const fs::path a_path = dir / "a.sock";
  unix_datagram a = unix_datagram::bind(a_path);
  unix_datagram b = unix_datagram::bind(dir / "b.sock");
  co_await a.send_to("kept", dir / "b.sock");
  std::array<std::byte, 32> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(b.recv_from(lost)));
  EXPECT_EQ(queued_bytes(b), 0);  // the kernel's queue is empty: the stash has it
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await within_10s(b.recv_from(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "kept");
  EXPECT_EQ(from.as_pathname(), std::optional<fs::path>(a_path));
}

// A datagram a cancelled connected recv() got comes back from recv_from
// with the connected peer's address.
KYOTO_TEST(UnixDatagram, ADatagramACancelledRecvGotHasThePeersAddress) {
  temp_dir dir;
  const fs::path a_path = dir / "a.sock";
  unix_datagram a = unix_datagram::bind(a_path);
  unix_datagram b = unix_datagram::bind(dir / "b.sock");
  b.connect(a_path);
  co_await a.send_to("first", dir / "b.sock");
  co_await a.send_to("second", dir / "b.sock");
  std::array<std::byte, 32> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(b.recv(lost)));
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await within_10s(b.recv_from(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "first");
  EXPECT_EQ(from.as_pathname(), std::optional<fs::path>(a_path));
  const std::size_t m = co_await within_10s(b.recv(buf));
  EXPECT_EQ(text(std::span(buf).first(m)), "second");
}

// From an unnamed sender: the stashed datagram's source stays unnamed.
KYOTO_TEST(UnixDatagram, AStashedDatagramFromAnUnnamedSenderStaysUnnamed) {
  auto [a, b] = unix_datagram::pair();
  co_await a.send("anon");
  std::array<std::byte, 32> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(b.recv_from(lost)));
  std::array<std::byte, 32> buf{};
  auto [n, from] = co_await within_10s(b.recv_from(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "anon");
  EXPECT_TRUE(from.is_unnamed());
}

}  // namespace
