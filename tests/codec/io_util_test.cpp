// kyoto::io's generic helpers: split (tokio 1.24's tests/io_split.rs),
// read_buf (io_read_buf.rs), the integer helpers (io_write_int.rs, plus
// round trips), write_buf, and empty / sink / repeat.
#include <kyoto/bytes.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/io/empty.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/read_buf.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/read_int.hpp>
#include <kyoto/io/repeat.hpp>
#include <kyoto/io/sink.hpp>
#include <kyoto/io/split.hpp>
#include <kyoto/io/write_buf.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/io/write_int.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

namespace io = kyoto::io;
using kyoto::test::io_builder;

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// tokio's test stream RW of io_split.rs: reads give 'z', writes take all.
struct rw {
  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    if (!buf.empty()) buf[0] = std::byte{'z'};
    co_return buf.empty() ? 0 : 1;
  }
  kyoto::task<std::size_t> write(std::span<const std::byte> buf) { co_return buf.size(); }
  kyoto::task<void> flush() { co_return; }
  kyoto::task<void> shutdown() { co_return; }
};

static_assert(io::async_read<io::read_half<rw>>);
static_assert(io::async_write<io::write_half<rw>>);
static_assert(!io::async_write<io::read_half<rw>>);
static_assert(!io::async_read<io::write_half<rw>>);
static_assert(io::async_read<io::empty_reader>);
static_assert(io::async_write<io::sink_writer>);
static_assert(io::async_read<io::repeat_reader>);
static_assert(io::async_read<io::duplex_stream> && io::async_write<io::duplex_stream>);
static_assert(io::async_read<kyoto::test::io_mock> && io::async_write<kyoto::test::io_mock>);

// io_split.rs: is_send_and_sync (C++: the halves move, and do not copy)
static_assert(std::is_nothrow_move_constructible_v<io::read_half<rw>>);
static_assert(!std::is_copy_constructible_v<io::write_half<rw>>);

// io_split.rs: split_stream_id
TEST(Split, HalvesKnowTheirPair) {
  auto [r1, w1] = io::split(rw{});
  auto [r2, w2] = io::split(rw{});
  EXPECT_TRUE(r1.is_pair_of(w1));
  EXPECT_FALSE(r1.is_pair_of(w2));
  EXPECT_TRUE(r2.is_pair_of(w2));
  EXPECT_FALSE(r2.is_pair_of(w1));
  EXPECT_TRUE(w1.is_pair_of(r1));
}

// io_split.rs: unsplit_ok
TEST(Split, UnsplitGivesTheStreamBack) {
  auto [r, w] = io::split(rw{});
  rw back = std::move(r).unsplit(std::move(w));
  (void)back;
}

// io_split.rs: unsplit_err1, unsplit_err2
TEST(Split, UnsplitOfHalvesFromTwoSplitsThrows) {
  auto [r1, w1] = io::split(rw{});
  auto [r2, w2] = io::split(rw{});
  EXPECT_THROW((void)std::move(r1).unsplit(std::move(w2)), std::logic_error);
  EXPECT_THROW((void)std::move(r2).unsplit(std::move(w1)), std::logic_error);
}

// kyoto: the halves of a duplex end used from two tasks at once
KYOTO_TEST(Split, HalvesWorkFromTwoTasksAtOnce) {
  auto [a, b] = io::duplex(4);
  auto [rd, wr] = io::split(std::move(a));
  auto echo = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        std::array<std::byte, 3> buf{};
        for (int i = 0; i < 100; ++i) {
          co_await io::read_exact(s, buf);
          co_await io::write_all(s, buf);
        }
      },
      std::move(b));
  auto writer = kyoto::spawn(
      [](io::write_half<io::duplex_stream> w) -> kyoto::task<> {
        for (int i = 0; i < 100; ++i)
          co_await io::write_all(w, "abc");
      },
      std::move(wr));
  std::string got;
  std::array<std::byte, 3> buf{};
  for (int i = 0; i < 100; ++i) {
    co_await io::read_exact(rd, buf);
    got += as_string(buf);
  }
  co_await writer;
  co_await echo;
  std::string want;
  for (int i = 0; i < 100; ++i)
    want += "abc";
  EXPECT_EQ(got, want);
}

// io_read_buf.rs: read_buf
KYOTO_TEST(ReadBuf, ReadsOnceIntoTheSpareRoom) {
  auto mock = io_builder().read("hello world").build();
  kyoto::bytes_mut buf;
  const std::size_t n = co_await io::read_buf(mock, buf);
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(buf, std::string_view("hello world"));
  const std::size_t end = co_await io::read_buf(mock, buf);
  EXPECT_EQ(end, 0u);
}

KYOTO_TEST(ReadBuf, AppendsAfterWhatIsThere) {
  auto mock = io_builder().read("world").build();
  kyoto::bytes_mut buf("hello ");
  co_await io::read_buf(mock, buf);
  EXPECT_EQ(buf, std::string_view("hello world"));
}

KYOTO_TEST(WriteBuf, WritesAChunkAndAdvances) {
  auto mock = io_builder().write("hello").build();
  kyoto::bytes b = kyoto::bytes::from_static("hello");
  const std::size_t n = co_await io::write_buf(mock, b);
  EXPECT_EQ(n, 5u);
  EXPECT_TRUE(b.empty());
  const std::size_t none = co_await io::write_buf(mock, b);
  EXPECT_EQ(none, 0u);
}

/// A writer that takes nothing (io_write_int.rs's Wr).
struct zero_writer {
  kyoto::task<std::size_t> write(std::span<const std::byte>) { co_return 0; }
  kyoto::task<void> flush() { co_return; }
  kyoto::task<void> shutdown() { co_return; }
};

// io_write_int.rs: write_int_should_err_if_write_count_0
KYOTO_TEST(WriteInt, FailsIfTheWriterTakesNothing) {
  zero_writer w;
  int errors = 0;
  try {
    co_await io::write_i8(w, 0);
  } catch (const std::system_error& e) {
    errors += e.code() == io::errc::write_zero;
  }
  try {
    co_await io::write_i32(w, 12);
  } catch (const std::system_error& e) {
    errors += e.code() == io::errc::write_zero;
  }
  EXPECT_EQ(errors, 2);
}

KYOTO_TEST(WriteInt, BigEndianUnlessLe) {
  auto mock = io_builder()
                  .write("\x01")
                  .write("\xff")
                  .write("\x01\x02")
                  .write("\x02\x01")
                  .write("\xff\xfe")
                  .write("\x01\x02\x03\x04")
                  .write("\x04\x03\x02\x01")
                  .write(std::string_view("\xff\xff\xff\xfe", 4))
                  .write(std::string_view("\x01\x02\x03\x04\x05\x06\x07\x08", 8))
                  .write(std::string_view("\x08\x07\x06\x05\x04\x03\x02\x01", 8))
                  .write(std::string_view("\xff\xff\xff\xff\xff\xff\xff\xfe", 8))
                  .write(std::string_view("\xfe\xff\xff\xff\xff\xff\xff\xff", 8))
                  .build();
  co_await io::write_u8(mock, 1);
  co_await io::write_i8(mock, -1);
  co_await io::write_u16(mock, 0x0102);
  co_await io::write_u16_le(mock, 0x0102);
  co_await io::write_i16(mock, -2);
  co_await io::write_u32(mock, 0x01020304);
  co_await io::write_u32_le(mock, 0x01020304);
  co_await io::write_i32(mock, -2);
  co_await io::write_u64(mock, 0x0102030405060708);
  co_await io::write_u64_le(mock, 0x0102030405060708);
  co_await io::write_i64(mock, -2);
  co_await io::write_i64_le(mock, -2);
}

KYOTO_TEST(ReadInt, RoundTripsEveryWidthBothWays) {
  auto [a, b] = io::duplex(64);
  co_await io::write_u8(a, 200);
  co_await io::write_i8(a, -100);
  co_await io::write_u16(a, 0xBEEF);
  co_await io::write_i16_le(a, -12345);
  co_await io::write_u32_le(a, 0xDEADBEEF);
  co_await io::write_i32(a, -7);
  co_await io::write_u64(a, 0x0123456789ABCDEF);
  co_await io::write_i64_le(a, -1234567890123);
  const std::uint8_t v1 = co_await io::read_u8(b);
  const std::int8_t v2 = co_await io::read_i8(b);
  const std::uint16_t v3 = co_await io::read_u16(b);
  const std::int16_t v4 = co_await io::read_i16_le(b);
  const std::uint32_t v5 = co_await io::read_u32_le(b);
  const std::int32_t v6 = co_await io::read_i32(b);
  const std::uint64_t v7 = co_await io::read_u64(b);
  const std::int64_t v8 = co_await io::read_i64_le(b);
  EXPECT_EQ(v1, 200);
  EXPECT_EQ(v2, -100);
  EXPECT_EQ(v3, 0xBEEF);
  EXPECT_EQ(v4, -12345);
  EXPECT_EQ(v5, 0xDEADBEEFu);
  EXPECT_EQ(v6, -7);
  EXPECT_EQ(v7, 0x0123456789ABCDEFu);
  EXPECT_EQ(v8, -1234567890123);
}

KYOTO_TEST(ReadInt, BigEndianAcrossShortReads) {
  auto mock = io_builder().read("\x01").read("\x02\x03").read("\x04").build();
  const std::uint32_t v = co_await io::read_u32(mock);
  EXPECT_EQ(v, 0x01020304u);
}

KYOTO_TEST(ReadInt, EndOfStreamFirstIsUnexpectedEof) {
  auto mock = io_builder().read("\x01\x02").build();
  std::string what;
  try {
    co_await io::read_u32(mock);
  } catch (const std::system_error& e) {
    EXPECT_TRUE(io::is_unexpected_eof(e));
    what = e.what();
  }
  EXPECT_NE(what.find("kyoto::io::read_u32"), std::string::npos) << what;
}

KYOTO_TEST(EmptySinkRepeat, BehaveAsTokios) {
  io::empty_reader e = io::empty();
  std::array<std::byte, 8> buf{};
  const std::size_t n = co_await e.read(buf);
  EXPECT_EQ(n, 0u);

  io::sink_writer s = io::sink();
  const std::size_t m = co_await s.write(buf);
  EXPECT_EQ(m, 8u);
  co_await s.flush();
  co_await s.shutdown();

  io::repeat_reader r = io::repeat(std::byte{'x'});
  const std::size_t k = co_await r.read(buf);
  EXPECT_EQ(k, 8u);
  EXPECT_EQ(as_string(buf), "xxxxxxxx");

  std::vector<std::byte> all;
  const std::size_t none = co_await io::read_to_end(e, all);
  EXPECT_EQ(none, 0u);
}

// The budget: a loop over repeat() yields to the other branch.
KYOTO_TEST(EmptySinkRepeat, RepeatIsCooperative) {
  auto forever = []() -> kyoto::task<int> {
    io::repeat_reader r = io::repeat(std::byte{1});
    std::array<std::byte, 16> buf{};
    for (;;)
      co_await r.read(buf);
  };
  const auto res = co_await kyoto::select(forever(), kyoto::yield_now());
  EXPECT_EQ(res.index(), 1u);
}

}  // namespace
