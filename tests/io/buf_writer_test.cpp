// kyoto::io::buf_writer: a port of tokio 1.24's tests/io_buf_writer.rs
// over a scripted mock stream, and buf_writer over loopback TCP.
// Not ported: the seek tests (kyoto::io has no AsyncSeek) and the
// write_vectored tests (kyoto::io has no vectored writes).
#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace io = kyoto::io;
using kyoto::task;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

/// tokio's #[tokio::test] runtime: current_thread.
#define IO_TEST(Suite, Name) \
  KYOTO_TEST_WITH(Suite, Name, ::kyoto::runtime::builder::current_thread())

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// A connected loopback pair: {client, accepted}.
task<std::pair<tcp_stream, tcp_stream>> connected_pair() {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  tcp_stream client = co_await tcp_stream::connect(listener.local_addr());
  auto accepted = co_await listener.accept();
  co_return std::pair<tcp_stream, tcp_stream>(std::move(client), std::move(accepted.first));
}

/// A scripted stream: a reduced tokio_test::io::Builder mock, and a user
/// type that satisfies io::async_read and io::async_write. Reads give the
/// scripted chunks in order (a chunk larger than the buffer is split
/// across reads), then end of stream; a scripted error is thrown when its
/// turn comes. Writes are recorded; each takes what its scripted step
/// allows (everything, at most n bytes, or an error).
class mock_stream {
 public:
  /// The next unscripted read gives `chunk` ("" gives a 0-byte read).
  mock_stream& then_read(std::string_view chunk) {
    reads_.push_back(step{std::string(chunk), {}, {}, 0});
    return *this;
  }
  /// The next unscripted read throws std::system_error(e, what).
  mock_stream& then_read_error(std::errc e, std::string_view what) {
    reads_.push_back(step{{}, std::make_error_code(e), std::string(what), 0});
    return *this;
  }
  /// The next unscripted write takes at most `n` bytes.
  mock_stream& then_write(std::size_t n) {
    writes_.push_back(step{{}, {}, {}, n});
    return *this;
  }
  /// The next unscripted write throws std::system_error(e, what).
  mock_stream& then_write_error(std::errc e, std::string_view what) {
    writes_.push_back(step{{}, std::make_error_code(e), std::string(what), 0});
    return *this;
  }
  /// Writes beyond the script take at most `n` bytes (default: all).
  mock_stream& max_write(std::size_t n) {
    max_write_ = n;
    return *this;
  }
  /// Every operation first yields to the scheduler, so the awaiting
  /// coroutine really suspends (tokio's MaybePending readers and writers).
  mock_stream& yielding() {
    yielding_ = true;
    return *this;
  }

  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    ++read_calls;
    largest_read = std::max(largest_read, buf.size());
    if (yielding_) co_await kyoto::yield_now();
    if (reads_.empty()) co_return 0;
    step& s = reads_.front();
    if (s.error) {
      const std::system_error e(s.error, s.what);
      reads_.pop_front();
      throw e;
    }
    const std::size_t n = std::min(buf.size(), s.data.size());
    std::memcpy(buf.data(), s.data.data(), n);
    s.data.erase(0, n);
    if (s.data.empty()) reads_.pop_front();
    co_return n;
  }

  kyoto::task<std::size_t> write(std::span<const std::byte> buf) {
    ++write_calls;
    if (yielding_) co_await kyoto::yield_now();
    if (shut_down) throw std::system_error(std::make_error_code(std::errc::broken_pipe), "mock");
    std::size_t limit = max_write_;
    if (!writes_.empty()) {
      const step s = writes_.front();
      writes_.pop_front();
      if (s.error) throw std::system_error(s.error, s.what);
      limit = s.limit;
    }
    const std::size_t n = std::min(buf.size(), limit);
    written.append(reinterpret_cast<const char*>(buf.data()), n);
    co_return n;
  }

  kyoto::task<void> flush() {
    ++flush_calls;
    co_return;
  }

  kyoto::task<void> shutdown() {
    shut_down = true;
    co_return;
  }

  std::string written;           ///< every byte written, in order
  int read_calls = 0;            ///< read() calls
  int write_calls = 0;           ///< write() calls
  int flush_calls = 0;           ///< flush() calls
  bool shut_down = false;        ///< shutdown() was called
  std::size_t largest_read = 0;  ///< the largest buffer a read was given

 private:
  struct step {
    std::string data;       ///< a read's bytes
    std::error_code error;  ///< if set: throw
    std::string what;       ///< the error's message
    std::size_t limit;      ///< a write's maximum
  };
  std::deque<step> reads_;
  std::deque<step> writes_;
  std::size_t max_write_ = static_cast<std::size_t>(-1);
  bool yielding_ = false;
};

static_assert(kyoto::io::async_read<mock_stream> && kyoto::io::async_write<mock_stream>);

/// io_buf_writer.rs buf_writer and maybe_pending_buf_writer share this.
/// tokio's bytes 0..11 are the characters "0123456789ab" here.
task<> check_buffered_writes(io::buf_writer<mock_stream>& writer) {
  std::size_t n = co_await writer.write(bytes("01"));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(writer.buffer().empty()) << "2 >= capacity 2: written straight through";
  EXPECT_EQ(writer.get_ref().written, "01");

  n = co_await writer.write(bytes("2"));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(text(writer.buffer()), "2");
  EXPECT_EQ(writer.get_ref().written, "01");

  n = co_await writer.write(bytes("3"));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(text(writer.buffer()), "23");
  EXPECT_EQ(writer.get_ref().written, "01");

  co_await writer.flush();
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "0123");

  n = co_await writer.write(bytes("4"));
  EXPECT_EQ(n, 1u);
  n = co_await writer.write(bytes("5"));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(text(writer.buffer()), "45");
  EXPECT_EQ(writer.get_ref().written, "0123");

  n = co_await writer.write(bytes("6"));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(text(writer.buffer()), "6") << "the full buffer went out first";
  EXPECT_EQ(writer.get_ref().written, "012345");

  n = co_await writer.write(bytes("78"));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "012345678");

  n = co_await writer.write(bytes("9ab"));
  EXPECT_EQ(n, 3u);
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "0123456789ab");

  co_await writer.flush();
  EXPECT_TRUE(writer.buffer().empty());
  EXPECT_EQ(writer.get_ref().written, "0123456789ab");
}

// io_buf_writer.rs: buf_writer
IO_TEST(BufWriter, SmallWritesAreBufferedLargeOnesGoStraightThrough) {
  io::buf_writer<mock_stream> writer(mock_stream{}, 2);
  co_await check_buffered_writes(writer);
}

// io_buf_writer.rs: maybe_pending_buf_writer
IO_TEST(BufWriter, SmallWritesAreBufferedWhenTheInnerWriterSuspends) {
  mock_stream inner;
  inner.yielding();
  io::buf_writer<mock_stream> writer(std::move(inner), 2);
  co_await check_buffered_writes(writer);
}

// io_buf_writer.rs: buf_writer_inner_flushes
IO_TEST(BufWriter, FlushWritesTheBufferAndFlushesTheInnerWriter) {
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
IO_TEST(BufWriter, FlushWorksWhenTheInnerWriterSuspends) {
  mock_stream m;
  m.yielding();
  io::buf_writer<mock_stream> w(std::move(m), 3);
  const std::size_t n = co_await w.write(bytes("01"));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(w.get_ref().written.empty());
  co_await w.flush();
  EXPECT_EQ(std::move(w).into_inner().written, "01");
}

IO_TEST(BufWriter, FlushContinuesShortWritesOfTheInnerWriter) {
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

IO_TEST(BufWriter, AFailedFlushKeepsTheBytesNotYetWritten) {
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

IO_TEST(BufWriter, FlushThrowsWriteZeroWhenTheInnerWriterTakesNothing) {
  mock_stream m;
  m.then_write(0);
  io::buf_writer<mock_stream> w(std::move(m), 16);
  co_await w.write_all(bytes("abc"));
  try {
    co_await w.flush();
    ADD_FAILURE() << "flush did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), io::errc::write_zero);
  }
  EXPECT_EQ(text(w.buffer()), "abc");
}

IO_TEST(BufWriter, WriteAllLargerThanTheBufferGoesStraightThroughInFull) {
  mock_stream m;
  m.max_write(3);
  io::buf_writer<mock_stream> w(std::move(m), 4);
  co_await w.write_all(bytes("ab"));
  co_await w.write_all(bytes("0123456789"));
  EXPECT_EQ(w.get_ref().written, "ab0123456789") << "the buffer first, then the large write";
  EXPECT_TRUE(w.buffer().empty());
}

IO_TEST(BufWriter, WriteAllThatFitsIsBuffered) {
  io::buf_writer<mock_stream> w(mock_stream{}, 8);
  co_await w.write_all("abc");
  co_await w.write_all("defgh");
  EXPECT_EQ(w.get_ref().write_calls, 0);
  co_await w.write_all("i");
  EXPECT_EQ(w.get_ref().written, "abcdefgh");
  EXPECT_EQ(text(w.buffer()), "i");
}

IO_TEST(BufWriter, GenericWriteAllWorksThroughTheBuffer) {
  io::buf_writer<mock_stream> w(mock_stream{}, 8);
  co_await io::write_all(w, "hello");
  EXPECT_EQ(text(w.buffer()), "hello");
  co_await w.flush();
  EXPECT_EQ(w.get_ref().written, "hello");
}

IO_TEST(BufWriter, ShutdownFlushesThenShutsTheInnerWriterDown) {
  io::buf_writer<mock_stream> w(mock_stream{});
  co_await w.write_all("bye");
  co_await w.shutdown();
  EXPECT_EQ(w.get_ref().written, "bye");
  EXPECT_TRUE(w.get_ref().shut_down);
}

IO_TEST(BufWriter, DestroyingItLosesTheBufferedBytesAsDocumented) {
  mock_stream inner;
  {
    io::buf_writer<mock_stream&> w(inner);
    co_await w.write_all("lost");
  }
  EXPECT_TRUE(inner.written.empty()) << "flush() before dropping a buf_writer";
}

IO_TEST(BufWriter, ReadsGoStraightToTheInnerReader) {
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
