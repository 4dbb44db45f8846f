// kyoto::codec::length_delimited_codec through framed_read / framed_write:
// tokio-util 0.7.3's tests/length_delimited.rs (each test names the
// upstream one; tokio's Pending steps become the mock's waits, and its
// write mock's packets are checked as the bytes written).
#include "codec_support.hpp"

#include <kyoto/codec.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace codec = kyoto::codec;
using codec::length_delimited_codec;
using codec_test::frames_of;
using codec_test::next_of;
using codec_test::recording_writer;
using codec_test::rest_of;
using kyoto::test::io_builder;
using kyoto::test::io_mock;

std::string_view sv(const char* s, std::size_t n) {
  return {s, n};
}

/// A frame as the default codec writes it: the payload's length as 4
/// big-endian bytes, then the payload.
std::string be_frame(std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  const char head[] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  return std::string(head, 4) + std::string(payload);
}

using reader = codec::framed_read<io_mock, length_delimited_codec>;
using writer = codec::framed_write<recording_writer, length_delimited_codec>;

// length_delimited.rs: read_empty_io_yields_nothing
KYOTO_TEST(LengthDelimited, AnEmptyStreamYieldsNothing) {
  reader fr(io_builder().build(), length_delimited_codec());
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

// length_delimited.rs: read_single_frame_one_packet
KYOTO_TEST(LengthDelimited, ReadsOneFrame) {
  reader fr(io_builder().read(be_frame("abcdefghi")).build(), length_delimited_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_single_frame_one_packet_little_endian
KYOTO_TEST(LengthDelimited, ReadsLittleEndian) {
  reader fr(io_builder()
                .read(sv("\x09\0\0\0"
                         "abcdefghi",
                         13))
                .build(),
            length_delimited_codec::builder().little_endian().new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_single_frame_one_packet_native_endian
KYOTO_TEST(LengthDelimited, ReadsNativeEndian) {
  const std::string d = std::endian::native == std::endian::big ? be_frame("abcdefghi")
                                                                : std::string(sv("\x09\0\0\0"
                                                                                 "abcdefghi",
                                                                                 13));
  reader fr(io_builder().read(d).build(),
            length_delimited_codec::builder().native_endian().new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_single_multi_frame_one_packet
KYOTO_TEST(LengthDelimited, ReadsSeveralFramesFromOnePacket) {
  std::string d;
  d += be_frame("abcdefghi");
  d += be_frame("123");
  d += be_frame("hello world");
  reader fr(io_builder().read(d).build(), length_delimited_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "123", "hello world", "<end>"));
}

// length_delimited.rs: read_single_frame_multi_packet
KYOTO_TEST(LengthDelimited, ReadsAFrameFromSeveralPackets) {
  reader fr(io_builder()
                .read(sv("\0\0", 2))
                .read(sv("\0\x09"
                         "abc",
                         5))
                .read("defghi")
                .build(),
            length_delimited_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_multi_frame_multi_packet
KYOTO_TEST(LengthDelimited, ReadsFramesAcrossPackets) {
  reader fr(io_builder()
                .read(sv("\0\0", 2))
                .read(sv("\0\x09"
                         "abc",
                         5))
                .read("defghi")
                .read(sv("\0\0\0\x03"
                         "12",
                         6))
                .read(sv("3\0\0\0\x0b"
                         "hello world",
                         16))
                .build(),
            length_delimited_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "123", "hello world", "<end>"));
}

// length_delimited.rs: read_single_frame_multi_packet_wait,
// read_multi_frame_multi_packet_wait
KYOTO_TEST(LengthDelimited, ReadsFramesAcrossPacketsWithWaits) {
  reader fr(io_builder()
                .read(sv("\0\0", 2))
                .wait(1ms)
                .read(sv("\0\x09"
                         "abc",
                         5))
                .wait(1ms)
                .read("defghi")
                .wait(1ms)
                .read(sv("\0\0\0\x03"
                         "12",
                         6))
                .wait(1ms)
                .read(sv("3\0\0\0\x0b"
                         "hello world",
                         16))
                .wait(1ms)
                .build(),
            length_delimited_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "123", "hello world", "<end>"));
}

// length_delimited.rs: read_incomplete_head, read_incomplete_head_multi
KYOTO_TEST(LengthDelimited, AnIncompleteHeadIsAnError) {
  reader fr(io_builder().wait(1ms).read(sv("\0", 1)).wait(1ms).build(), length_delimited_codec());
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::bytes_remaining_on_stream);
}

// length_delimited.rs: read_incomplete_payload
KYOTO_TEST(LengthDelimited, AnIncompletePayloadIsAnError) {
  reader fr(io_builder()
                .read(sv("\0\0\0\x09"
                         "ab",
                         6))
                .wait(1ms)
                .read("cd")
                .wait(1ms)
                .build(),
            length_delimited_codec());
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::bytes_remaining_on_stream);
}

// length_delimited.rs: read_max_frame_len
KYOTO_TEST(LengthDelimited, AFrameOverTheMaximumIsAnError) {
  reader fr(io_builder().read(be_frame("abcdefghi")).build(),
            length_delimited_codec::builder().max_frame_length(5).new_codec());
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::frame_too_big);
  const std::string what = err->what();
  EXPECT_NE(what.find("length_delimited_codec"), std::string::npos) << what;
  EXPECT_NE(what.find("9 bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("max_frame_length 5"), std::string::npos) << what;
  EXPECT_EQ(co_await next_of(fr), "<end>");
}

// kyoto: the default maximum bounds the buffer
KYOTO_TEST(LengthDelimited, AHugeAnnouncedFrameFailsBeforeItIsBuffered) {
  reader fr(io_builder()
                .read(sv("\x7f\xff\xff\xff"
                         "abc",
                         7))
                .build(),
            length_delimited_codec());
  EXPECT_EQ(fr.decoder().max_frame_length(), 8u * 1024 * 1024);
  std::optional<codec::codec_error> err;
  EXPECT_EQ(co_await next_of(fr, &err), "<error>");
  EXPECT_EQ(err->code(), codec::errc::frame_too_big);
  EXPECT_LT(fr.read_buffer().capacity(), 64u * 1024) << "nothing was reserved for the frame";
}

// length_delimited.rs: read_update_max_frame_len_at_rest
KYOTO_TEST(LengthDelimited, TheMaximumChangesAtRest) {
  reader fr(io_builder().read(be_frame("abcdefghi")).read(be_frame("abcdefghi")).build(),
            length_delimited_codec());
  EXPECT_EQ(co_await next_of(fr), "abcdefghi");
  fr.decoder().set_max_frame_length(5);
  EXPECT_EQ(co_await next_of(fr), "<error>");
}

// length_delimited.rs: read_update_max_frame_len_in_flight
KYOTO_TEST(LengthDelimited, TheMaximumChangedInFlightAppliesToTheNextHead) {
  reader fr(io_builder()
                .read(sv("\0\0\0\x09"
                         "abcd",
                         8))
                .wait(1ms)
                .read("efghi")
                .read(be_frame("abcdefghi"))
                .build(),
            length_delimited_codec());
  auto partial = co_await kyoto::select(fr.next(), kyoto::yield_now());
  EXPECT_EQ(partial.index(), 1u) << "the frame is not complete yet";
  fr.decoder().set_max_frame_length(5);
  EXPECT_EQ(co_await next_of(fr), "abcdefghi");
  EXPECT_EQ(co_await next_of(fr), "<error>");
}

// length_delimited.rs: read_one_byte_length_field
KYOTO_TEST(LengthDelimited, AOneByteLengthField) {
  reader fr(io_builder()
                .read(sv("\x09"
                         "abcdefghi",
                         10))
                .build(),
            length_delimited_codec::builder().length_field_length(1).new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_header_offset
KYOTO_TEST(LengthDelimited, AHeaderOffset) {
  reader fr(
      io_builder()
          .read(sv("zzzz\0\x09"
                   "abcdefghi",
                   15))
          .build(),
      length_delimited_codec::builder().length_field_length(2).length_field_offset(4).new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "<end>"));
}

// length_delimited.rs: read_single_multi_frame_one_packet_skip_none_adjusted
KYOTO_TEST(LengthDelimited, KeepingTheHeadWithAnAdjustment) {
  // Each frame comes out whole, head included.
  const std::vector<std::string> sent{std::string(sv("xx\0\x09"
                                                     "abcdefghi",
                                                     13)),
                                      std::string(sv("yy\0\x03"
                                                     "123",
                                                     7)),
                                      std::string(sv("zz\0\x0b"
                                                     "hello world",
                                                     15))};
  std::string d;
  for (const std::string& f : sent)
    d += f;
  reader fr(io_builder().read(d).build(), length_delimited_codec::builder()
                                              .length_field_length(2)
                                              .length_field_offset(2)
                                              .num_skip(0)
                                              .length_adjustment(4)
                                              .new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of(sent[0], sent[1], sent[2], "<end>"));
}

// length_delimited.rs: read_single_frame_length_adjusted
KYOTO_TEST(LengthDelimited, SkippingMoreThanTheField) {
  reader fr(io_builder().read(sv("\0\0\x0b\x0cHello world", 15)).build(),
            length_delimited_codec::builder()
                .length_field_offset(0)
                .length_field_length(3)
                .length_adjustment(0)
                .num_skip(4)
                .new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("Hello world", "<end>"));
}

// length_delimited.rs: read_single_multi_frame_one_packet_length_includes_head
KYOTO_TEST(LengthDelimited, ALengthThatCountsTheHead) {
  std::string d;
  d +=
      sv("\0\x0b"
         "abcdefghi",
         11);
  d +=
      sv("\0\x05"
         "123",
         5);
  d +=
      sv("\0\x0d"
         "hello world",
         13);
  reader fr(
      io_builder().read(d).build(),
      length_delimited_codec::builder().length_field_length(2).length_adjustment(-2).new_codec());
  EXPECT_EQ(co_await rest_of(fr), frames_of("abcdefghi", "123", "hello world", "<end>"));
}

// length_delimited.rs: write_single_frame_length_adjusted
KYOTO_TEST(LengthDelimited, WritesWithAnAdjustment) {
  writer fw(recording_writer{},
            length_delimited_codec::builder().length_adjustment(-2).new_codec());
  co_await fw.send("abcdefghi");
  EXPECT_EQ(fw.get_ref().all(), std::string(sv("\0\0\0\x0b"
                                               "abcdefghi",
                                               13)));
  EXPECT_EQ(fw.get_ref().flushes, 1);
}

// length_delimited.rs: write_nothing_yields_nothing
KYOTO_TEST(LengthDelimited, FlushingNothingWritesNothing) {
  writer fw(recording_writer{}, length_delimited_codec());
  co_await fw.flush();
  EXPECT_TRUE(fw.get_ref().writes.empty());
}

// length_delimited.rs: write_single_frame_one_packet
KYOTO_TEST(LengthDelimited, WritesOneFrame) {
  writer fw(recording_writer{}, length_delimited_codec());
  co_await fw.send("abcdefghi");
  EXPECT_EQ(fw.get_ref().all(), be_frame("abcdefghi"));
}

// length_delimited.rs: write_single_multi_frame_one_packet,
// write_single_multi_frame_multi_packet
KYOTO_TEST(LengthDelimited, WritesSeveralFrames) {
  writer fw(recording_writer{}, length_delimited_codec());
  co_await fw.feed("abcdefghi");
  co_await fw.feed("123");
  co_await fw.feed("hello world");
  co_await fw.flush();
  EXPECT_EQ(fw.get_ref().writes.size(), 1u);
  co_await fw.send("abcdefghi");
  co_await fw.send("123");
  EXPECT_EQ(fw.get_ref().flushes, 3);
  std::string want;
  want += be_frame("abcdefghi");
  want += be_frame("123");
  want += be_frame("hello world");
  want += be_frame("abcdefghi");
  want += be_frame("123");
  EXPECT_EQ(fw.get_ref().all(), want);
}

// length_delimited.rs: write_single_frame_would_block
KYOTO_TEST(LengthDelimited, WritesThroughWaits) {
  codec::framed_write fw(io_builder()
                             .wait(1ms)
                             .write(sv("\0\0", 2))
                             .wait(1ms)
                             .write(sv("\0\x09", 2))
                             .write("abcdefghi")
                             .build(),
                         length_delimited_codec());
  co_await fw.send("abcdefghi");
}

// length_delimited.rs: write_single_frame_little_endian
KYOTO_TEST(LengthDelimited, WritesLittleEndian) {
  writer fw(recording_writer{}, length_delimited_codec::builder().little_endian().new_codec());
  co_await fw.send("abcdefghi");
  EXPECT_EQ(fw.get_ref().all(), std::string(sv("\x09\0\0\0"
                                               "abcdefghi",
                                               13)));
}

// length_delimited.rs: write_single_frame_with_short_length_field
KYOTO_TEST(LengthDelimited, WritesAOneByteLengthField) {
  writer fw(recording_writer{},
            length_delimited_codec::builder().length_field_length(1).new_codec());
  co_await fw.send("abcdefghi");
  EXPECT_EQ(fw.get_ref().all(), std::string(sv("\x09"
                                               "abcdefghi",
                                               10)));
}

// length_delimited.rs: write_max_frame_len
KYOTO_TEST(LengthDelimited, WritingAFrameOverTheMaximumThrows) {
  writer fw(recording_writer{}, length_delimited_codec::builder().max_frame_length(5).new_codec());
  EXPECT_THROW((void)fw.feed("abcdef"), codec::codec_error);
  EXPECT_TRUE(fw.get_ref().writes.empty());
  co_return;
}

// length_delimited.rs: write_update_max_frame_len_at_rest
KYOTO_TEST(LengthDelimited, TheWriteMaximumChangesAtRest) {
  writer fw(recording_writer{}, length_delimited_codec());
  co_await fw.send("abcdef");
  fw.encoder().set_max_frame_length(5);
  EXPECT_THROW((void)fw.feed("abcdef"), codec::codec_error);
  EXPECT_EQ(fw.get_ref().all(), be_frame("abcdef"));
}

// length_delimited.rs: write_update_max_frame_len_in_flight
KYOTO_TEST(LengthDelimited, TheWriteMaximumChangedInFlightAppliesToTheNextFrame) {
  codec::framed_write fw(io_builder()
                             .write(sv("\0\0\0\x06"
                                       "ab",
                                       6))
                             .wait(2ms)
                             .write("cdef")
                             .build(),
                         length_delimited_codec());
  co_await fw.feed("abcdef");
  fw.encoder().set_max_frame_length(5);
  co_await fw.flush();
  EXPECT_THROW((void)fw.feed("abcdef"), codec::codec_error);
}

// length_delimited.rs: write_zero
KYOTO_TEST(LengthDelimited, AWriterTakingNothingFailsTheFlush) {
  recording_writer w;
  w.take_nothing = true;
  writer fw(std::move(w), length_delimited_codec());
  co_await fw.feed("abcdef");
  bool thrown = false;
  try {
    co_await fw.flush();
  } catch (const std::system_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
}

// length_delimited.rs: encode_overflow (tokio issue 681)
TEST(LengthDelimited, EncodingGrowsAFullBuffer) {
  length_delimited_codec c;
  kyoto::bytes_mut buf = kyoto::bytes_mut::with_capacity(1024);
  buf.put_bytes(std::byte{'a'}, 1024);
  c.encode("hello", buf);
  EXPECT_EQ(buf.size(), 1024u + 4 + 5);
}

TEST(LengthDelimited, ALengthThatDoesNotFitTheFieldIsAnError) {
  length_delimited_codec c = length_delimited_codec::builder().length_field_length(1).new_codec();
  kyoto::bytes_mut buf;
  const std::string big(256, 'x');
  EXPECT_THROW(c.encode(big, buf), codec::codec_error);
  EXPECT_TRUE(buf.empty());
}

TEST(LengthDelimited, TheFieldLengthMustBeOneToEight) {
  EXPECT_THROW(length_delimited_codec::builder().length_field_length(0), std::invalid_argument);
  EXPECT_THROW(length_delimited_codec::builder().length_field_length(9), std::invalid_argument);
  EXPECT_NO_THROW(length_delimited_codec::builder().length_field_length(8));
}

}  // namespace
