// kyoto::io::buf_writer: a port of tokio 1.24's tests/io_buf_writer.rs
// over a scripted mock stream, and buf_writer over loopback TCP.
// Not ported: the seek tests (kyoto::io has no AsyncSeek) and the
// write_vectored tests (kyoto::io has no vectored writes).
#include "bytes.hpp"
#include "ct_test.hpp"
#include "errors.hpp"
#include "mock_stream.hpp"
#include "net_support.hpp"

#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace {

namespace io = kyoto::io;
using kyoto::task;
using kyoto::net::tcp_stream;
using namespace kyoto::test;

/// Writes `data` through `writer`, which must take all of it; then
/// `buffered` waits in its buffer and `written` has reached the inner
/// writer.
task<> expect_write(io::buf_writer<mock_stream>& writer, std::string_view data,
                    std::string_view buffered, std::string_view written) {
  EXPECT_EQ(co_await writer.write(bytes(data)), data.size());
  EXPECT_EQ(text(writer.buffer()), buffered);
  EXPECT_EQ(writer.get_ref().written, written);
}

/// io_buf_writer.rs buf_writer and maybe_pending_buf_writer share this.
/// tokio's bytes 0..11 are the characters "0123456789ab" here.
task<> check_buffered_writes(io::buf_writer<mock_stream>& writer) {
  co_await expect_write(writer, "01", "", "01");  // 2 >= capacity 2: written straight through
  co_await expect_write(writer, "2", "2", "01");
  co_await expect_write(writer, "3", "23", "01");

  co_await writer.flush();
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "0123");

  co_await expect_write(writer, "4", "4", "0123");
  co_await expect_write(writer, "5", "45", "0123");
  co_await expect_write(writer, "6", "6", "012345");  // the full buffer went out first
  co_await expect_write(writer, "78", "", "012345678");
  co_await expect_write(writer, "9ab", "", "0123456789ab");

  co_await writer.flush();
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "0123456789ab");
}

// io_buf_writer.rs: buf_writer
KYOTO_CT_TEST(BufWriter, SmallWritesAreBufferedLargeOnesGoStraightThrough) {
  io::buf_writer<mock_stream> writer(mock_stream{}, 2);
  co_await check_buffered_writes(writer);
}

// io_buf_writer.rs: maybe_pending_buf_writer
KYOTO_CT_TEST(BufWriter, SmallWritesAreBufferedWhenTheInnerWriterSuspends) {
  mock_stream inner;
  inner.yielding();
  io::buf_writer<mock_stream> writer(std::move(inner), 2);
  co_await check_buffered_writes(writer);
}

// io_buf_writer.rs: buf_writer_inner_flushes
KYOTO_CT_TEST(BufWriter, FlushWritesTheBufferAndFlushesTheInnerWriter) {
  io::buf_writer<mock_stream> w(mock_stream{}, 3);
  const std::size_t n = co_await w.write(bytes("01"));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(w.get_ref().written.empty());
  co_await w.flush();
  EXPECT_EQ(w.get_ref().flush_calls, 1);
  const mock_stream inner = std::move(w).into_inner();
  EXPECT_EQ(inner.written, "01");
}

// io_buf_writer.rs: maybe_pending_buf_writer_inner_flushes
KYOTO_CT_TEST(BufWriter, FlushWorksWhenTheInnerWriterSuspends) {
  mock_stream m;
  m.yielding();
  io::buf_writer<mock_stream> w(std::move(m), 3);
  const std::size_t n = co_await w.write(bytes("01"));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(w.get_ref().written.empty());
  co_await w.flush();
  EXPECT_EQ(std::move(w).into_inner().written, "01");
}

KYOTO_CT_TEST(BufWriter, FlushContinuesShortWritesOfTheInnerWriter) {
  mock_stream m;
  m.max_write(3);
  io::buf_writer<mock_stream> w(std::move(m), 16);
  co_await w.write_all(bytes("0123456789"));
  EXPECT_EQ(w.get_ref().write_calls, 0);
  co_await w.flush();
  EXPECT_EQ(w.get_ref().written, "0123456789");
  EXPECT_EQ(w.get_ref().write_calls, 4);
  EXPECT_TRUE(w.buffer().empty());
}

KYOTO_CT_TEST(BufWriter, AFailedFlushKeepsTheBytesNotYetWritten) {
  mock_stream m;
  m.then_write(4).then_write_error(std::errc::connection_reset, "reset");
  io::buf_writer<mock_stream> w(std::move(m), 16);
  co_await w.write_all(bytes("0123456789"));
  EXPECT_THROW(co_await w.flush(), std::system_error);
  EXPECT_EQ(w.get_ref().written, "0123");
  EXPECT_EQ(text(w.buffer()), "456789") << "only what the inner writer took is dropped";
  co_await w.flush();
  EXPECT_EQ(w.get_ref().written, "0123456789");
}

KYOTO_CT_TEST(BufWriter, FlushThrowsWriteZeroWhenTheInnerWriterTakesNothing) {
  mock_stream m;
  m.then_write(0);
  io::buf_writer<mock_stream> w(std::move(m), 16);
  co_await w.write_all(bytes("abc"));
  expect_error(co_await error_of(w.flush()), io::errc::write_zero);
  EXPECT_EQ(text(w.buffer()), "abc");
}

KYOTO_CT_TEST(BufWriter, WriteAllLargerThanTheBufferGoesStraightThroughInFull) {
  mock_stream m;
  m.max_write(3);
  io::buf_writer<mock_stream> w(std::move(m), 4);
  co_await w.write_all(bytes("ab"));
  co_await w.write_all(bytes("0123456789"));
  EXPECT_EQ(w.get_ref().written, "ab0123456789") << "the buffer first, then the large write";
  EXPECT_TRUE(w.buffer().empty());
}

KYOTO_CT_TEST(BufWriter, WriteAllThatFitsIsBuffered) {
  io::buf_writer<mock_stream> w(mock_stream{}, 8);
  co_await w.write_all("abc");
  co_await w.write_all("defgh");
  EXPECT_EQ(w.get_ref().write_calls, 0);
  co_await w.write_all("i");
  EXPECT_EQ(w.get_ref().written, "abcdefgh");
  EXPECT_EQ(text(w.buffer()), "i");
}

KYOTO_CT_TEST(BufWriter, GenericWriteAllWorksThroughTheBuffer) {
  io::buf_writer<mock_stream> w(mock_stream{}, 8);
  co_await io::write_all(w, "hello");
  EXPECT_EQ(text(w.buffer()), "hello");
  co_await w.flush();
  EXPECT_EQ(w.get_ref().written, "hello");
}

KYOTO_CT_TEST(BufWriter, ShutdownFlushesThenShutsTheInnerWriterDown) {
  io::buf_writer<mock_stream> w(mock_stream{});
  co_await w.write_all("bye");
  co_await w.shutdown();
  EXPECT_EQ(w.get_ref().written, "bye");
  EXPECT_TRUE(w.get_ref().shut_down);
}

KYOTO_CT_TEST(BufWriter, DestroyingItLosesTheBufferedBytesAsDocumented) {
  mock_stream inner;
  {
    io::buf_writer<mock_stream&> w(inner);
    co_await w.write_all("lost");
  }
  EXPECT_TRUE(inner.written.empty()) << "flush() before dropping a buf_writer";
}

KYOTO_CT_TEST(BufWriter, ReadsGoStraightToTheInnerReader) {
  mock_stream m;
  m.then_read("pong");
  io::buf_writer<mock_stream> rw(std::move(m));
  std::array<std::byte, 8> buf{};
  const std::size_t n = co_await rw.read(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "pong");
}

TEST(BufWriter, ZeroCapacityIsRejected) {
  EXPECT_THROW(io::buf_writer<mock_stream>(mock_stream(), 0), std::invalid_argument);
}

KYOTO_TEST(BufWriterTcp, ManySmallWritesArriveInOrderAfterShutdown) {
  auto [client, server] = co_await connected_pair();
  auto [rd, wr] = std::move(client).split();
  io::buf_writer<kyoto::net::tcp_write_half> w(std::move(wr), 64);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string line = std::to_string(i) + "\n";
    co_await w.write_all(line);
    expected += line;
  }
  co_await w.shutdown();
  std::string got;
  co_await io::read_to_string(server, got);
  EXPECT_TRUE(got == expected);
}

}  // namespace
