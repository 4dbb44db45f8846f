// kyoto::io::duplex: tokio 1.24's tests/io_mem_stream.rs, plus back-pressure,
// cancel safety and cross-worker use.
#include <kyoto/io/duplex.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

using namespace std::chrono_literals;

namespace {

namespace io = kyoto::io;

std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// io_mem_stream.rs: ping_pong
KYOTO_TEST(Duplex, PingPong) {
  auto [a, b] = io::duplex(32);
  std::array<std::byte, 4> buf{};
  co_await io::write_all(a, "ping");
  co_await io::read_exact(b, buf);
  EXPECT_EQ(as_string(buf), "ping");
  co_await io::write_all(b, "pong");
  co_await io::read_exact(a, buf);
  EXPECT_EQ(as_string(buf), "pong");
}

// io_mem_stream.rs: across_tasks
KYOTO_TEST(Duplex, AcrossTasks) {
  auto [a, b] = io::duplex(32);
  auto h1 = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        co_await io::write_all(s, "ping");
        std::array<std::byte, 4> buf{};
        co_await io::read_exact(s, buf);
        EXPECT_EQ(as_string(buf), "pong");
      },
      std::move(a));
  auto h2 = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        std::array<std::byte, 4> buf{};
        co_await io::read_exact(s, buf);
        EXPECT_EQ(as_string(buf), "ping");
        co_await io::write_all(s, "pong");
      },
      std::move(b));
  co_await h1;
  co_await h2;
}

// io_mem_stream.rs: disconnect
KYOTO_TEST(Duplex, DroppingTheWriterGivesTheReaderEndOfStream) {
  auto [a, b] = io::duplex(32);
  auto h =
      kyoto::spawn([](io::duplex_stream s) -> kyoto::task<> { co_await io::write_all(s, "ping"); },
                   std::move(a));  // `a` is destroyed when the task ends
  std::array<std::byte, 4> buf{};
  co_await io::read_exact(b, buf);
  EXPECT_EQ(as_string(buf), "ping");
  co_await h;
  const std::size_t n = co_await b.read(buf);
  EXPECT_EQ(n, 0u);
}

// io_mem_stream.rs: disconnect_reader
KYOTO_TEST(Duplex, WritingToADroppedReaderIsABrokenPipe) {
  auto [a, b] = io::duplex(2);
  auto h = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        std::array<std::byte, 1> buf{};
        const std::size_t n = co_await s.read(buf);
        EXPECT_EQ(n, 1u);
      },
      std::move(b));
  bool broken = false;
  try {
    for (int i = 0; i < 100; ++i)
      co_await io::write_all(a, "xyz");
  } catch (const std::system_error& e) {
    broken = e.code() == std::errc::broken_pipe;
  }
  EXPECT_TRUE(broken);
  co_await h;
}

// io_mem_stream.rs: max_write_size
KYOTO_TEST(Duplex, AWriteTakesAtMostTheFreeRoom) {
  auto [a, b] = io::duplex(32);
  auto h = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        std::array<std::byte, 64> buf{};
        const std::size_t n = co_await s.write(buf);
        EXPECT_EQ(n, 32u);
        const std::size_t m = co_await s.write(std::span(buf).first(4));
        EXPECT_EQ(m, 4u);  // waited for the reader to free room
      },
      std::move(a));
  std::array<std::byte, 4> buf{};
  co_await io::read_exact(b, buf);
  co_await h;
}

// io_mem_stream.rs: duplex_is_cooperative
KYOTO_TEST(Duplex, IsCooperative) {
  auto [tx, rx] = io::duplex(std::size_t{1024} * 8);
  auto busy = [](io::duplex_stream& w, io::duplex_stream& r) -> kyoto::task<int> {
    std::array<std::byte, 4> buf{};
    for (;;) {
      co_await io::write_all(w, "1234");
      co_await io::read_exact(r, buf);
    }
  };
  const auto r = co_await kyoto::select(busy(tx, rx), kyoto::yield_now());
  EXPECT_EQ(r.index(), 1u) << "the budget makes the busy loop yield";
}

// kyoto: back-pressure and shutdown
KYOTO_TEST(Duplex, ShutdownGivesEndOfStreamAfterTheBufferedBytes) {
  auto [a, b] = io::duplex(16);
  co_await io::write_all(a, "abc");
  co_await a.shutdown();
  bool broken = false;
  try {
    co_await a.write(as_bytes("x"));
  } catch (const std::system_error& e) {
    broken = e.code() == std::errc::broken_pipe;
  }
  EXPECT_TRUE(broken) << "writing after shutdown is a broken pipe";
  std::vector<std::byte> all;
  co_await io::read_to_end(b, all);
  EXPECT_EQ(as_string(all), "abc");
}

// kyoto: a read cancelled by a select takes nothing
KYOTO_TEST(Duplex, ACancelledReadLosesNothing) {
  auto [a, b] = io::duplex(16);
  std::array<std::byte, 8> buf{};
  const auto r = co_await kyoto::select(b.read(buf), kyoto::time::sleep(10ms));
  EXPECT_EQ(r.index(), 1u);
  co_await io::write_all(a, "late");
  std::array<std::byte, 4> got{};
  co_await io::read_exact(b, got);
  EXPECT_EQ(as_string(got), "late");
}

// kyoto: many bytes across workers through a small buffer
KYOTO_TEST(Duplex, MovesALotThroughASmallBufferAcrossWorkers) {
  auto [a, b] = io::duplex(7);
  constexpr std::size_t total = 200'000;
  auto writer = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        std::array<std::byte, 100> chunk{};
        for (std::size_t i = 0; i < chunk.size(); ++i)
          chunk[i] = std::byte(i);
        for (std::size_t sent = 0; sent < total; sent += chunk.size())
          co_await io::write_all(s, chunk);
      },
      std::move(a));
  std::vector<std::byte> all;
  co_await io::read_to_end(b, all);
  co_await writer;
  KYOTO_ASSERT_EQ(all.size(), total);
  bool ok = true;
  for (std::size_t i = 0; i < total; ++i)
    ok = ok && all[i] == std::byte(i % 100);
  EXPECT_TRUE(ok);
}

}  // namespace
