// kyoto::net::unix_listener, unix_stream and unix_socket_addr: ports of
// tokio's tests/uds_stream.rs and tests/uds_split.rs (tokio 1.24) where they
// apply, then addresses, errors, cancel safety and the accept back-off.
//
// Not ported: try_read_write, try_read_buf, poll_read_ready and
// poll_write_ready (kyoto has no try_* or readiness API). epollhup is
// ported as what a kyoto client sees: a connect completes at once on a
// Unix socket, and the listener's close then resets the connection.
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "net_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <kyoto/io/detail/io_op.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace fs = std::filesystem;

namespace {

using kyoto::net::unix_listener;
using kyoto::net::unix_read_half;
using kyoto::net::unix_socket_addr;
using kyoto::net::unix_stream;
using kyoto::net::unix_write_half;
using namespace kyoto::test;

/// The address's path, or "<not a path>".
std::string path_of(const unix_socket_addr& a) {
  const auto p = a.as_pathname();
  return p ? p->string() : "<not a path>";
}

// tokio uds_stream.rs: accept_read_write, on every runtime flavour.
class UnixFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(UnixFlavours, AcceptReadWrite) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    temp_dir dir;
    const fs::path sock_path = dir / "connect.sock";
    unix_listener listener = unix_listener::bind(sock_path);
    auto [accepted, client] =
        co_await kyoto::try_join(listener.accept(), unix_stream::connect(sock_path));
    unix_stream server = std::move(accepted.first);
    EXPECT_TRUE(accepted.second.is_unnamed());
    co_await client.write_all("hello");
    {
      unix_stream drop = std::move(client);
    }
    std::string got;
    co_await kyoto::io::read_to_string(server, got);
    EXPECT_EQ(got, "hello");
    std::array<std::byte, 8> buf{};
    const std::size_t n = co_await server.read(buf);
    EXPECT_EQ(n, 0u);
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(UnixFlavours);

// tokio uds_stream.rs: shutdown
KYOTO_TEST(UnixStream, ShutdownGivesThePeerEndOfStream) {
  temp_dir dir;
  const fs::path sock_path = dir / "connect.sock";
  unix_listener listener = unix_listener::bind(sock_path);
  auto [accepted, client] =
      co_await kyoto::try_join(listener.accept(), unix_stream::connect(sock_path));
  co_await client.shutdown();
  std::array<std::byte, 1> buf{};
  const std::size_t n = co_await accepted.first.read(buf);
  EXPECT_EQ(n, 0u);
}

// tokio uds_stream.rs: epollhup (see the file comment)
KYOTO_TEST(UnixStream, ClosingTheListenerResetsAConnectionItDidNotAccept) {
  temp_dir dir;
  const fs::path sock_path = dir / "connect.sock";
  auto listener = std::make_unique<unix_listener>(unix_listener::bind(sock_path));
  unix_stream client = co_await unix_stream::connect(sock_path);
  listener.reset();
  std::array<std::byte, 8> buf{};
  expect_error(co_await error_of(client.read(buf)), ECONNRESET, "kyoto::net::unix_stream::read");
}

kyoto::task<std::string> send_recv_all(unix_read_half& rd, unix_write_half& wr,
                                       std::string_view input) {
  co_await wr.write_all(input);
  co_await wr.shutdown();
  std::string out;
  co_await kyoto::io::read_to_string(rd, out);
  co_return out;
}

// tokio uds_split.rs: split (with owned halves)
KYOTO_TEST(UnixStream, SplitHalvesSendAndReceiveToTheEnd) {
  auto [a, b] = unix_stream::pair();
  auto [a_read, a_write] = std::move(a).split();
  auto [b_read, b_write] = std::move(b).split();
  auto [a_response, b_response] = co_await kyoto::try_join(send_recv_all(a_read, a_write, "A"),
                                                           send_recv_all(b_read, b_write, "B"));
  EXPECT_EQ(a_response, "B");
  EXPECT_EQ(b_response, "A");
}

// tokio tcp_into_split.rs: drop_write, for Unix sockets
KYOTO_TEST(UnixStream, DroppingTheWriteHalfEndsThePeersStream) {
  auto [a, b] = unix_stream::pair();
  auto [a_read, a_write] = std::move(a).split();
  co_await b.write_all("split");
  std::array<std::byte, 32> buf{};
  const std::size_t n = co_await a_read.read(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "split");
  {
    unix_write_half drop = std::move(a_write);
  }
  const std::size_t eof = co_await b.read(buf);
  EXPECT_EQ(eof, 0u);
  co_await b.write_all("still open");  // only a's write side is shut
  const std::size_t m = co_await a_read.read(buf);
  EXPECT_EQ(text(std::span(buf).first(m)), "still open");
}

KYOTO_TEST(UnixStream, PairIsConnectedAndUnnamed) {
  auto [a, b] = unix_stream::pair();
  co_await a.write_all("ping");
  std::array<std::byte, 4> buf{};
  co_await b.read_exact(buf);
  EXPECT_EQ(text(buf), "ping");
  EXPECT_TRUE(a.local_addr().is_unnamed());
  EXPECT_TRUE(a.peer_addr().is_unnamed());
  EXPECT_EQ(a.local_addr().to_string(), "(unnamed)");
  const auto cred = b.peer_cred();
  EXPECT_EQ(cred.pid, ::getpid());
  EXPECT_EQ(cred.uid, ::getuid());
  EXPECT_EQ(cred.gid, ::getgid());
}

KYOTO_TEST(UnixStream, AddressesArePathsOnTheListenersSide) {
  temp_dir dir;
  const fs::path sock_path = dir / "addr.sock";
  unix_listener listener = unix_listener::bind(sock_path.string());
  EXPECT_EQ(path_of(listener.local_addr()), sock_path.string());
  unix_stream client = co_await unix_stream::connect(sock_path);
  auto [server, peer] = co_await listener.accept();
  EXPECT_TRUE(peer.is_unnamed());
  EXPECT_EQ(path_of(client.peer_addr()), sock_path.string());
  EXPECT_EQ(client.peer_addr(), unix_socket_addr::from_pathname(sock_path));
  EXPECT_TRUE(client.local_addr().is_unnamed());
  EXPECT_EQ(server.local_addr().to_string(), sock_path.string());
  EXPECT_TRUE(server.peer_addr().is_unnamed());
  auto [r, w] = std::move(server).split();
  EXPECT_EQ(r.local_addr(), w.local_addr());
  EXPECT_TRUE(w.peer_addr().is_unnamed());
}

KYOTO_TEST(UnixStream, AbstractNamesLeaveNoFile) {
  const std::string name = "kyoto-uds-test-" + std::to_string(::getpid());
  const unix_socket_addr addr = unix_socket_addr::from_abstract_name(name);
  EXPECT_TRUE(addr.is_abstract());
  EXPECT_EQ(addr.to_string(), "@" + name);
  unix_listener listener = unix_listener::bind(addr);
  EXPECT_EQ(listener.local_addr().as_abstract_name(), name);
  EXPECT_FALSE(listener.local_addr().as_pathname().has_value());
  unix_stream client = co_await unix_stream::connect(addr);
  auto [server, peer] = co_await listener.accept();
  co_await client.write_all("abstract");
  std::array<std::byte, 8> buf{};
  co_await server.read_exact(buf);
  EXPECT_EQ(text(buf), "abstract");
  EXPECT_EQ(client.peer_addr(), addr);
}

// ---- unix_socket_addr ----

TEST(UnixSocketAddr, PathsThatCannotBeAddressesAreRejectedByName) {
  const std::string long_path = "/tmp/" + std::string(120, 'x');
  for (const std::string& p : {std::string(), long_path, std::string("/tmp/a\0b", 8)}) {
    const std::string shown = p.substr(0, p.find('\0'));  // what() ends at a NUL
    kyoto::test::expect_throws<std::invalid_argument>(
        [&] { (void)unix_socket_addr::from_pathname(p); }, "\"" + shown);
  }
  EXPECT_THROW((void)unix_socket_addr::from_abstract_name(std::string(108, 'n')),
               std::invalid_argument);
  // 107 bytes fit (one is kept for the NUL).
  const std::string fits = "/" + std::string(106, 'y');
  EXPECT_EQ(path_of(unix_socket_addr::from_pathname(fits)), fits);
}

TEST(UnixSocketAddr, KindsAndEquality) {
  const unix_socket_addr unnamed;
  EXPECT_TRUE(unnamed.is_unnamed());
  EXPECT_FALSE(unnamed.is_abstract());
  EXPECT_FALSE(unnamed.as_pathname().has_value());
  EXPECT_FALSE(unnamed.as_abstract_name().has_value());
  const auto p = unix_socket_addr::from_pathname("/run/x.sock");
  EXPECT_FALSE(p.is_unnamed());
  EXPECT_FALSE(p.is_abstract());
  EXPECT_EQ(p.to_string(), "/run/x.sock");
  EXPECT_EQ(p, unix_socket_addr::from_pathname(std::string("/run/x.sock")));
  EXPECT_FALSE(p == unix_socket_addr::from_pathname("/run/y.sock"));
  const auto a = unix_socket_addr::from_abstract_name(std::string("a\0b", 3));
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.as_abstract_name(), std::string("a\0b", 3));
  EXPECT_FALSE(a == unix_socket_addr::from_abstract_name("a"));
  EXPECT_FALSE(a == unnamed);
  // From the kernel: a path with its NUL counted is the same address.
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, "/run/x.sock", 12);
  const unix_socket_addr k(reinterpret_cast<const sockaddr*>(&sun),
                           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 12));
  EXPECT_EQ(k, p);
  sockaddr_in not_unix{};
  not_unix.sin_family = AF_INET;
  EXPECT_THROW(unix_socket_addr(reinterpret_cast<const sockaddr*>(&not_unix), sizeof not_unix),
               std::invalid_argument);
}

// ---- errors ----

KYOTO_TEST(UnixStream, ConnectingToAMissingPathIsEnoentNamingThePath) {
  temp_dir dir;
  const fs::path missing = dir / "missing.sock";
  expect_error(co_await error_of(unix_stream::connect(missing)), ENOENT,
               "kyoto::net::unix_stream::connect \"" + missing.string() + '"');
}

KYOTO_TEST(UnixStream, ConnectingToAClosedListenersFileIsRefused) {
  temp_dir dir;
  const fs::path path = dir / "closed.sock";
  {
    unix_listener l = unix_listener::bind(path);
  }  // the file stays
  EXPECT_TRUE(fs::exists(path));
  expect_error(co_await error_of(unix_stream::connect(path)), ECONNREFUSED,
               "kyoto::net::unix_stream::connect");
}

TEST(UnixListener, BindingAnExistingPathIsEaddrinuse) {
  temp_dir dir;
  const fs::path path = dir / "taken.sock";
  unix_listener first = unix_listener::bind(path);
  if (const auto e = kyoto::test::expect_throws<std::system_error>(
          [&] { unix_listener second = unix_listener::bind(path); }, path.string())) {
    expect_error(e, EADDRINUSE, "kyoto::net::unix_listener::bind");
  }
  if (const auto e = kyoto::test::expect_throws<std::system_error>(
          [&] { (void)unix_listener::bind(dir / "no-such-dir" / "x.sock"); })) {
    expect_error(e, ENOENT, "kyoto::net::unix_listener::bind");
  }
}

// ---- cancel safety ----

// The connection waits in the backlog before the select starts and the
// other branch is ready: the accept is submitted, completes in the kernel
// at once, and is then cancelled. The next accept must return it.
KYOTO_TEST(UnixListener, AConnectionACancelledAcceptGotIsReturnedNext) {
  temp_dir dir;
  const fs::path path = dir / "accept.sock";
  unix_listener listener = unix_listener::bind(path);
  unix_stream client = co_await unix_stream::connect(path);
  EXPECT_TRUE(backlog_has_connection(listener));
  EXPECT_TRUE(co_await cancelled_at_once(listener.accept()));
  EXPECT_FALSE(backlog_has_connection(listener)) << "the cancelled accept took it";
  auto [server, peer] = co_await within_10s(listener.accept());
  co_await client.write_all("kept");
  std::array<std::byte, 4> buf{};
  co_await server.read_exact(buf);
  EXPECT_EQ(text(buf), "kept");
}

// The bytes arrive before the select starts (a peek confirms them) and the
// other branch is ready: the read completes in the kernel and is cancelled;
// the next read returns the bytes.
KYOTO_TEST(UnixStream, BytesACancelledReadGotAreReadNext) {
  auto [a, b] = unix_stream::pair();
  co_await a.write_all("cancel safe");
  std::array<std::byte, 64> buf{};
  const std::size_t peeked = co_await b.peek(buf);
  EXPECT_EQ(peeked, 11u);
  std::array<std::byte, 64> lost{};
  EXPECT_TRUE(co_await cancelled_at_once(b.read(lost)));
  EXPECT_EQ(queued_bytes(b), 0) << "the cancelled read took the bytes";
  const std::size_t n = co_await within_10s(b.read(buf));
  EXPECT_EQ(text(std::span(buf).first(n)), "cancel safe");
}

// ---- out of descriptors ----

std::atomic<int> accepts_to_fail{0};
std::atomic<int> accepts_failed{0};

/// Turns the next accepts_to_fail accept completions into EMFILE, closing
/// the connection each took (as if the kernel had had no descriptor for it).
int fail_accepts(std::uint8_t opcode, int result) noexcept {
  if (opcode != kyoto::detail::opcode::accept || result < 0) return result;
  if (accepts_to_fail.fetch_sub(1) <= 0) return result;
  ::close(result);
  accepts_failed.fetch_add(1);
  return -EMFILE;
}

/// Removes the fault injector, even if the test fails.
struct injector_guard {
  injector_guard() { kyoto::detail::set_fault_injector(&fail_accepts); }
  ~injector_guard() { kyoto::detail::set_fault_injector(nullptr); }
};

KYOTO_TEST(UnixListener, AcceptBacksOffOnEmfileAndKeepsServing) {
  temp_dir dir;
  const fs::path path = dir / "emfile.sock";
  unix_listener listener = unix_listener::bind(path);
  unix_stream lost = co_await unix_stream::connect(path);
  unix_stream served = co_await unix_stream::connect(path);
  accepts_to_fail = 1;
  accepts_failed = 0;
  injector_guard guard;
  auto [server, peer] = co_await listener.accept();
  EXPECT_EQ(accepts_failed.load(), 1) << "the first accept failed, the retry took the second";
  co_await server.write_all("served");
  std::array<std::byte, 6> buf{};
  co_await served.read_exact(buf);
  EXPECT_EQ(text(buf), "served");
  std::array<std::byte, 1> one{};
  const std::size_t eof = co_await lost.read(one);  // its connection was closed
  EXPECT_EQ(eof, 0u);
}

}  // namespace
