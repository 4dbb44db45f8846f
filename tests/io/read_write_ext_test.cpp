// kyoto::io::read_exact, read_to_end, read_to_string, write_all and the
// async_read/async_write concepts: ports of tokio 1.24's tests/io_read.rs,
// io_read_exact.rs, io_read_to_end.rs, io_read_to_string.rs, io_write.rs
// and io_write_all.rs, over a scripted mock stream and over loopback TCP.
#include "bytes.hpp"
#include "ct_test.hpp"
#include "errors.hpp"
#include "mock_stream.hpp"
#include "net_support.hpp"

#include <kyoto/fs/file.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/net/unix_stream.hpp>
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

// The concepts accept kyoto's streams, their halves, the buffered wrappers
// and the user-defined mock above; they reject what lacks the members.
static_assert(io::async_read<tcp_stream> && io::async_write<tcp_stream>);
static_assert(io::async_read<kyoto::net::tcp_read_half>);
static_assert(!io::async_write<kyoto::net::tcp_read_half>);
static_assert(io::async_write<kyoto::net::tcp_write_half>);
static_assert(!io::async_read<kyoto::net::tcp_write_half>);
static_assert(io::async_read<kyoto::net::unix_stream> && io::async_write<kyoto::net::unix_stream>);
static_assert(io::async_read<kyoto::fs::file> && io::async_write<kyoto::fs::file>);
static_assert(io::async_read<tcp_stream&> && io::async_write<mock_stream&>);
static_assert(io::async_read<io::buf_reader<mock_stream>>);
static_assert(io::async_write<io::buf_reader<mock_stream>>, "forwards the inner writer");
static_assert(!io::async_write<io::buf_reader<kyoto::net::tcp_read_half>>);
static_assert(io::async_write<io::buf_writer<mock_stream>>);
static_assert(io::async_read<io::buf_writer<mock_stream>>, "forwards the inner reader");
static_assert(!io::async_read<int> && !io::async_write<std::string>);

/// A reader whose read() does not return something convertible to size_t.
struct void_reader {
  task<> read(std::span<std::byte>) { co_return; }
};
static_assert(!io::async_read<void_reader>);

/// A reader that claims to have read more than it was given room for.
struct lying_reader {
  task<std::size_t> read(std::span<std::byte> buf) { co_return buf.size() + 1; }
};

/// Any async_read, through the concept only.
template <io::async_read R>
task<std::size_t> read_through_concept(R& r, std::span<std::byte> buf) {
  const std::size_t n = co_await r.read(buf);
  co_return n;
}

/// Any async_write, through the concept only.
template <io::async_write W>
task<std::size_t> write_through_concept(W& w, std::span<const std::byte> buf) {
  const std::size_t n = co_await w.write(buf);
  co_return n;
}

// io_read.rs: read
KYOTO_CT_TEST(ReadExt, ReadThroughTheConceptGivesTheReadersBytes) {
  mock_stream rd;
  rd.then_read("hello world");
  std::array<std::byte, 11> buf{};
  const std::size_t n = co_await read_through_concept(rd, buf);
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(text(buf), "hello world");
  EXPECT_EQ(rd.read_calls, 1);
}

// io_read.rs: read_buf_bad_async_read (tokio panics; kyoto throws)
KYOTO_CT_TEST(ReadExt, AReaderClaimingMoreThanTheBufferIsALogicError) {
  lying_reader rd;
  std::array<std::byte, 4> buf{};
  EXPECT_THROW(co_await io::read_exact(rd, buf), std::logic_error);
  std::vector<std::byte> all;
  EXPECT_THROW(co_await io::read_to_end(rd, all), std::logic_error);
  EXPECT_TRUE(all.empty());
}

// io_read_exact.rs: read_exact
KYOTO_CT_TEST(ReadExt, ReadExactFillsTheBufferAndLeavesTheRest) {
  mock_stream rd;
  rd.then_read("hello world");
  std::array<std::byte, 8> buf{};
  const std::size_t n = co_await io::read_exact(rd, buf);
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(text(buf), "hello wo");
  std::array<std::byte, 3> rest{};
  const std::size_t m = co_await rd.read(rest);
  EXPECT_EQ(text(std::span(rest).first(m)), "rld");
}

KYOTO_CT_TEST(ReadExt, ReadExactContinuesShortReads) {
  mock_stream rd;
  rd.yielding().then_read("he").then_read("l").then_read("lo!");
  std::array<std::byte, 5> buf{};
  co_await io::read_exact(rd, buf);
  EXPECT_EQ(text(buf), "hello");
  EXPECT_EQ(rd.read_calls, 3);
}

KYOTO_CT_TEST(ReadExt, ReadExactThrowsUnexpectedEofWhenTheStreamEndsFirst) {
  mock_stream rd;
  rd.then_read("abc");
  std::array<std::byte, 5> buf{};
  expect_error(co_await error_of(io::read_exact(rd, buf)), io::errc::unexpected_eof,
               "kyoto::io::read_exact");
  EXPECT_EQ(text(std::span(buf).first(3)), "abc") << "what arrived is at the front";
}

KYOTO_CT_TEST(ReadExt, ReadExactOfAnEmptyBufferReadsNothing) {
  mock_stream rd;
  const std::size_t n = co_await io::read_exact(rd, std::span<std::byte>());
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(rd.read_calls, 0);
}

KYOTO_CT_TEST(ReadExt, ReadExactPassesOnTheReadersError) {
  mock_stream rd;
  rd.then_read("ab").then_read_error(std::errc::connection_reset, "reset");
  std::array<std::byte, 5> buf{};
  expect_error(co_await error_of(io::read_exact(rd, buf)), std::errc::connection_reset, "reset");
}

// io_read_to_end.rs: read_to_end
KYOTO_CT_TEST(ReadExt, ReadToEndReadsEverything) {
  mock_stream rd;
  rd.then_read("hello world");
  std::vector<std::byte> buf;
  const std::size_t n = co_await io::read_to_end(rd, buf);
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(text(buf), "hello world");
}

KYOTO_CT_TEST(ReadExt, ReadToEndAppendsToWhatTheVectorHeld) {
  mock_stream rd;
  rd.yielding().then_read("def").then_read("").then_read("ghi");
  std::vector<std::byte> buf(3, std::byte{'x'});
  const std::size_t n = co_await io::read_to_end(rd, buf);
  EXPECT_EQ(n, 3u) << "a 0-byte read is the end of the stream";
  EXPECT_EQ(text(buf), "xxxdef");
}

// io_read_to_end.rs: read_to_end_uninit (tokio checks it reuses the spare
// capacity without re-initialising it; kyoto checks it reads into it)
KYOTO_CT_TEST(ReadExt, ReadToEndReadsIntoTheSpareCapacityFirst) {
  mock_stream rd;
  for (int i = 0; i < 33; ++i)
    rd.then_read("z");
  std::vector<std::byte> buf;
  buf.reserve(64);
  const std::byte* const storage = buf.data();
  co_await io::read_to_end(rd, buf);
  EXPECT_EQ(buf.size(), 33u);
  EXPECT_EQ(buf.capacity(), 64u) << "33 bytes fit: no reallocation";
  EXPECT_EQ(buf.data(), storage);
  EXPECT_EQ(rd.largest_read, 64u) << "the first read was given the whole spare capacity";
}

KYOTO_CT_TEST(ReadExt, ReadToEndGrowsGeometrically) {
  constexpr std::size_t total = 1 << 20;
  const std::string big(total, 'q');
  mock_stream rd;
  rd.then_read(big);
  std::vector<std::byte> buf;
  const std::size_t n = co_await io::read_to_end(rd, buf);
  EXPECT_EQ(n, total);
  EXPECT_EQ(buf.size(), total);
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{'q'}; }));
  // 32, 64, ... doubling: about log2(1 MiB / 32) = 15 reads, plus the one
  // that sees the end. Linear growth would take thousands.
  EXPECT_LE(rd.read_calls, 20);
}

KYOTO_CT_TEST(ReadExt, ReadToEndKeepsWhatWasReadBeforeAnError) {
  mock_stream rd;
  rd.then_read("def").then_read_error(std::errc::connection_reset, "whoops");
  std::vector<std::byte> buf;
  EXPECT_THROW(co_await io::read_to_end(rd, buf), std::system_error);
  EXPECT_EQ(text(buf), "def") << "as tokio's: the bytes read stay appended";
}

// io_read_to_string.rs: read_to_string
KYOTO_CT_TEST(ReadExt, ReadToStringReadsEverything) {
  mock_stream rd;
  rd.then_read("hello world");
  std::string s;
  const std::size_t n = co_await io::read_to_string(rd, s);
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(s, "hello world");
}

// io_read_to_string.rs: to_string_does_not_truncate_on_utf8_error
KYOTO_CT_TEST(ReadExt, ReadToStringLeavesTheStringAsItWasOnInvalidUtf8) {
  mock_stream rd;
  rd.then_read("\xff\xff\xff");
  std::string s = "abc";
  expect_error(co_await error_of(io::read_to_string(rd, s)), std::errc::illegal_byte_sequence,
               "stream did not contain valid UTF-8");
  EXPECT_EQ(s, "abc");
}

// io_read_to_string.rs: to_string_does_not_truncate_on_io_error
KYOTO_CT_TEST(ReadExt, ReadToStringLeavesTheStringAsItWasOnAnIoError) {
  mock_stream rd;
  rd.then_read("def").then_read_error(std::errc::io_error, "whoops");
  std::string s = "abc";
  expect_error(co_await error_of(io::read_to_string(rd, s)), std::errc::io_error, "whoops");
  EXPECT_EQ(s, "abc");
}

// io_read_to_string.rs: to_string_appends
KYOTO_CT_TEST(ReadExt, ReadToStringAppends) {
  mock_stream rd;
  rd.then_read("def");
  std::string s = "abc";
  const std::size_t n = co_await io::read_to_string(rd, s);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(s, "abcdef");
}

KYOTO_CT_TEST(ReadExt, ReadToStringAcceptsACharacterSplitAcrossReads) {
  mock_stream rd;
  rd.then_read("h\xc3").then_read("\xa9llo \xf0\x9f").then_read("\x98\x80");
  std::string s;
  co_await io::read_to_string(rd, s);
  EXPECT_EQ(s, "h\xc3\xa9llo \xf0\x9f\x98\x80");
}

KYOTO_CT_TEST(ReadExt, ReadToStringChecksUtf8AsRustDoes) {
  struct sample {
    std::string_view bytes;
    bool valid;
  };
  const std::array<sample, 12> samples{{
      {"plain ascii", true},
      {"\xc3\xa9", true},                   // U+00E9
      {"\xe2\x82\xac", true},               // U+20AC
      {"\xf4\x8f\xbf\xbf", true},           // U+10FFFF, the last code point
      {"\xc0\x80", false},                  // overlong NUL
      {"\xe0\x80\xaf", false},              // overlong '/'
      {"\xed\xa0\x80", false},              // a surrogate, U+D800
      {"\xf4\x90\x80\x80", false},          // above U+10FFFF
      {"\xc3", false},                      // truncated
      {"\x80", false},                      // a lone continuation byte
      {"\xf8\x88\x80\x80\x80", false},      // 5-byte form
      {std::string_view("a\0b", 3), true},  // NUL is valid
  }};
  for (const sample& c : samples) {
    mock_stream rd;
    rd.then_read(c.bytes);
    std::string s;
    bool threw = false;
    try {
      co_await io::read_to_string(rd, s);
    } catch (const std::system_error&) {
      threw = true;
    }
    EXPECT_EQ(!threw, c.valid) << testing::PrintToString(std::string(c.bytes));
  }
}

// io_write.rs: write
KYOTO_CT_TEST(WriteExt, WriteThroughTheConceptGivesWhatTheWriterTook) {
  mock_stream wr;
  wr.then_write(4);
  const std::size_t n = co_await write_through_concept(wr, bytes("hello world"));
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(wr.written, "hell");
}

// io_write_all.rs: write_all
KYOTO_CT_TEST(WriteExt, WriteAllContinuesShortWrites) {
  mock_stream wr;
  wr.max_write(4);
  co_await io::write_all(wr, bytes("hello world"));
  EXPECT_EQ(wr.written, "hello world");
  EXPECT_EQ(wr.write_calls, 3);
  EXPECT_EQ(wr.flush_calls, 0) << "write_all does not flush";
}

KYOTO_CT_TEST(WriteExt, WriteAllTakesAString) {
  mock_stream wr;
  wr.yielding().max_write(3);
  co_await io::write_all(wr, "hello");
  EXPECT_EQ(wr.written, "hello");
}

KYOTO_CT_TEST(WriteExt, WriteAllThrowsWriteZeroWhenTheWriterTakesNothing) {
  mock_stream wr;
  wr.then_write(2).then_write(0);
  expect_error(co_await error_of(io::write_all(wr, bytes("hello"))), io::errc::write_zero,
               "kyoto::io::write_all");
  EXPECT_EQ(wr.written, "he");
}

KYOTO_CT_TEST(WriteExt, WriteAllOfNothingWritesNothing) {
  mock_stream wr;
  co_await io::write_all(wr, std::span<const std::byte>());
  EXPECT_EQ(wr.write_calls, 0);
}

KYOTO_CT_TEST(WriteExt, WriteAllPassesOnTheWritersError) {
  mock_stream wr;
  wr.then_write(1).then_write_error(std::errc::broken_pipe, "gone");
  EXPECT_THROW(co_await io::write_all(wr, bytes("hello")), std::system_error);
  EXPECT_EQ(wr.written, "h");
}

// Over real sockets: the generic functions on tcp_stream and its halves.

KYOTO_TEST(ReadWriteExtTcp, WriteAllThenReadToEndCarryAMegabyte) {
  auto [client, server] = co_await connected_pair();
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>('a' + i % 26);
  auto writer = kyoto::spawn(
      [](tcp_stream s, std::string data) -> task<> {
        auto [rd, wr] = std::move(s).split();
        co_await io::write_all(wr, data);
        co_await wr.shutdown();
      },
      std::move(client), payload);
  std::vector<std::byte> got;
  const std::size_t n = co_await io::read_to_end(server, got);
  co_await writer;
  EXPECT_EQ(n, payload.size());
  EXPECT_TRUE(text(got) == payload);
}

KYOTO_TEST(ReadWriteExtTcp, ReadExactThenReadToStringOnAStream) {
  auto [client, server] = co_await connected_pair();
  co_await io::write_all(client, "HEAD:h\xc3\xa9llo");
  co_await client.shutdown();
  std::array<std::byte, 5> head{};
  co_await io::read_exact(server, head);
  EXPECT_EQ(text(head), "HEAD:");
  std::string rest;
  const std::size_t n = co_await io::read_to_string(server, rest);
  EXPECT_EQ(n, 6u);
  EXPECT_EQ(rest, "h\xc3\xa9llo");
}

KYOTO_TEST(ReadWriteExtTcp, ReadExactOnAReadHalfThrowsUnexpectedEofAtTheEnd) {
  auto [client, server] = co_await connected_pair();
  auto [rd, wr] = std::move(server).split();
  co_await io::write_all(client, "ab");
  co_await client.shutdown();
  std::array<std::byte, 3> buf{};
  expect_error(co_await error_of(io::read_exact(rd, buf)), io::errc::unexpected_eof);
}

}  // namespace
