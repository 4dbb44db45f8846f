// kyoto::codec::framed_write: tokio-util 0.7.3's tests/framed_write.rs
// (each test names the upstream one), plus send/feed/flush/close, encoder
// errors and write errors.
#include "codec_support.hpp"

#include <kyoto/codec.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace {

namespace codec = kyoto::codec;
namespace io = kyoto::io;
using codec_test::recording_writer;
using codec_test::u32_codec;
using codec_test::u64_codec;
using kyoto::test::io_builder;

// framed_write.rs: write_multi_frame_in_packet
KYOTO_TEST(FramedWrite, FedFramesGoOutTogetherOnFlush) {
  codec::framed_write<recording_writer, u32_codec> fw(recording_writer{}, u32_codec{});
  co_await fw.feed(std::uint32_t{0});
  co_await fw.feed(std::uint32_t{1});
  co_await fw.feed(std::uint32_t{2});
  EXPECT_TRUE(fw.get_ref().writes.empty()) << "nothing written yet";
  EXPECT_EQ(fw.write_buffer().size(), 12u);
  co_await fw.flush();
  KYOTO_ASSERT_EQ(fw.get_ref().writes.size(), 1u);
  EXPECT_EQ(fw.get_ref().writes[0], std::string("\0\0\0\0\0\0\0\x01\0\0\0\x02", 12));
  EXPECT_EQ(fw.get_ref().flushes, 1);
}

// framed_write.rs: write_multi_frame_after_codec_changed
KYOTO_TEST(FramedWrite, TheCodecCanChangeBetweenFrames) {
  codec::framed_write fw(
      io_builder().write(std::string_view("\0\0\0\x04\0\0\0\0\0\0\0\x08", 12)).build(),
      u32_codec{});
  co_await fw.feed(std::uint32_t{4});
  auto fw64 = std::move(fw).map_encoder([](u32_codec) { return u64_codec{}; });
  co_await fw64.feed(std::uint64_t{8});
  EXPECT_FALSE(fw64.get_ref().is_done()) << "nothing written yet";
  co_await fw64.flush();
}

// framed_write.rs: write_hits_backpressure
KYOTO_TEST(FramedWrite, AFullBufferIsWrittenBeforeTheFeedCompletes) {
  constexpr std::uint32_t iter = 2 * 1024;  // 8 KiB of u32s: the boundary
  codec::framed_write<recording_writer, u32_codec> fw(recording_writer{}, u32_codec{});
  EXPECT_EQ(fw.backpressure_boundary(), 8u * 1024);
  for (std::uint32_t i = 0; i + 1 < iter; ++i)
    co_await fw.feed(i);
  EXPECT_TRUE(fw.get_ref().writes.empty()) << "below the boundary nothing is written";
  co_await fw.feed(iter - 1);  // reaches 8 KiB: written out
  KYOTO_ASSERT_EQ(fw.get_ref().writes.size(), 1u);
  EXPECT_EQ(fw.get_ref().writes[0].size(), 8u * 1024);
  EXPECT_EQ(fw.get_ref().flushes, 0) << "back-pressure writes, it does not flush";
  co_await fw.feed(iter);
  EXPECT_EQ(fw.write_buffer().size(), 4u);
  co_await fw.flush();
  KYOTO_ASSERT_EQ(fw.get_ref().writes.size(), 2u);
  EXPECT_EQ(fw.get_ref().writes[1], std::string("\0\0\x08\0", 4));
}

KYOTO_TEST(FramedWrite, TheBoundaryCanBeChanged) {
  codec::framed_write<recording_writer, codec::lines_codec> fw(recording_writer{},
                                                               codec::lines_codec());
  fw.set_backpressure_boundary(0);
  co_await fw.feed("a");
  co_await fw.feed("b");
  EXPECT_EQ(fw.get_ref().writes.size(), 2u) << "boundary 0: every feed writes";
}

KYOTO_TEST(FramedWrite, SendWritesAndFlushes) {
  codec::framed_write<recording_writer, codec::lines_codec> fw(recording_writer{},
                                                               codec::lines_codec());
  co_await fw.send("hello");
  EXPECT_EQ(fw.get_ref().all(), "hello\n");
  EXPECT_EQ(fw.get_ref().flushes, 1);
  co_await fw.close();
  EXPECT_EQ(fw.get_ref().shutdowns, 1);
}

KYOTO_TEST(FramedWrite, ShortWritesAreContinued) {
  recording_writer w;
  w.max_write = 3;
  codec::framed_write<recording_writer, codec::lines_codec> fw(std::move(w), codec::lines_codec());
  co_await fw.send("abcdefgh");
  EXPECT_EQ(fw.get_ref().all(), "abcdefgh\n");
  EXPECT_EQ(fw.get_ref().writes.size(), 3u);
}

KYOTO_TEST(FramedWrite, AnEncoderErrorIsThrownAndNothingIsBuffered) {
  codec::framed_write<recording_writer, codec::length_delimited_codec> fw(
      recording_writer{}, codec::length_delimited_codec::builder().max_frame_length(5).new_codec());
  bool thrown = false;
  try {
    co_await fw.send("abcdef");
  } catch (const codec::codec_error& e) {
    thrown = e.code() == codec::errc::frame_too_big;
  }
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(fw.write_buffer().empty());
  EXPECT_TRUE(fw.get_ref().writes.empty());
}

KYOTO_TEST(FramedWrite, AWriterTakingNothingIsWriteZero) {
  recording_writer w;
  w.take_nothing = true;
  codec::framed_write<recording_writer, codec::lines_codec> fw(std::move(w), codec::lines_codec());
  bool thrown = false;
  try {
    co_await fw.send("x");
  } catch (const std::system_error& e) {
    thrown = e.code() == io::errc::write_zero;
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(fw.write_buffer().as_string_view(), "x\n") << "what was not written stays buffered";
}

KYOTO_TEST(FramedWrite, AWriteErrorKeepsTheUnwrittenBytes) {
  codec::framed_write fw(
      io_builder().write("ab").write_error(std::errc::connection_reset).write("c\n").build(),
      codec::lines_codec());
  co_await fw.feed("abc");
  bool thrown = false;
  try {
    co_await fw.flush();
  } catch (const std::system_error& e) {
    thrown = e.code() == std::errc::connection_reset;
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(fw.write_buffer().as_string_view(), "c\n");
  co_await fw.flush();  // retried
}

}  // namespace
