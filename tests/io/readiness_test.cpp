// The readiness backend (src/io/readiness.hpp), forced for this whole
// binary with KYOTO_IO_BACKEND=epoll: what its emulation of io_uring must
// get right beyond what the I/O suites check when CI runs them under it —
// a descriptor number reused while epoll still knows the old one, a
// MSG_WAITALL read assembled from many readiness events, a connect that
// fails in the background, many connections at once on several workers,
// files that go to the file pool, a socket's registration kept between
// waits and dropped by a worker it left, and the variable's validation.
#include "bytes.hpp"
#include "errors.hpp"
#include "net_support.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;
using namespace kyoto::test;

/// Awaits `op` (a void task or handle); throws if it takes 10 s (a lost
/// readiness event would hang it).
template <class Op>
kyoto::task<> done_within_10s(Op op) {
  auto r = co_await kyoto::time::timeout(10s, std::move(op));
  if (!r.has_value()) throw std::runtime_error("nothing within 10 s: a readiness event was lost");
}

// Before main: no thread reads the environment yet.
// NOLINTNEXTLINE(concurrency-mt-unsafe, cert-err58-cpp)
const int forced = ::setenv("KYOTO_IO_BACKEND", "epoll", 1);

KYOTO_TEST(Readiness, AReusedDescriptorNumberIsWatchedAfresh) {
  KYOTO_ASSERT_EQ(forced, 0);
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  int old_fd = -1;
  {
    auto [client, server] = co_await connected_pair(listener);
    old_fd = client.native_handle();
    // A read that parks (epoll now watches this descriptor) and is
    // cancelled by the timeout: the registration outlives it.
    std::array<std::byte, 1> buf{};
    auto r = co_await kyoto::time::timeout(5ms, client.read(buf));
    KYOTO_ASSERT_FALSE(r.has_value());
  }  // both closed: the number is free again
  auto [client, server] = co_await connected_pair(listener);
  KYOTO_ASSERT_EQ(client.native_handle(), old_fd) << "the lowest free number was not reused";
  auto reader = kyoto::spawn([](tcp_stream& c) -> kyoto::task<std::string> {
    std::array<std::byte, 3> buf{};
    co_await done_within_10s(c.read_exact(buf));
    co_return text(buf);
  }(client));
  co_await kyoto::time::sleep(2ms);  // the read parks first (either order must work)
  co_await server.write_all(bytes("new"));
  EXPECT_EQ(co_await std::move(reader), "new");
}

KYOTO_TEST(Readiness, ReadExactAssemblesManySmallWrites) {
  auto [client, server] = co_await connected_pair();
  constexpr std::size_t total = 4096;
  auto reader = kyoto::spawn([](tcp_stream& c) -> kyoto::task<std::vector<std::byte>> {
    std::vector<std::byte> buf(total);
    co_await done_within_10s(c.read_exact(buf));
    co_return buf;
  }(client));
  std::vector<std::byte> sent(total);
  for (std::size_t i = 0; i < total; ++i)
    sent[i] = static_cast<std::byte>(i * 7);
  for (std::size_t at = 0; at < total; at += 64) {
    co_await server.write_all(std::span<const std::byte>(sent).subspan(at, 64));
    co_await kyoto::yield_now();  // each its own readiness event, often
  }
  EXPECT_EQ(co_await std::move(reader), sent);
}

KYOTO_TEST(Readiness, AConnectRefusedInTheBackgroundFailsWithEconnrefused) {
  socket_addr closed;
  {
    tcp_listener l = co_await tcp_listener::bind(socket_addr::localhost_v4());
    closed = l.local_addr();
  }  // nothing listens there now
  const auto e =
      co_await expect_throws_async<std::system_error>([&] { return tcp_stream::connect(closed); });
  KYOTO_ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code().value(), ECONNREFUSED) << e->what();
}

KYOTO_TEST(Readiness, AFileGoesThroughTheFilePool) {
  char dir[] = "/tmp/kyoto-readiness-XXXXXX";
  KYOTO_ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/f";
  std::string data(1 << 20, 'x');
  for (std::size_t i = 0; i < data.size(); i += 4096)
    data[i] = static_cast<char>('a' + (i / 4096) % 26);
  co_await kyoto::fs::write(path, data);                               // openat, write, close
  EXPECT_EQ((co_await kyoto::fs::metadata(path)).len(), data.size());  // statx
  EXPECT_EQ(co_await kyoto::fs::read_to_string(path), data);
  co_await kyoto::fs::rename(path, path + ".2");
  co_await kyoto::fs::remove_file(path + ".2");
  const auto gone =
      co_await expect_throws_async<std::system_error>([&] { return kyoto::fs::metadata(path); });
  KYOTO_ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->code().value(), ENOENT);
  co_await kyoto::fs::remove_dir(dir);
}

KYOTO_TEST_WITH(Readiness, ManyConnectionsEchoOnTwoWorkers,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = listener.local_addr();
  constexpr int connections = 64;
  constexpr int rounds = 20;
  auto server = kyoto::spawn([](tcp_listener& l) -> kyoto::task<> {
    kyoto::join_set<void> echoes;
    for (int i = 0; i < connections; ++i) {
      auto [conn, peer] = co_await l.accept();
      echoes.spawn([](tcp_stream s) -> kyoto::task<> {
        std::array<std::byte, 16> buf{};
        for (int r = 0; r < rounds; ++r) {
          co_await s.read_exact(buf);
          co_await s.write_all(std::span<const std::byte>(buf));
        }
      }(std::move(conn)));
    }
    while (co_await echoes.join_next()) {
    }
  }(listener));
  kyoto::join_set<bool> clients;
  for (int i = 0; i < connections; ++i) {
    clients.spawn([](socket_addr to, int id) -> kyoto::task<bool> {
      tcp_stream c = co_await tcp_stream::connect(to);
      std::array<std::byte, 16> out{};
      std::array<std::byte, 16> in{};
      for (int r = 0; r < rounds; ++r) {
        out.fill(static_cast<std::byte>(id + r));
        co_await c.write_all(std::span<const std::byte>(out));
        co_await c.read_exact(in);
        if (in != out) co_return false;
      }
      co_return true;
    }(addr, i));
  }
  int ok = 0;
  while (auto r = co_await clients.join_next())
    ok += **r ? 1 : 0;
  EXPECT_EQ(ok, connections);
  co_await done_within_10s(std::move(server));
}

/// This process's epoll instances.
std::set<int> epoll_fds() {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec).string() == "anon_inode:[eventpoll]")
      out.insert(std::stoi(e.path().filename().string()));
  }
  return out;
}

/// The epoll instance a new current_thread runtime made: its descriptor.
int epoll_of(kyoto::runtime& rt) {
  const std::set<int> before = epoll_fds();
  rt.block_on([]() -> kyoto::task<> {
    co_await kyoto::time::sleep(1ms);
  }());
  for (int fd : epoll_fds())
    if (!before.contains(fd)) return fd;
  throw std::runtime_error("the runtime made no epoll instance");
}

/// What epoll instance `epfd` watches (/proc/self/fdinfo: "tfd: N events:
/// HEX ..."): each descriptor and its registered events.
std::map<int, unsigned> watched_by(int epfd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(epfd));
  std::map<int, unsigned> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("tfd:")) continue;
    std::istringstream fields(line);
    std::string tag;
    std::string events;
    int fd = -1;
    unsigned mask = 0;
    fields >> tag >> fd >> events >> std::hex >> mask;
    out[fd] = mask;
  }
  return out;
}

TEST(Readiness, ASocketStaysRegisteredEdgeTriggeredWhileNobodyWaits) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  const int epfd = epoll_of(rt);
  rt.block_on([](int ep) -> kyoto::task<> {
    auto [client, server] = co_await connected_pair();
    std::array<std::byte, 1> buf{};
    // A read that parks (and is given up): the socket is registered.
    KYOTO_ASSERT_FALSE((co_await kyoto::time::timeout(5ms, client.read(buf))).has_value());
    co_await server.write_all(bytes("x"));
    // The runtime waits in epoll, which reports the byte to nobody. A
    // one-shot registration would now be disarmed (no EPOLLIN left).
    co_await kyoto::time::sleep(1ms);
    const auto w = watched_by(ep);
    const auto it = w.find(client.native_handle());
    KYOTO_ASSERT_TRUE(it != w.end()) << "the client socket is not in the epoll set";
    EXPECT_EQ(it->second & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET | EPOLLONESHOT),
              unsigned{EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET})
        << std::hex << it->second;
    co_await done_within_10s(client.read_exact(buf));
    EXPECT_EQ(text(buf), "x");
  }(epfd));
}

TEST(Readiness, AWorkerASocketLeftDropsItFromItsEpoll) {
  // Two current_thread runtimes stand for two workers: the socket waits on
  // the first, then on the second; the first hears of the second's bytes.
  kyoto::runtime first = kyoto::runtime::builder::current_thread().build();
  kyoto::runtime second = kyoto::runtime::builder::current_thread().build();
  const int first_ep = epoll_of(first);
  const int second_ep = epoll_of(second);
  auto [client, server] = first.block_on(connected_pair());
  const int fd = client.native_handle();
  /// A read of one byte on `client` that parks before `server` writes it.
  auto round = [&](kyoto::runtime& rt) {
    rt.block_on([](tcp_stream& c, tcp_stream& s) -> kyoto::task<> {
      std::array<std::byte, 1> buf{};
      KYOTO_ASSERT_FALSE((co_await kyoto::time::timeout(1ms, c.read(buf))).has_value());
      co_await s.write_all(bytes("y"));
      co_await done_within_10s(c.read_exact(buf));
    }(client, server));
  };
  round(first);
  EXPECT_TRUE(watched_by(first_ep).contains(fd));
  for (int i = 0; i < 2; ++i) {
    round(second);
    // The first worker polls its epoll: one more event with nobody waiting.
    first.block_on([]() -> kyoto::task<> {
      co_await kyoto::time::sleep(1ms);
    }());
  }
  EXPECT_FALSE(watched_by(first_ep).contains(fd)) << "still watched by the worker it left";
  EXPECT_TRUE(watched_by(second_ep).contains(fd));
}

/// How many of this process's descriptors are epoll instances and rings.
std::pair<int, int> epolls_and_rings() {
  int epolls = 0;
  int rings = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target == "anon_inode:[eventpoll]") ++epolls;
    if (target == "anon_inode:[io_uring]") ++rings;
  }
  return {epolls, rings};
}

TEST(ReadinessChoice, TheBuildersChoiceOverridesTheVariable) {
  // NOLINTBEGIN(concurrency-mt-unsafe): no runtime runs between these
  ::setenv("KYOTO_IO_BACKEND", "io_uring", 1);
  const auto before = epolls_and_rings();
  for (const kyoto::io_backend b : {kyoto::io_backend::epoll, kyoto::io_backend::io_uring}) {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().io_backend(b).build();
    const auto during = rt.block_on([]() -> kyoto::task<std::pair<int, int>> {
      co_await kyoto::time::sleep(1ms);  // the driver has made its reactor
      co_return epolls_and_rings();
    }());
    if (b == kyoto::io_backend::epoll) {
      EXPECT_EQ(during.first, before.first + 1) << "no epoll instance was made";
      EXPECT_EQ(during.second, before.second) << "a ring was made";
    } else {
      EXPECT_EQ(during.first, before.first) << "an epoll instance was made";
      EXPECT_EQ(during.second, before.second + 1) << "no ring was made";
    }
  }
  ::setenv("KYOTO_IO_BACKEND", "epoll", 1);
  // NOLINTEND(concurrency-mt-unsafe)
}

TEST(ReadinessChoice, AnUnknownBackendFailsTheBuildWithTheVariablesName) {
  // NOLINTBEGIN(concurrency-mt-unsafe): no runtime runs between these
  ::setenv("KYOTO_IO_BACKEND", "kqueue", 1);
  try {
    (void)kyoto::runtime::builder::current_thread().build();
    ADD_FAILURE() << "built with KYOTO_IO_BACKEND=kqueue";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("KYOTO_IO_BACKEND=kqueue"), std::string::npos) << e.what();
  }
  ::setenv("KYOTO_IO_BACKEND", "epoll", 1);
  // NOLINTEND(concurrency-mt-unsafe)
}

}  // namespace
