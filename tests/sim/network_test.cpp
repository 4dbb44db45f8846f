// kyoto::sim::network: hosts on a simulated network, driven by the seed of
// a deterministic runtime (tokio's turmoil; its tests/tcp.rs and udp.rs
// check the same behaviours: latency, partitions, crashes, refused
// connections, reproducibility).
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sim.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using kyoto::task;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;
using kyoto::net::udp_socket;
using kyoto::test::expect_throws;
using kyoto::test::expect_throws_async;

namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s));
}

/// The echo server of samples/echo_server.cpp: kernel or simulation alike.
task<void> echo_connection(tcp_stream s) {
  std::array<std::byte, 1024> buf{};
  try {
    for (;;) {
      const std::size_t n = co_await s.read(buf);
      if (n == 0) co_return;
      co_await s.write_all(std::span(buf.data(), n));
    }
  } catch (const std::system_error&) {
    // The peer went away: this connection is over.
  }
}

task<void> echo_server(std::string addr) {
  tcp_listener listener = co_await tcp_listener::bind(addr);
  for (;;) {
    auto [s, peer] = co_await listener.accept();
    (void)kyoto::spawn(echo_connection(std::move(s)));
  }
}

/// Sends `text` and reads the echo.
task<std::string> echo_once(tcp_stream& s, std::string text) {
  co_await s.write_all(bytes_of(text));
  std::string back(text.size(), '\0');
  co_await s.read_exact(std::as_writable_bytes(std::span(back)));
  co_return back;
}

kyoto::sim::config fixed_latency(std::chrono::milliseconds d) {
  kyoto::sim::config cfg;
  cfg.min_latency = d;
  cfg.max_latency = d;
  return cfg;
}

}  // namespace

// ---- misuse ----

KYOTO_TEST(SimNetwork, RefusesARuntimeThatIsNotDeterministic) {
  expect_throws<std::logic_error>([] { kyoto::sim::network net; },
                                  "kyoto::sim::network: a simulated network needs the "
                                  "deterministic runtime");
  co_return;
}

TEST(SimNetwork, RefusesToBeCreatedOutsideARuntime) {
  expect_throws<std::logic_error>([] { kyoto::sim::network net; },
                                  "must be created inside a task of a deterministic runtime");
}

KYOTO_TEST_SEEDS(SimNetwork, RejectsBadConfigurationsAndNames, 1) {
  kyoto::sim::config bad;
  bad.min_latency = 10ms;
  bad.max_latency = 1ms;
  expect_throws<std::invalid_argument>([&] { kyoto::sim::network net(bad); }, "latency range");
  kyoto::sim::network net;
  net.host("a", []() -> task<void> { co_return; });
  expect_throws<std::invalid_argument>([&] { net.host("a", []() -> task<void> { co_return; }); },
                                       "\"a\" is empty or taken");
  expect_throws<std::invalid_argument>([&] { net.partition("a", "nobody"); },
                                       "kyoto::sim::network::partition: no host named \"nobody\"");
  expect_throws<std::logic_error>([&] { net.restart("a"); }, "\"a\" is up");
  expect_throws<std::logic_error>([] { kyoto::sim::network second; },
                                  "another simulated network is alive");
  co_await net.run();
}

// ---- the same code, on the kernel and in the simulation ----

KYOTO_TEST(SimNetwork, TheEchoServerRunsOnTheKernelOutsideASimulation) {
  // Outside a host, the net types are the kernel's.
  tcp_listener listener = co_await tcp_listener::bind("127.0.0.1:0");
  const std::string where =
      std::string("127.0.0.1:") + std::to_string(listener.local_addr().port());
  auto server = kyoto::spawn([l = std::move(listener)]() mutable -> task<void> {
    auto [s, peer] = co_await l.accept();
    co_await echo_connection(std::move(s));
  });
  {
    tcp_stream s = co_await tcp_stream::connect(where);
    EXPECT_LT(s.native_handle(), 1 << 30);  // a kernel descriptor
    EXPECT_EQ(co_await echo_once(s, "kernel"), "kernel");
  }
  co_await server;
}

KYOTO_TEST_SEEDS(SimNetwork, TheEchoServerRunsInsideASimulatedHost, 20) {
  kyoto::sim::network net;
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", [&]() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    EXPECT_GE(s.native_handle(), 1 << 30);  // a simulated socket
    EXPECT_EQ(s.peer_addr(), net.lookup("server", 7));
    EXPECT_EQ(s.local_addr().ip(), "192.168.0.2");
    EXPECT_EQ(co_await echo_once(s, "hello"), "hello");
    EXPECT_EQ(co_await echo_once(s, "world"), "world");
  });
  co_await net.run();
}

// ---- latency ----

KYOTO_TEST_SEEDS(SimNetwork, MessagesTakeTheConfiguredLatency, 5) {
  kyoto::sim::network net(fixed_latency(10ms));
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", []() -> task<void> {
    const auto t0 = kyoto::time::clock::now();
    tcp_stream s = co_await tcp_stream::connect("server:7");
    // The request there, the answer back.
    EXPECT_EQ(kyoto::time::clock::now() - t0, 20ms);
    const auto t1 = kyoto::time::clock::now();
    EXPECT_EQ(co_await echo_once(s, "ping"), "ping");
    EXPECT_EQ(kyoto::time::clock::now() - t1, 20ms);
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, LatencyStaysInItsRangeAndTcpKeepsOrder, 20) {
  kyoto::sim::config cfg;
  cfg.min_latency = 5ms;
  cfg.max_latency = 40ms;
  kyoto::sim::network net(cfg);
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", []() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    std::string sent;
    for (int i = 0; i < 50; ++i) {
      const std::string piece = std::to_string(i) + ",";
      sent += piece;
      co_await s.write_all(bytes_of(piece));  // 50 segments, each with its latency
    }
    std::string got(sent.size(), '\0');
    const auto t0 = kyoto::time::clock::now();
    co_await s.read_exact(std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got, sent);  // in order
    EXPECT_LE(kyoto::time::clock::now() - t0, 80ms);
  });
  co_await net.run();
}

// ---- udp: loss and reordering from the seed ----

namespace {

/// Sends 100 numbered datagrams from "a" to "b" and gives b's trace: each
/// datagram received with its arrival time.
std::string udp_trace(std::uint64_t seed) {
  std::string trace;
  auto rt = kyoto::runtime::builder::deterministic(seed).build();
  rt.block_on([](std::string& out) -> task<void> {
    kyoto::sim::config cfg;
    cfg.min_latency = 1ms;
    cfg.max_latency = 30ms;
    cfg.udp_loss = 0.2;
    kyoto::sim::network net(cfg);
    const auto t0 = kyoto::time::clock::now();
    net.host("b", [&out, t0]() -> task<void> {
      udp_socket s = co_await udp_socket::bind("0.0.0.0:9");
      std::array<std::byte, 16> buf{};
      for (;;) {
        auto [n, from] = co_await s.recv_from(buf);
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(kyoto::time::clock::now() - t0);
        out += std::to_string(ms.count()) + ":" +
               std::string(reinterpret_cast<const char*>(buf.data()), n) + " ";
        EXPECT_EQ(from.ip(), "192.168.0.2");
      }
    });
    net.client("a", []() -> task<void> {
      udp_socket s = co_await udp_socket::bind("0.0.0.0:0");
      for (int i = 0; i < 100; ++i) {
        const std::string msg = std::to_string(i);
        co_await s.send_to(bytes_of(msg), *kyoto::net::socket_addr::try_parse("192.168.0.1:9"));
        co_await kyoto::time::sleep(1ms);
      }
      co_await kyoto::time::sleep(100ms);  // let the last ones land
    });
    co_await net.run();
  }(trace));
  return trace;
}

/// The datagram numbers of a trace, in arrival order.
std::vector<int> numbers_of(const std::string& trace) {
  std::vector<int> v;
  std::size_t pos = 0;
  while ((pos = trace.find(':', pos)) != std::string::npos) {
    v.push_back(std::stoi(trace.substr(pos + 1)));
    ++pos;
  }
  return v;
}

}  // namespace

TEST(SimNetwork, UdpLossAndReorderingAreDrivenByTheSeed) {
  const std::string a = udp_trace(7);
  EXPECT_EQ(udp_trace(7), a) << "the same seed must give the same trace, byte for byte";
  const std::vector<int> got = numbers_of(a);
  EXPECT_LT(got.size(), 95u) << "about 20% lost: " << a;
  EXPECT_GT(got.size(), 60u) << a;
  EXPECT_FALSE(std::is_sorted(got.begin(), got.end())) << "1..30 ms latencies reorder: " << a;
  EXPECT_NE(udp_trace(8), a) << "another seed, another run";
}

// ---- partitions ----

KYOTO_TEST_SEEDS(SimNetwork, APartitionStallsTcpUntilRepaired, 10) {
  kyoto::sim::network net(fixed_latency(1ms));
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", [&]() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    net.partition("client", "server");
    const auto t0 = kyoto::time::clock::now();
    auto repair = kyoto::spawn([&]() -> task<void> {
      co_await kyoto::time::sleep(300ms);
      net.repair("client", "server");
    });
    EXPECT_EQ(co_await echo_once(s, "late"), "late");  // nothing lost, only delayed
    EXPECT_GE(kyoto::time::clock::now() - t0, 300ms);
    co_await repair;
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, APartitionDropsDatagrams, 5) {
  kyoto::sim::network net(fixed_latency(1ms));
  int received = 0;
  net.host("server", [&]() -> task<void> {
    udp_socket s = co_await udp_socket::bind("0.0.0.0:9");
    std::array<std::byte, 8> buf{};
    for (;;) {
      (void)co_await s.recv(buf);
      ++received;
    }
  });
  net.client("client", [&]() -> task<void> {
    udp_socket s = co_await udp_socket::bind("0.0.0.0:0");
    co_await s.connect("server:9");
    co_await s.send(bytes_of("1"));
    co_await kyoto::time::sleep(10ms);
    net.partition("server", "client");
    co_await s.send(bytes_of("2"));  // dropped
    co_await kyoto::time::sleep(10ms);
    net.repair("server", "client");
    co_await s.send(bytes_of("3"));
    co_await kyoto::time::sleep(10ms);
  });
  co_await net.run();
  EXPECT_EQ(received, 2);
}

KYOTO_TEST_SEEDS(SimNetwork, APartitionLongerThanTheTimeoutFailsTheConnection, 5) {
  kyoto::sim::config cfg = fixed_latency(1ms);
  cfg.tcp_timeout = 2s;
  kyoto::sim::network net(cfg);
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", [&]() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    net.partition("client", "server");
    const auto t0 = kyoto::time::clock::now();
    auto e = co_await kyoto::test::error_of(echo_once(s, "lost"));
    KYOTO_ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code(), std::error_code(ETIMEDOUT, std::system_category())) << e->what();
    EXPECT_GE(kyoto::time::clock::now() - t0, 2s);
    // A connection request times out the same way.
    auto c = co_await kyoto::test::error_of(tcp_stream::connect("server:7"));
    KYOTO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code(), std::error_code(ETIMEDOUT, std::system_category())) << c->what();
  });
  co_await net.run();
}

// ---- closes, crashes and restarts ----

KYOTO_TEST_SEEDS(SimNetwork, ConnectingToAPortWithoutListenerIsRefused, 5) {
  kyoto::sim::network net;
  net.host("server", []() -> task<void> { co_await kyoto::time::sleep(1h); });
  net.client("client", []() -> task<void> {
    auto e = co_await kyoto::test::error_of(tcp_stream::connect("server:7"));
    KYOTO_ASSERT_TRUE(e.has_value());
    kyoto::test::expect_error(*e, ECONNREFUSED, "kyoto::net::tcp_stream::connect");
    auto n = co_await kyoto::test::error_of(tcp_stream::connect("nobody:7"));
    KYOTO_ASSERT_TRUE(n.has_value());
    EXPECT_NE(std::string(n->what()).find("no such simulated host"), std::string::npos);
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, ClosingGivesThePeerEndOfStream, 10) {
  kyoto::sim::network net;
  net.host("server", []() -> task<void> {
    tcp_listener l = co_await tcp_listener::bind("0.0.0.0:7");
    auto [s, peer] = co_await l.accept();
    co_await s.write_all(bytes_of("bye"));
    // s closes here: a FIN after the bytes
  });
  net.client("client", []() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    std::string got(3, '\0');
    co_await s.read_exact(std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got, "bye");
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(co_await s.read(buf), 0u);
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, ShutdownEndsOneDirectionOnly, 10) {
  kyoto::sim::network net;
  net.host("server", []() -> task<void> {
    tcp_listener l = co_await tcp_listener::bind("0.0.0.0:7");
    auto [s, peer] = co_await l.accept();
    std::array<std::byte, 8> buf{};
    std::size_t total = 0;
    for (std::size_t n = 0; (n = co_await s.read(buf)) != 0;)
      total += n;  // until the client's shutdown
    EXPECT_EQ(total, 4u);
    co_await s.write_all(bytes_of("done"));
  });
  net.client("client", []() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    co_await s.write_all(bytes_of("data"));
    co_await s.shutdown();
    auto w = co_await kyoto::test::error_of(s.write(bytes_of("more")));
    KYOTO_ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->code(), std::error_code(EPIPE, std::system_category())) << w->what();
    std::string got(4, '\0');
    co_await s.read_exact(std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got, "done");
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, ClosingWithUnreadBytesResetsTheConnection, 10) {
  kyoto::sim::network net(fixed_latency(1ms));
  net.host("server", []() -> task<void> {
    tcp_listener l = co_await tcp_listener::bind("0.0.0.0:7");
    auto [s, peer] = co_await l.accept();
    co_await kyoto::time::sleep(50ms);  // the client's bytes arrive, unread
  });                                   // s closes with them: a reset, as the kernel does
  net.client("client", []() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    co_await s.write_all(bytes_of("ignored"));
    std::array<std::byte, 8> buf{};
    auto e = co_await kyoto::test::error_of(s.read(buf));
    KYOTO_ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code(), std::error_code(ECONNRESET, std::system_category())) << e->what();
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, ACrashResetsThePeersConnections, 10) {
  kyoto::sim::network net(fixed_latency(2ms));
  net.host("server", [] { return echo_server("0.0.0.0:7"); });
  net.client("client", [&]() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    EXPECT_EQ(co_await echo_once(s, "before"), "before");
    net.crash("server");
    EXPECT_FALSE(net.is_up("server"));
    std::array<std::byte, 8> buf{};
    auto e = co_await kyoto::test::error_of(s.read(buf));
    KYOTO_ASSERT_TRUE(e.has_value());
    kyoto::test::expect_error(*e, ECONNRESET, "kyoto::net::tcp_stream::read");
    EXPECT_EQ(co_await s.read(buf), 0u);  // reported once, then end of stream
    auto w = co_await kyoto::test::error_of(s.write(bytes_of("x")));
    KYOTO_ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->code(), std::error_code(ECONNRESET, std::system_category())) << w->what();
    // The crashed host's listener is gone.
    auto c = co_await kyoto::test::error_of(tcp_stream::connect("server:7"));
    KYOTO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code(), std::error_code(ECONNREFUSED, std::system_category())) << c->what();
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, ARestartedHostRebindsItsPort, 10) {
  kyoto::sim::network net(fixed_latency(2ms));
  int starts = 0;
  net.host("server", [&] {
    ++starts;
    return echo_server("0.0.0.0:7");
  });
  net.client("client", [&]() -> task<void> {
    tcp_stream s = co_await tcp_stream::connect("server:7");
    EXPECT_EQ(co_await echo_once(s, "one"), "one");
    net.bounce("server");
    EXPECT_TRUE(net.is_up("server"));
    co_await kyoto::time::sleep(1ms);  // the new run binds the port again
    tcp_stream t = co_await tcp_stream::connect("server:7");
    EXPECT_EQ(co_await echo_once(t, "two"), "two");
    std::array<std::byte, 8> buf{};
    auto e = co_await kyoto::test::error_of(s.read(buf));
    KYOTO_ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code(), std::error_code(ECONNRESET, std::system_category())) << e->what();
  });
  co_await net.run();
  EXPECT_EQ(starts, 2);
}

KYOTO_TEST_SEEDS(SimNetwork, ASoftwareFailureEndsRunWithItsException, 3) {
  kyoto::sim::network net;
  net.host("server", []() -> task<void> {
    co_await kyoto::time::sleep(5ms);
    throw std::runtime_error("server bug");
  });
  net.client("client", []() -> task<void> { co_await kyoto::time::sleep(1h); });
  co_await expect_throws_async<std::runtime_error>([&] { return net.run(); }, "server bug");
}

KYOTO_TEST_SEEDS(SimNetwork, BindingFollowsTheKernelsRules, 3) {
  kyoto::sim::network net;
  net.client("a", []() -> task<void> {
    tcp_listener l = co_await tcp_listener::bind("0.0.0.0:80");
    EXPECT_EQ(l.local_addr().port(), 80);
    auto taken = co_await kyoto::test::error_of(tcp_listener::bind("192.168.0.1:80"));
    KYOTO_ASSERT_TRUE(taken.has_value());
    kyoto::test::expect_error(*taken, EADDRINUSE, "kyoto::net::tcp_listener::bind");
    auto foreign = co_await kyoto::test::error_of(udp_socket::bind("10.0.0.1:53"));
    KYOTO_ASSERT_TRUE(foreign.has_value());
    kyoto::test::expect_error(*foreign, EADDRNOTAVAIL, "kyoto::net::udp_socket::bind");
    udp_socket u = co_await udp_socket::bind("0.0.0.0:0");
    EXPECT_GE(u.local_addr().port(), 49152);  // an ephemeral port
    auto v6 = co_await kyoto::test::error_of(tcp_listener::bind("[::1]:80"));
    KYOTO_ASSERT_TRUE(v6.has_value());
    kyoto::test::expect_error(*v6, EAFNOSUPPORT, "kyoto::net::tcp_listener::bind");
  });
  co_await net.run();
}

KYOTO_TEST_SEEDS(SimNetwork, DroppingTheNetworkBeforeItsHostsEndIsSafe, 20) {
  // Hosts left waiting in accept, recv and connect when the body ends:
  // the runtime cancels them after the network object is gone.
  {
    kyoto::sim::network net;
    net.host("server", [] { return echo_server("0.0.0.0:7"); });
    net.host("udp", []() -> task<void> {
      udp_socket s = co_await udp_socket::bind("0.0.0.0:9");
      std::array<std::byte, 8> buf{};
      (void)co_await s.recv(buf);
    });
    net.host("client", [&net]() -> task<void> {
      net.partition("client", "server");
      tcp_stream s = co_await tcp_stream::connect("server:7");  // waits
    });
    co_await kyoto::time::sleep(5ms);
  }
  co_await kyoto::time::sleep(5ms);
}

// ---- a real protocol under partitions and restarts: nothing acknowledged
// is lost ----

namespace {

/// The server's durable storage: survives its crashes (a disk).
using kv_disk = std::map<std::uint32_t, std::uint32_t>;

/// One request: a key and a value (0: a read), big endian; the answer: the
/// stored value, after the write is on disk.
task<void> kv_connection(tcp_stream s, kv_disk& disk) {
  try {
    for (;;) {
      std::array<std::byte, 8> req{};
      co_await s.read_exact(req);
      std::uint32_t k = 0;
      std::uint32_t v = 0;
      std::memcpy(&k, req.data(), 4);
      std::memcpy(&v, req.data() + 4, 4);
      if (v != 0) disk[k] = v;  // durable before the acknowledgement
      const std::uint32_t stored = disk.contains(k) ? disk[k] : 0;
      std::array<std::byte, 4> ack{};
      std::memcpy(ack.data(), &stored, 4);
      co_await s.write_all(ack);
    }
  } catch (const std::system_error&) {
    // The client went away, or the network failed the connection.
  }
}

task<void> kv_server(kv_disk& disk) {
  tcp_listener l = co_await tcp_listener::bind("0.0.0.0:6379");
  for (;;) {
    auto [s, peer] = co_await l.accept();
    (void)kyoto::spawn(kv_connection(std::move(s), disk));
  }
}

/// A client that retries each request (reconnecting) until acknowledged.
class kv_client {
 public:
  /// Sends {k, v} (v = 0: a read); gives the stored value once answered.
  task<std::uint32_t> request(std::uint32_t k, std::uint32_t v) {
    for (;;) {
      try {
        if (!conn_) {
          auto c = co_await kyoto::time::timeout(1s, tcp_stream::connect("server:6379"));
          if (!c.has_value()) continue;  // timed out: try again
          conn_.emplace(std::move(*c));
        }
        std::array<std::byte, 8> req{};
        std::memcpy(req.data(), &k, 4);
        std::memcpy(req.data() + 4, &v, 4);
        co_await conn_->write_all(req);
        std::array<std::byte, 4> ack{};
        auto r = co_await kyoto::time::timeout(500ms, conn_->read_exact(ack));
        if (r.has_value()) {
          std::uint32_t stored = 0;
          std::memcpy(&stored, ack.data(), 4);
          co_return stored;
        }
        conn_.reset();  // no answer in time: a new connection
      } catch (const std::system_error&) {
        conn_.reset();  // refused, reset, end of stream: retry
      }
      co_await kyoto::time::sleep(20ms);
    }
  }

 private:
  std::optional<tcp_stream> conn_;
};

}  // namespace

KYOTO_TEST_SEEDS(SimNetwork, AKeyValueStoreLosesNothingAcknowledged, 1000) {
  std::mt19937_64 rng(kyoto::test::current_seed());  // the chaos, from the seed too
  kyoto::sim::config cfg;
  cfg.min_latency = 1ms;
  cfg.max_latency = 20ms;
  cfg.tcp_timeout = 1s;
  kyoto::sim::network net(cfg);
  kv_disk disk;
  std::map<std::uint32_t, std::uint32_t> acked;
  net.host("server", [&] { return kv_server(disk); });
  net.client("client", [&]() -> task<void> {
    kv_client c;
    for (std::uint32_t k = 1; k <= 12; ++k) {
      const std::uint32_t v = k * 1000 + static_cast<std::uint32_t>(rng() % 1000) + 1;
      EXPECT_EQ(co_await c.request(k, v), v);
      acked[k] = v;
    }
    // Read everything back through the network.
    for (const auto& [k, v] : acked)
      EXPECT_EQ(co_await c.request(k, 0), v) << "key " << k;
  });
  net.client("chaos", [&]() -> task<void> {
    for (int i = 0; i < 3; ++i) {
      co_await kyoto::time::sleep(std::chrono::milliseconds(rng() % 100));
      net.partition("client", "server");
      co_await kyoto::time::sleep(std::chrono::milliseconds(rng() % 1500));
      net.repair("client", "server");
      if (rng() % 2 == 0) net.bounce("server");
    }
  });
  co_await net.run();
  for (const auto& [k, v] : acked)
    EXPECT_EQ(disk[k], v) << "acknowledged key " << k << " lost";
  EXPECT_EQ(acked.size(), 12u);
}
