// kyoto::io::copy and copy_bidirectional: ports of tokio 1.24's
// tests/io_copy.rs and io_copy_bidirectional.rs, over a scripted mock
// stream and over loopback TCP.
#include "bytes.hpp"
#include "ct_test.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "mock_stream.hpp"
#include "net_support.hpp"
#include "yielding.hpp"

#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace io = kyoto::io;
using kyoto::task;
using kyoto::net::tcp_stream;
using namespace kyoto::test;

using counts = std::pair<std::uint64_t, std::uint64_t>;
using kyoto::net::tcp_read_half;
using kyoto::net::tcp_write_half;

// io_copy.rs: copy
KYOTO_CT_TEST(Copy, CopiesEverythingAndGivesTheCount) {
  mock_stream rd;
  rd.then_read("hello world");
  mock_stream wr;
  const std::uint64_t n = co_await io::copy(rd, wr);
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(wr.written, "hello world");
  EXPECT_EQ(wr.flush_calls, 1) << "copy flushes the writer at the end";
  EXPECT_FALSE(wr.shut_down) << "copy does not shut the writer down";
}

// io_copy.rs: proxy (a buf_writer over tokio's duplex pipe there: what
// matters is that the copy's final flush pushes the buffered bytes out)
KYOTO_CT_TEST(Copy, TheFinalFlushEmptiesABufferingWriter) {
  const std::string payload(1024, 'B');
  mock_stream rd;
  rd.yielding()
      .then_read(std::string_view(payload).substr(0, 512))
      .then_read(std::string_view(payload).substr(512));
  mock_stream sink;
  io::buf_writer<mock_stream&> wd(sink, 4096);
  co_await io::write_all(wd, std::string(512, 'A'));
  co_await wd.flush();
  const std::uint64_t n = co_await io::copy(rd, wd);
  EXPECT_EQ(n, 1024u);
  EXPECT_EQ(sink.written, std::string(512, 'A') + payload);
  EXPECT_TRUE(wd.buffer().empty());
}

KYOTO_CT_TEST(Copy, ContinuesShortWrites) {
  mock_stream rd;
  rd.then_read("abcdefghij");
  mock_stream wr;
  wr.yielding().max_write(3);
  const std::uint64_t n = co_await io::copy(rd, wr);
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(wr.written, "abcdefghij");
  EXPECT_EQ(wr.write_calls, 4);
}

KYOTO_CT_TEST(Copy, ReadsInChunksOfEightKibibytes) {
  mock_stream rd;
  rd.then_read(std::string(20'000, 'x'));
  mock_stream wr;
  const std::uint64_t n = co_await io::copy(rd, wr);
  EXPECT_EQ(n, 20'000u);
  EXPECT_EQ(rd.largest_read, io::copy_buffer_size);
  EXPECT_EQ(io::copy_buffer_size, 8192u);
}

KYOTO_CT_TEST(Copy, ThrowsWriteZeroWhenTheWriterTakesNothing) {
  mock_stream rd;
  rd.then_read("abc");
  mock_stream wr;
  wr.then_write(1).then_write(0);
  expect_error(co_await error_of(io::copy(rd, wr)), io::errc::write_zero, "kyoto::io::copy");
}

KYOTO_CT_TEST(Copy, PassesOnAReadErrorAfterWritingWhatCameBefore) {
  mock_stream rd;
  rd.then_read("abc").then_read_error(std::errc::connection_reset, "reset");
  mock_stream wr;
  EXPECT_THROW(co_await io::copy(rd, wr), std::system_error);
  EXPECT_EQ(wr.written, "abc");
}

KYOTO_CT_TEST(Copy, OfAnEmptyStreamCopiesNothingAndFlushes) {
  mock_stream rd;
  mock_stream wr;
  const std::uint64_t n = co_await io::copy(rd, wr);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(wr.write_calls, 0);
  EXPECT_EQ(wr.flush_calls, 1);
}

KYOTO_TEST(CopyTcp, CopiesAStreamToItsEnd) {
  auto [client, server] = co_await connected_pair();
  std::string payload(3 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 7 % 251);
  auto sender = kyoto::spawn(
      [](tcp_stream s, std::string data) -> task<> {
        co_await io::write_all(s, data);
        co_await s.shutdown();
      },
      std::move(client), payload);
  mock_stream sink;
  const std::uint64_t n = co_await io::copy(server, sink);
  co_await sender;
  EXPECT_EQ(n, payload.size());
  EXPECT_TRUE(sink.written == payload);
}

KYOTO_TEST(CopyTcp, AnEchoServerCopiesItsReadHalfToItsWriteHalf) {
  auto [client, server] = co_await connected_pair();
  auto echo = kyoto::spawn(
      [](tcp_stream s) -> task<std::uint64_t> {
        auto [rd, wr] = std::move(s).split();
        io::buf_reader<tcp_read_half> in(std::move(rd));
        io::buf_writer<tcp_write_half> out(std::move(wr));
        const std::uint64_t n = co_await io::copy(in, out);
        co_await out.shutdown();
        co_return n;
      },
      std::move(server));
  auto [rd, wr] = std::move(client).split();
  std::string sent;
  for (int i = 0; i < 2000; ++i)
    sent += "message " + std::to_string(i) + "\n";
  // Write and read at once: the echo's buffers could not hold it all.
  auto writer = kyoto::spawn(
      [](tcp_write_half w, std::string data) -> task<> {
        co_await io::write_all(w, data);
        co_await w.shutdown();
      },
      std::move(wr), sent);
  std::string got;
  co_await io::read_to_string(rd, got);
  co_await writer;
  const std::uint64_t n = co_await echo;
  EXPECT_EQ(n, sent.size());
  EXPECT_TRUE(got == sent);
}

// copy_bidirectional over mocks.

// io_copy_bidirectional.rs: immediate_exit_on_write_error
KYOTO_CT_TEST(CopyBidirectional, AWriteErrorEndsItAtOnce) {
  const std::string_view payload = "here, take this";
  mock_stream a;
  a.then_read(payload).then_write_error(std::errc::io_error, "no thanks!");
  mock_stream b;
  b.then_read(payload).then_write_error(std::errc::io_error, "no thanks!");
  EXPECT_THROW(co_await io::copy_bidirectional(a, b), std::system_error);
}

// io_copy_bidirectional.rs: immediate_exit_on_read_error
KYOTO_CT_TEST(CopyBidirectional, AReadErrorEndsItAtOnce) {
  mock_stream a;
  a.then_read_error(std::errc::io_error, "got nothing!");
  mock_stream b;
  b.then_read_error(std::errc::io_error, "got nothing!");
  EXPECT_THROW(co_await io::copy_bidirectional(a, b), std::system_error);
}

KYOTO_CT_TEST(CopyBidirectional, AnErrorInOneDirectionCancelsTheOther) {
  mock_stream a;
  a.yielding().then_read("x").then_read_error(std::errc::io_error, "boom");
  mock_stream b;  // its reads end at once; its writes succeed
  b.yielding();
  for (int i = 0; i < 100; ++i)
    b.then_read("y");
  EXPECT_THROW(co_await io::copy_bidirectional(a, b), std::system_error);
  EXPECT_LT(a.written.size(), 100u) << "the b -> a copy stopped early";
}

KYOTO_CT_TEST(CopyBidirectional, ShutsDownEachWriterWhenItsReaderEnds) {
  mock_stream a;
  a.yielding().then_read("pi").then_read("ng");
  mock_stream b;
  b.yielding().then_read("pong!");
  const counts c = co_await io::copy_bidirectional(a, b);
  EXPECT_EQ(c, counts(4, 5));
  EXPECT_EQ(b.written, "ping");
  EXPECT_EQ(a.written, "pong!");
  EXPECT_TRUE(a.shut_down);
  EXPECT_TRUE(b.shut_down);
  EXPECT_EQ(a.flush_calls, 1);
  EXPECT_EQ(b.flush_calls, 1);
}

// copy_bidirectional over loopback sockets: io_copy_bidirectional.rs's
// tests, on each runtime flavour.

class CopyBidirectionalTcp : public ::testing::TestWithParam<kyoto::test::flavour> {};

/// What the flooding test sends a -> b: far more than the sockets' buffers
/// (shrunk below) can hold, so that direction stays stuck until b reads.
constexpr std::size_t flood_size = 8 << 20;

/// Caps a socket's kernel buffers (the kernel doubles the value), so that
/// what a stuck direction holds is bounded far below flood_size.
void shrink_buffers(const tcp_stream& s) {
  const int size = 64 * 1024;
  EXPECT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
  EXPECT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size), 0);
}

/// copy_bidirectional(x, y) in a task of its own.
kyoto::join_handle<counts> spawn_proxy(tcp_stream x, tcp_stream y) {
  return kyoto::spawn(
      [](tcp_stream p, tcp_stream q) -> task<counts> {
        const counts c = co_await io::copy_bidirectional(p, q);
        co_return c;
      },
      std::move(x), std::move(y));
}

using body_fn = task<> (*)(kyoto::join_handle<counts>, tcp_stream, tcp_stream);

/// tokio's symmetric(): runs `body` twice, with the proxy's arguments in
/// either order, to show they are interchangeable. `body(handle, a, b)`:
/// the proxy copies between a's peer and b's peer.
task<> symmetric(body_fn body) {
  for (int order = 0; order < 2; ++order) {
    auto [a, a1] = co_await connected_pair();
    auto [b, b1] = co_await connected_pair();
    for (const tcp_stream* s : {&a, &a1, &b, &b1})
      shrink_buffers(*s);
    if (order == 0) {
      task<> run = body(spawn_proxy(std::move(a1), std::move(b1)), std::move(a), std::move(b));
      co_await run;
    } else {
      task<> run = body(spawn_proxy(std::move(b1), std::move(a1)), std::move(b), std::move(a));
      co_await run;
    }
  }
}

// io_copy_bidirectional.rs: test_basic_transfer
task<> basic_transfer(kyoto::join_handle<counts>, tcp_stream a, tcp_stream b) {
  co_await a.write_all(bytes("test"));
  std::array<std::byte, 4> tmp{};
  co_await b.read_exact(tmp);
  EXPECT_EQ(text(tmp), "test");
}

TEST_P(CopyBidirectionalTcp, CarriesBytesFromOneSideToTheOther) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on(symmetric(&basic_transfer));
}

// io_copy_bidirectional.rs: test_transfer_after_close
task<> transfer_after_close(kyoto::join_handle<counts> handle, tcp_stream a, tcp_stream b) {
  co_await a.shutdown();
  std::vector<std::byte> nothing;
  co_await io::read_to_end(b, nothing);
  EXPECT_TRUE(nothing.empty()) << "a's end of stream reached b: the proxy shut b's peer down";

  co_await b.write_all(bytes("quux"));
  std::array<std::byte, 4> tmp{};
  co_await a.read_exact(tmp);
  EXPECT_EQ(text(tmp), "quux");

  // Once both are closed, the proxy ends.
  {
    tcp_stream closed = std::move(b);
  }
  const counts c = co_await handle;
  EXPECT_EQ(c, counts(0, 4));
}

TEST_P(CopyBidirectionalTcp, OneSideGoesOnAfterTheOtherEnded) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on(symmetric(&transfer_after_close));
}

// io_copy_bidirectional.rs: blocking_one_side_does_not_block_other. tokio
// fills a -> b until a write has waited 10 ms; here a task writes far more
// than the (shrunk) buffers hold, so that direction cannot finish until b
// reads, and no timing is involved.
task<> blocking_one_side(kyoto::join_handle<counts> handle, tcp_stream a, tcp_stream b) {
  auto [a_rd, a_wr] = std::move(a).split();
  auto flood = kyoto::spawn(
      [](tcp_write_half w) -> task<> {
        const std::vector<std::byte> data(flood_size, std::byte{7});
        co_await w.write_all(data);
        // Dropping w shuts a's write side down.
      },
      std::move(a_wr));
  co_await kyoto::test::let_others_run(20);

  co_await b.write_all(bytes("quux"));
  std::array<std::byte, 4> tmp{};
  co_await a_rd.read_exact(tmp);
  EXPECT_EQ(text(tmp), "quux");
  EXPECT_FALSE(flood.is_finished()) << "the a -> b direction is still stuck";

  std::vector<std::byte> buf;
  co_await io::read_to_end(b, buf);
  co_await flood;
  EXPECT_EQ(buf.size(), flood_size);

  {
    tcp_stream closed = std::move(b);
  }
  const counts c = co_await handle;
  EXPECT_EQ(c, counts(flood_size, 4));
}

TEST_P(CopyBidirectionalTcp, AStuckDirectionDoesNotBlockTheOther) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on(symmetric(&blocking_one_side));
}

KYOTO_INSTANTIATE_FLAVOURS(CopyBidirectionalTcp);

}  // namespace
