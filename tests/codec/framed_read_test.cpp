// kyoto::codec::framed_read: tokio-util 0.7.3's tests/framed_read.rs and
// framed_stream.rs (each test names the upstream one; tokio's "pending"
// steps become the mock's waits), plus the error model on bad input and
// cancel safety.
#include "codec_support.hpp"

#include <kyoto/codec.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace codec = kyoto::codec;
namespace io = kyoto::io;
using codec_test::frames_of;
using codec_test::next_of;
using codec_test::rest_of;
using codec_test::resumable_reader;
using codec_test::u32_codec;
using codec_test::u64_codec;
using kyoto::test::io_builder;
using kyoto::test::io_mock;

/// An async_stream as the other branch defines it: next() is awaitable and
/// gives an optional.
template <class S>
concept stream_like = requires(S& s) {
  { s.next() };
};
static_assert(stream_like<codec::framed_read<io_mock, codec::lines_codec>>);
static_assert(
    std::is_same_v<kyoto::detail::await_result_t<
                       decltype(std::declval<codec::framed_read<io_mock, u32_codec>&>().next())>,
                   std::optional<codec::frame_result<std::uint32_t>>>);

// framed_read.rs: read_multi_frame_in_packet
KYOTO_TEST(FramedRead, SeveralFramesInOnePacket) {
  codec::framed_read fr(
      io_builder().read(std::string_view("\0\0\0\0\0\0\0\x01\0\0\0\x02", 12)).build(), u32_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "1", "2", "<end>"));
}

// framed_read.rs: read_multi_frame_across_packets
KYOTO_TEST(FramedRead, FramesAcrossPackets) {
  codec::framed_read fr(io_builder()
                            .read(std::string_view("\0\0\0\0", 4))
                            .read(std::string_view("\0\0\0\x01", 4))
                            .read(std::string_view("\0\0\0\x02", 4))
                            .build(),
                        u32_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "1", "2", "<end>"));
}

// framed_read.rs: read_multi_frame_in_packet_after_codec_changed
KYOTO_TEST(FramedRead, TheCodecCanChangeBetweenFrames) {
  codec::framed_read fr(
      io_builder().read(std::string_view("\0\0\0\x04\0\0\0\0\0\0\0\x08", 12)).build(), u32_codec{});
  EXPECT_EQ(co_await next_of(fr), "4");
  auto fr64 = std::move(fr).map_decoder([](u32_codec) { return u64_codec{}; });
  EXPECT_EQ(co_await rest_of(fr64), frames_of("8", "<end>"));
}

// framed_read.rs: read_not_ready
KYOTO_TEST(FramedRead, WaitsForTheStream) {
  codec::framed_read fr(io_builder()
                            .wait(2ms)
                            .read(std::string_view("\0\0\0\0", 4))
                            .read(std::string_view("\0\0\0\x01", 4))
                            .build(),
                        u32_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "1", "<end>"));
}

// framed_read.rs: read_partial_then_not_ready
KYOTO_TEST(FramedRead, PartialThenWaitThenMore) {
  codec::framed_read fr(io_builder()
                            .read(std::string_view("\0\0", 2))
                            .wait(2ms)
                            .read(std::string_view("\0\0\0\0\0\x01\0\0\0\x02", 10))
                            .build(),
                        u32_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "1", "2", "<end>"));
}

// framed_read.rs: read_err
KYOTO_TEST(FramedRead, AReadErrorIsAnErrorItem) {
  codec::framed_read fr(io_builder().read_error(std::errc::io_error).build(), u32_codec{});
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  KYOTO_ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->is_io());
  EXPECT_EQ(err->code(), std::errc::io_error);
  EXPECT_NE(std::string(err->what()).find("kyoto::codec::framed_read"), std::string::npos);
}

// framed_read.rs: read_partial_then_err
KYOTO_TEST(FramedRead, PartialThenError) {
  codec::framed_read fr(
      io_builder().read(std::string_view("\0\0", 2)).read_error(std::errc::io_error).build(),
      u32_codec{});
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), std::errc::io_error);
}

// framed_read.rs: read_partial_would_block_then_err
KYOTO_TEST(FramedRead, PartialWaitThenError) {
  codec::framed_read fr(io_builder()
                            .read(std::string_view("\0\0", 2))
                            .wait(2ms)
                            .read_error(std::errc::io_error)
                            .build(),
                        u32_codec{});
  EXPECT_EQ(co_await next_of(fr), "<error>");
}

/// framed_read.rs' BigDecoder.
struct big_decoder {
  std::optional<std::uint32_t> decode(kyoto::bytes_mut& buf) {
    if (buf.size() < std::size_t{32} * 1024) return std::nullopt;
    buf.advance(std::size_t{32} * 1024);
    return 0;
  }
};

// framed_read.rs: huge_size
KYOTO_TEST(FramedRead, AFrameLargerThanTheInitialBuffer) {
  codec::framed_read fr(io_builder().read(std::string(std::size_t{32} * 1024, '\0')).build(),
                        big_decoder{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "<end>"));
}

// framed_read.rs: data_remaining_is_error
KYOTO_TEST(FramedRead, BytesLeftAtEndOfStreamAreAnError) {
  codec::framed_read fr(io_builder().read(std::string(5, '\0')).build(), u32_codec{});
  EXPECT_EQ(co_await next_of(fr), "0");
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::bytes_remaining_on_stream);
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

/// framed_read.rs' MyDecoder: frames only at end of stream.
struct eof_frames {
  std::vector<std::uint32_t> left{0, 1, 2, 3};
  std::optional<std::uint32_t> decode(kyoto::bytes_mut&) {
    ADD_FAILURE() << "decode() called with no bytes read";
    return std::nullopt;
  }
  std::optional<std::uint32_t> decode_eof(kyoto::bytes_mut&) {
    if (left.empty()) return std::nullopt;
    const std::uint32_t v = left.front();
    left.erase(left.begin());
    return v;
  }
};

// framed_read.rs: multi_frames_on_eof
KYOTO_TEST(FramedRead, DecodeEofMayGiveSeveralFrames) {
  codec::framed_read fr(io_builder().build(), eof_frames{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("0", "1", "2", "3", "<end>"));
}

// framed_read.rs: read_eof_then_resume
KYOTO_TEST(FramedRead, ResumesWhenTheStreamGivesMoreAfterItsEnd) {
  resumable_reader rd;
  for (std::string_view c :
       {std::string_view("\0\0\0\x01", 4), std::string_view(), std::string_view("\0\0\0\x02", 4),
        std::string_view(), std::string_view("\0\0\0\x03", 4)}) {
    rd.chunks.emplace_back(std::string(c));
  }
  codec::framed_read<resumable_reader&, u32_codec> fr(rd, u32_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("1", "<end>"));
  EXPECT_EQ(co_await rest_of(fr), frames_of("2", "<end>"));
  EXPECT_EQ(co_await rest_of(fr), frames_of("3", "<end>"));
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

// framed_stream.rs: return_none_after_error
KYOTO_TEST(FramedRead, EndsAfterAnErrorThenMayResume) {
  codec::framed_read fr(
      io_builder().read("abcdef").read_error(std::errc::io_error).read("more data").build(),
      codec::bytes_codec{});
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdef", "<error>", "<end>"));
  EXPECT_EQ(co_await next_of(fr), "more data");
}

// kyoto: bad input through the stream, and what follows it
KYOTO_TEST(FramedRead, AnOverLongLineIsReportedThenTheNextLineComes) {
  codec::framed_read fr(io_builder().read("short\nthis line is far too long\nok\n").build(),
                        codec::lines_codec(10));
  EXPECT_EQ(co_await next_of(fr), "short");
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::max_line_length_exceeded);
  EXPECT_EQ(co_await next_of(fr), "<end>") << "the stream ends after an error, as tokio's";
  EXPECT_EQ(co_await next_of(fr), "ok") << "and resumes, the long line skipped";
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

KYOTO_TEST(FramedRead, InvalidUtf8NamesTheCodec) {
  codec::framed_read fr(io_builder().read("\xc3\x28\n").build(), codec::lines_codec());
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::invalid_utf8);
  EXPECT_NE(std::string(err->what()).find("lines_codec"), std::string::npos);
}

KYOTO_TEST(FramedRead, ATruncatedFrameAtEndOfStreamIsAnError) {
  codec::framed_read fr(io_builder()
                            .read(std::string_view("\0\0\0\x09"
                                                   "abc",
                                                   7))
                            .build(),
                        codec::length_delimited_codec());
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::bytes_remaining_on_stream);
  EXPECT_EQ(fr.read_buffer().size(), 3u) << "the bytes are reported, not dropped";
}

KYOTO_TEST(FramedRead, ALastLineWithoutNewlineIsAFrame) {
  codec::framed_read fr(io_builder().read("one\ntwo").build(), codec::lines_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("one", "two", "<end>"));
}

KYOTO_TEST(FramedRead, ReadErrorsOtherThanSystemErrorPropagate) {
  struct throwing_reader {
    kyoto::task<std::size_t> read(std::span<std::byte>) {
      throw std::logic_error("bug");
      co_return 0;
    }
  };
  codec::framed_read fr(throwing_reader{}, codec::bytes_codec{});
  bool thrown = false;
  try {
    co_await fr.next();
  } catch (const std::logic_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
}

// kyoto: cancel safety. A next() that loses a select keeps what it read;
// the next call gives the frame.
KYOTO_TEST(FramedRead, ACancelledNextKeepsThePartialFrame) {
  auto [a, b] = io::duplex(64);
  codec::framed_read fr(std::move(b), codec::lines_codec());
  co_await io::write_all(a, "hel");
  auto first = co_await kyoto::select(fr.next(), kyoto::time::sleep(10ms));
  EXPECT_EQ(first.index(), 1u) << "no whole line yet: the sleep wins";
  EXPECT_EQ(fr.read_buffer().as_string_view(), "hel") << "the partial line stays buffered";
  co_await io::write_all(a, "lo\n");
  EXPECT_EQ(co_await next_of(fr), "hello");
  co_await a.shutdown();
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

KYOTO_TEST(FramedRead, ManyCancelledNextsLoseNothing) {
  auto [a, b] = io::duplex(8);
  auto writer = kyoto::spawn(
      [](io::duplex_stream w) -> kyoto::task<> {
        for (int i = 0; i < 200; ++i) {
          co_await io::write_all(w, std::to_string(i) + "\n");
          if (i % 7 == 0) co_await kyoto::time::sleep(1ms);
        }
      },
      std::move(a));
  codec::framed_read fr(std::move(b), codec::lines_codec());
  int expect = 0;
  int cancelled = 0;
  for (;;) {
    auto r = co_await kyoto::select(fr.next(), kyoto::yield_now());
    if (r.index() == 1) {
      ++cancelled;
      continue;
    }
    auto& item = std::get<0>(r);
    if (!item) break;
    KYOTO_ASSERT_TRUE(item->has_value());
    EXPECT_EQ(**item, std::to_string(expect));
    ++expect;
  }
  co_await writer;
  EXPECT_EQ(expect, 200);
  EXPECT_GT(cancelled, 0);
}

// tokio's FramedParts::read_buf through the constructor
KYOTO_TEST(FramedRead, DecodesAGivenBufferBeforeReading) {
  codec::framed_read fr(io_builder().read(std::string_view("\0\0\0\x02", 4)).build(), u32_codec{},
                        kyoto::bytes_mut(std::string_view("\0\0\0\x01", 4)));
  EXPECT_EQ(co_await rest_of(fr), frames_of("1", "2", "<end>"));
}

}  // namespace
