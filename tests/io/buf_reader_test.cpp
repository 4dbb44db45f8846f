// kyoto::io::buf_reader and lines: ports of tokio 1.24's
// tests/io_buf_reader.rs, io_lines.rs, io_read_line.rs and
// io_read_until.rs, over a scripted mock stream and over loopback TCP.
// Not ported: the seek tests (kyoto::io has no AsyncSeek).
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

#include <algorithm>
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

std::vector<std::byte> byte_vec(std::initializer_list<int> values) {
  std::vector<std::byte> v;
  for (int x : values)
    v.push_back(static_cast<std::byte>(x));
  return v;
}

std::vector<std::byte> byte_vec(std::string_view s) {
  const auto b = bytes(s);
  return std::vector<std::byte>(b.begin(), b.end());
}

std::vector<std::byte> to_vec(std::span<const std::byte> b) {
  return std::vector<std::byte>(b.begin(), b.end());
}

/// A mock whose one read chunk is `values` (tokio's `&[u8]` reader).
mock_stream slice_reader(std::initializer_list<int> values) {
  std::string s;
  for (int x : values)
    s.push_back(static_cast<char>(x));
  mock_stream m;
  m.then_read(s);
  return m;
}

/// read_line into a line holding "Foo" fails with `code` and a message
/// containing `part`, and leaves the line `after`.
task<> expect_read_line_fails(io::buf_reader<mock_stream>& read, std::errc code,
                              std::string_view part, std::string_view after) {
  std::string line = "Foo";
  expect_error(co_await error_of(read.read_line(line)), code, part);
  EXPECT_EQ(line, after);
}

/// One step of a read_until or read_line test: the buffer holds `before`,
/// and the read must append `appended` and give its size.
struct read_step {
  std::string_view before;
  std::string_view appended;
};

/// read_until(delim) steps, in order.
task<> expect_read_until_steps(io::buf_reader<mock_stream>& rd, std::byte delim,
                               std::span<const read_step> steps) {
  for (const read_step& step : steps) {
    std::vector<std::byte> buf = byte_vec(step.before);
    EXPECT_EQ(co_await rd.read_until(delim, buf), step.appended.size());
    EXPECT_EQ(text(buf), std::string(step.before) + std::string(step.appended));
  }
}

/// read_line steps, in order.
task<> expect_read_line_steps(io::buf_reader<mock_stream>& rd, std::span<const read_step> steps) {
  for (const read_step& step : steps) {
    std::string line(step.before);
    EXPECT_EQ(co_await rd.read_line(line), step.appended.size());
    EXPECT_EQ(line, std::string(step.before) + std::string(step.appended));
  }
}

/// io_buf_reader.rs test_buffered_reader and maybe_pending share this.
task<> check_buffered_reads(io::buf_reader<mock_stream>& reader) {
  std::array<std::byte, 3> three{};
  std::size_t n = co_await reader.read(three);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(to_vec(three), byte_vec({5, 6, 7})) << "3 >= capacity 2: read straight through";
  EXPECT_TRUE(reader.buffer().empty());

  std::array<std::byte, 2> two{};
  n = co_await reader.read(two);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(to_vec(two), byte_vec({0, 1}));
  EXPECT_TRUE(reader.buffer().empty());

  std::array<std::byte, 1> one{};
  n = co_await reader.read(one);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(to_vec(one), byte_vec({2}));
  EXPECT_EQ(to_vec(reader.buffer()), byte_vec({3})) << "the refill read 2, 1 is left";

  three = {};
  n = co_await reader.read(three);
  EXPECT_EQ(n, 1u) << "what is buffered, without reading more";
  EXPECT_EQ(to_vec(three), byte_vec({3, 0, 0}));
  EXPECT_TRUE(reader.buffer().empty());

  n = co_await reader.read(three);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(to_vec(three), byte_vec({4, 0, 0}));
  EXPECT_TRUE(reader.buffer().empty());

  n = co_await reader.read(three);
  EXPECT_EQ(n, 0u);
}

// io_buf_reader.rs: test_buffered_reader
KYOTO_CT_TEST(BufReader, SmallReadsComeFromTheBufferLargeOnesBypassIt) {
  io::buf_reader<mock_stream> reader(slice_reader({5, 6, 7, 0, 1, 2, 3, 4}), 2);
  co_await check_buffered_reads(reader);
}

// io_buf_reader.rs: maybe_pending
KYOTO_CT_TEST(BufReader, SmallReadsComeFromTheBufferWhenTheInnerReaderSuspends) {
  mock_stream inner = slice_reader({5, 6, 7, 0, 1, 2, 3, 4});
  inner.yielding();
  io::buf_reader<mock_stream> reader(std::move(inner), 2);
  co_await check_buffered_reads(reader);
}

// io_buf_reader.rs: test_short_reads
KYOTO_CT_TEST(BufReader, ShortReadsOfTheInnerReaderArePassedOn) {
  mock_stream inner;
  inner.then_read("").then_read("a").then_read("bc").then_read("").then_read("d").then_read("");
  io::buf_reader<mock_stream> reader(std::move(inner));
  std::array<std::byte, 2> buf{};
  const std::array<std::size_t, 7> counts{0, 1, 2, 0, 1, 0, 0};
  for (const std::size_t expected : counts) {
    const std::size_t n = co_await reader.read(buf);
    EXPECT_EQ(n, expected);
  }
}

// io_buf_reader.rs: maybe_pending_buf_read
KYOTO_CT_TEST(BufReader, ReadUntilSpansRefillsOfASmallBuffer) {
  mock_stream inner = slice_reader({0, 1, 2, 3, 1, 0});
  inner.yielding();
  io::buf_reader<mock_stream> reader(std::move(inner), 2);
  std::vector<std::byte> v;
  co_await reader.read_until(std::byte{3}, v);
  EXPECT_EQ(v, byte_vec({0, 1, 2, 3}));
  v.clear();
  co_await reader.read_until(std::byte{1}, v);
  EXPECT_EQ(v, byte_vec({1}));
  v.clear();
  co_await reader.read_until(std::byte{8}, v);
  EXPECT_EQ(v, byte_vec({0}));
  v.clear();
  co_await reader.read_until(std::byte{9}, v);
  EXPECT_TRUE(v.empty());
}

// io_buf_reader.rs: test_fill_buf_wrapper (a loopback socket for tokio's
// duplex pipe)
KYOTO_TEST(BufReader, FillBufShowsTheBufferUntilConsumed) {
  auto [writer, server] = co_await connected_pair();
  io::buf_reader<tcp_stream> read(std::move(server));
  co_await writer.write_all(bytes("hello world"));

  std::span<const std::byte> got = co_await read.fill_buf();
  EXPECT_EQ(text(got), "hello world");
  read.consume(6);
  got = co_await read.fill_buf();
  EXPECT_EQ(text(got), "world");
  got = co_await read.fill_buf();
  EXPECT_EQ(text(got), "world") << "fill_buf does not read while bytes are buffered";
  read.consume(5);

  // The buffer is empty: fill_buf waits for the peer.
  task<std::span<const std::byte>> fill = read.fill_buf();
  task<> write = writer.write_all(bytes("foo bar"));
  auto [filled, done] = co_await kyoto::join(std::move(fill), std::move(write));
  EXPECT_EQ(text(filled), "foo bar");

  {
    tcp_stream closed = std::move(writer);
  }
  got = co_await read.fill_buf();
  EXPECT_EQ(text(got), "foo bar");
  read.consume(7);
  got = co_await read.fill_buf();
  EXPECT_TRUE(got.empty()) << "end of stream";
}

KYOTO_CT_TEST(BufReader, ConsumeStopsAtTheEndOfTheBuffer) {
  mock_stream inner;
  inner.then_read("abc").then_read("def");
  io::buf_reader<mock_stream> reader(std::move(inner));
  std::span<const std::byte> got = co_await reader.fill_buf();
  EXPECT_EQ(text(got), "abc");
  reader.consume(100);
  EXPECT_TRUE(reader.buffer().empty());
  got = co_await reader.fill_buf();
  EXPECT_EQ(text(got), "def");
}

KYOTO_CT_TEST(BufReader, ALargeReadIntoAnEmptyBufferGoesStraightToTheInnerReader) {
  mock_stream inner;
  inner.then_read("0123456789");
  io::buf_reader<mock_stream> reader(std::move(inner), 4);
  std::array<std::byte, 10> buf{};
  const std::size_t n = co_await reader.read(buf);
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(reader.get_ref().largest_read, 10u) << "the caller's buffer, not the 4-byte one";
  EXPECT_EQ(text(buf), "0123456789");
}

KYOTO_CT_TEST(BufReader, ManySmallReadsCostOneInnerRead) {
  mock_stream inner;
  inner.then_read("abcdefgh");
  io::buf_reader<mock_stream> reader(std::move(inner));
  std::string got;
  for (;;) {
    std::array<std::byte, 1> one{};
    const std::size_t n = co_await reader.read(one);
    if (n == 0) break;
    got += text(std::span(one).first(n));
  }
  EXPECT_EQ(got, "abcdefgh");
  EXPECT_EQ(reader.get_ref().read_calls, 2) << "one refill, one end of stream";
}

KYOTO_CT_TEST(BufReader, AnEmptyReadReadsNothing) {
  io::buf_reader<mock_stream> reader(slice_reader({1}));
  const std::size_t n = co_await reader.read(std::span<std::byte>());
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(reader.get_ref().read_calls, 0);
}

TEST(BufReader, ZeroCapacityIsRejected) {
  EXPECT_THROW(io::buf_reader<mock_stream>(mock_stream(), 0), std::invalid_argument);
}

KYOTO_CT_TEST(BufReader, GenericReadExactWorksThroughTheBuffer) {
  mock_stream inner;
  inner.then_read("hel").then_read("lo world");
  io::buf_reader<mock_stream> reader(std::move(inner), 4);
  std::array<std::byte, 5> buf{};
  co_await io::read_exact(reader, buf);
  EXPECT_EQ(text(buf), "hello");
  std::string rest;
  co_await io::read_to_string(reader, rest);
  EXPECT_EQ(rest, " world");
}

KYOTO_CT_TEST(BufReader, IntoInnerGivesTheReaderBackWithoutTheBufferedBytes) {
  mock_stream inner;
  inner.then_read("abcd").then_read("efgh");
  io::buf_reader<mock_stream> reader(std::move(inner), 2);
  std::array<std::byte, 1> one{};
  co_await reader.read(one);
  EXPECT_EQ(text(reader.buffer()), "b");
  mock_stream back = std::move(reader).into_inner();
  std::array<std::byte, 8> rest{};
  const std::size_t n = co_await back.read(rest);
  EXPECT_EQ(text(std::span(rest).first(n)), "cd") << "'b' was in the buffer and is lost";
}

KYOTO_CT_TEST(BufReader, ABorrowingReaderLeavesTheStreamWithItsOwner) {
  mock_stream inner;
  inner.then_read("line one\nline two\n");
  {
    io::buf_reader<mock_stream&> reader(inner);
    std::string line;
    co_await reader.read_line(line);
    EXPECT_EQ(line, "line one\n");
  }
  EXPECT_EQ(inner.read_calls, 1);
}

KYOTO_CT_TEST(BufReader, WritesGoStraightToTheInnerWriter) {
  io::buf_reader<mock_stream> rw(mock_stream{});
  const std::size_t n = co_await rw.write(bytes("ping"));
  EXPECT_EQ(n, 4u);
  co_await rw.flush();
  co_await rw.shutdown();
  EXPECT_EQ(rw.get_ref().written, "ping");
  EXPECT_EQ(rw.get_ref().flush_calls, 1);
  EXPECT_TRUE(rw.get_ref().shut_down);
}

// io_read_until.rs: read_until
KYOTO_CT_TEST(ReadUntil, ReadsUpToAndIncludingTheDelimiter) {
  io::buf_reader<mock_stream> rd(std::move(mock_stream().then_read("hello world")));
  constexpr read_step steps[] = {{"", "hello "}, {"", "world"}, {"", ""}};
  co_await expect_read_until_steps(rd, std::byte{' '}, steps);
}

// io_read_until.rs: read_until_not_all_ready
KYOTO_CT_TEST(ReadUntil, JoinsChunksAndAppends) {
  mock_stream mock;
  mock.then_read("Hello Wor")
      .then_read(
          "ld#Fizz\xff"
          "Buz")
      .then_read("z#1#2");
  io::buf_reader<mock_stream> read(std::move(mock));
  constexpr read_step steps[] = {{"We say ", "Hello World#"},
                                 {"I solve ",
                                  "Fizz\xff"
                                  "Buzz#"},
                                 {"", "1#"},
                                 {"", "2"}};
  co_await expect_read_until_steps(read, std::byte{'#'}, steps);
}

// io_read_until.rs: read_until_fail
KYOTO_CT_TEST(ReadUntil, KeepsWhatWasReadBeforeAnError) {
  mock_stream mock;
  mock.then_read("Hello \xffWor").then_read_error(std::errc::io_error, "The world has no end");
  io::buf_reader<mock_stream> read(std::move(mock));
  std::vector<std::byte> chunk = byte_vec("Foo");
  expect_error(co_await error_of(read.read_until(std::byte{'#'}, chunk)), std::errc::io_error,
               "The world has no end");
  EXPECT_EQ(text(chunk), "FooHello \xffWor");
}

// io_read_line.rs: read_line
KYOTO_CT_TEST(ReadLine, ReadsOneLineAtATime) {
  io::buf_reader<mock_stream> rd(std::move(mock_stream().then_read("hello\nworld\n\n")));
  constexpr read_step steps[] = {{"", "hello\n"}, {"", "world\n"}, {"", "\n"}, {"", ""}};
  co_await expect_read_line_steps(rd, steps);
}

// io_read_line.rs: read_line_not_all_ready
KYOTO_CT_TEST(ReadLine, JoinsChunksAndAppends) {
  mock_stream mock;
  mock.yielding().then_read("Hello Wor").then_read("ld\nFizzBuz").then_read("z\n1\n2");
  io::buf_reader<mock_stream> read(std::move(mock));
  constexpr read_step steps[] = {
      {"We say ", "Hello World\n"}, {"I solve ", "FizzBuzz\n"}, {"", "1\n"}, {"", "2"}};
  co_await expect_read_line_steps(read, steps);
}

// io_read_line.rs: read_line_invalid_utf8
KYOTO_CT_TEST(ReadLine, InvalidUtf8LeavesTheLineAsItWas) {
  io::buf_reader<mock_stream> read(std::move(mock_stream().then_read("Hello Wor\xffld.\n")));
  co_await expect_read_line_fails(read, std::errc::illegal_byte_sequence,
                                  "stream did not contain valid UTF-8", "Foo");
}

// io_read_line.rs: read_line_fail
KYOTO_CT_TEST(ReadLine, AnErrorKeepsTheValidBytesReadBeforeIt) {
  mock_stream mock;
  mock.then_read("Hello Wor").then_read_error(std::errc::io_error, "The world has no end");
  io::buf_reader<mock_stream> read(std::move(mock));
  co_await expect_read_line_fails(read, std::errc::io_error, "The world has no end",
                                  "FooHello Wor");
}

// io_read_line.rs: read_line_fail_and_utf8_fail
KYOTO_CT_TEST(ReadLine, AnErrorAfterInvalidUtf8LeavesTheLineAsItWas) {
  mock_stream mock;
  mock.then_read("Hello Wor")
      .then_read("\xff\xff\xff")
      .then_read_error(std::errc::io_error, "The world has no end");
  io::buf_reader<mock_stream> read(std::move(mock));
  // The I/O error, not the UTF-8 one.
  co_await expect_read_line_fails(read, std::errc::io_error, "The world has no end", "Foo");
}

// io_lines.rs: lines_inherent
KYOTO_CT_TEST(Lines, StripNewlinesAndCarriageReturns) {
  io::buf_reader<mock_stream> rd(std::move(mock_stream().then_read("hello\r\nworld\n\n")));
  io::lines<mock_stream> st = std::move(rd).lines();
  std::optional<std::string> b = co_await st.next_line();
  EXPECT_EQ(b, "hello");
  b = co_await st.next_line();
  EXPECT_EQ(b, "world");
  b = co_await st.next_line();
  EXPECT_EQ(b, "");
  b = co_await st.next_line();
  EXPECT_EQ(b, std::nullopt);
}

KYOTO_CT_TEST(Lines, ALastLineWithoutNewlineIsReturned) {
  mock_stream mock;
  mock.yielding().then_read("one\ntw").then_read("o\r").then_read("\nthr").then_read("ee");
  io::lines<mock_stream> st = io::buf_reader<mock_stream>(std::move(mock), 4).lines();
  std::vector<std::string> got;
  for (;;) {
    std::optional<std::string> line = co_await st.next_line();
    if (!line) break;
    got.push_back(std::move(*line));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
}

KYOTO_CT_TEST(Lines, AnInvalidLineIsDroppedAndTheNextOneRead) {
  mock_stream mock;
  mock.then_read("ok\nbad\xff\nfine\n");
  io::lines<mock_stream> st = io::buf_reader<mock_stream>(std::move(mock)).lines();
  std::optional<std::string> line = co_await st.next_line();
  EXPECT_EQ(line, "ok");
  EXPECT_THROW(co_await st.next_line(), std::system_error);
  line = co_await st.next_line();
  EXPECT_EQ(line, "fine");
}

// Cancel safety over real sockets (the select branch that wins is a yield:
// no timing is involved).

/// A loopback pair whose server end is in a buf_reader that holds "hel",
/// the start of a line the client has not finished: {client, reader}.
task<std::pair<tcp_stream, io::buf_reader<tcp_stream>>> reader_mid_line() {
  auto [client, server] = co_await connected_pair();
  io::buf_reader<tcp_stream> reader(std::move(server));
  co_await client.write_all(bytes("hel"));
  EXPECT_EQ(text(co_await reader.fill_buf()), "hel");
  co_return std::pair<tcp_stream, io::buf_reader<tcp_stream>>(std::move(client), std::move(reader));
}

KYOTO_TEST(Lines, NextLineCancelledMidLineLosesNothing) {
  auto [client, reader] = co_await reader_mid_line();
  io::lines<tcp_stream> lines = std::move(reader).lines();
  // next_line takes "hel" from the buffer, then waits for the socket: the
  // yield wins and the next_line is cancelled with a part of the line.
  auto v = co_await kyoto::select_biased(lines.next_line(), kyoto::yield_now());
  EXPECT_EQ(v.index(), 1u);
  co_await client.write_all(bytes("lo\n"));
  std::optional<std::string> line = co_await lines.next_line();
  EXPECT_EQ(line, "hello");
}

KYOTO_TEST(ReadLine, ACancelledReadLineLeavesTheLineAsItWasAndLosesThePart) {
  auto [client, reader] = co_await reader_mid_line();
  std::string line = "old:";
  auto v = co_await kyoto::select_biased(reader.read_line(line), kyoto::yield_now());
  EXPECT_EQ(v.index(), 1u);
  EXPECT_EQ(line, "old:");
  co_await client.write_all(bytes("lo\n"));
  co_await reader.read_line(line);
  EXPECT_EQ(line, "old:lo\n") << "documented: not cancel safe, as tokio's";
}

/// Sends `count` numbered lines in pieces of 1..13 bytes, yielding between.
task<> send_lines(tcp_stream& s, int count) {
  std::string all;
  for (int i = 0; i < count; ++i)
    all += "line " + std::to_string(i) + (i % 3 == 0 ? "\r\n" : "\n");
  std::size_t piece = 1;
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t n = std::min(piece, all.size() - at);
    co_await s.write_all(bytes(std::string_view(all).substr(at, n)));
    at += n;
    piece = piece % 13 + 1;
    co_await kyoto::yield_now();
  }
  co_await s.shutdown();
}

KYOTO_TEST(Lines, NextLineCancelledOftenLosesNoLine) {
  auto [client, server] = co_await connected_pair();
  constexpr int count = 500;
  auto sender = kyoto::spawn(send_lines, std::ref(client), count);
  io::lines<tcp_stream> lines = io::buf_reader<tcp_stream>(std::move(server), 16).lines();
  int next = 0;
  int cancelled = 0;
  // Until the last line, not until end of stream: a read cancelled after
  // it saw end of stream does not keep that news, so in this loop the
  // yield would win every round once the sender is done (see
  // docs/io.md, "Cancel safety").
  while (next < count) {
    auto v = co_await kyoto::select(lines.next_line(), kyoto::yield_now());
    if (v.index() == 1) {
      // Bounded, so that losing bytes fails the test instead of hanging it.
      KYOTO_ASSERT_LT(++cancelled, 1'000'000) << "stuck after " << next << " lines";
      continue;
    }
    std::optional<std::string>& line = std::get<0>(v);
    KYOTO_ASSERT_TRUE(line.has_value()) << "end of stream after " << next << " lines";
    EXPECT_EQ(*line, "line " + std::to_string(next));
    ++next;
  }
  co_await sender;
  std::optional<std::string> end = co_await lines.next_line();
  EXPECT_EQ(end, std::nullopt);
  EXPECT_GT(cancelled, 0) << "no next_line was cancelled: the test proved nothing";
}

KYOTO_TEST(BufReader, ReadCancelledBeforeDataArrivesLosesNothing) {
  auto [client, server] = co_await connected_pair();
  io::buf_reader<tcp_stream> reader(std::move(server));
  std::array<std::byte, 8> buf{};
  auto v = co_await kyoto::select_biased(reader.read(buf), kyoto::yield_now());
  EXPECT_EQ(v.index(), 1u) << "nothing was sent: the read waits";
  co_await client.write_all(bytes("abc"));
  const std::size_t n = co_await reader.read(buf);
  EXPECT_EQ(text(std::span(buf).first(n)), "abc");
}

}  // namespace
