// kyoto::codec's codecs on their own: tokio-util 0.7.3's tests/codecs.rs
// (each test names the upstream one), plus kyoto's bad-input cases
// (invalid UTF-8, bounded buffering, the error messages).
#include <kyoto/bytes.hpp>
#include <kyoto/codec/any_delimiter_codec.hpp>
#include <kyoto/codec/bytes_codec.hpp>
#include <kyoto/codec/codec_error.hpp>
#include <kyoto/codec/decoder.hpp>
#include <kyoto/codec/encoder.hpp>
#include <kyoto/codec/lines_codec.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace codec = kyoto::codec;
using codec::codec_error;
using kyoto::bytes;
using kyoto::bytes_mut;

static_assert(codec::decoder<codec::lines_codec>);
static_assert(codec::decoder<codec::bytes_codec>);
static_assert(codec::decoder<codec::any_delimiter_codec>);
static_assert(codec::encoder<codec::lines_codec, std::string_view>);
static_assert(codec::encoder<codec::bytes_codec, kyoto::bytes>);
static_assert(codec::encoder<codec::any_delimiter_codec, const char (&)[3]>);
static_assert(std::is_same_v<codec::decoder_item_t<codec::lines_codec>, std::string>);

/// The error code a call throws (or a default code if none).
template <class F>
std::error_code thrown(F&& f) {
  try {
    f();
  } catch (const codec_error& e) {
    return e.code();
  }
  return {};
}

// codecs.rs: bytes_decoder
TEST(BytesCodec, DecodesWhatIsBuffered) {
  codec::bytes_codec c;
  bytes_mut buf;
  buf.put_slice(std::string_view("abc"));
  EXPECT_EQ(*c.decode(buf), std::string_view("abc"));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("a"));
  EXPECT_EQ(*c.decode(buf), std::string_view("a"));
}

// codecs.rs: bytes_encoder
TEST(BytesCodec, EncodesAndGrows) {
  codec::bytes_codec c;
  bytes_mut buf;
  const std::vector<std::byte> big(32, std::byte{0});
  c.encode(std::span<const std::byte>(big), buf);
  bytes_mut buf2 = bytes_mut::with_capacity(std::size_t{8} * 1024);
  const std::vector<std::byte> bigger(8 * 1024 + 1, std::byte{0});
  c.encode(std::span<const std::byte>(bigger), buf2);
  c.encode(bytes_mut(std::string_view("hello")), buf2);
  EXPECT_EQ(buf2.size(), 8 * 1024 + 1 + 5);
}

// codecs.rs: lines_decoder
TEST(LinesCodec, DecodesLinesWithoutTheirEnding) {
  codec::lines_codec c;
  bytes_mut buf;
  buf.reserve(200);
  buf.put_slice(std::string_view("line 1\nline 2\r\nline 3\n\r\n\r"));
  EXPECT_EQ(c.decode(buf), "line 1");
  EXPECT_EQ(c.decode(buf), "line 2");
  EXPECT_EQ(c.decode(buf), "line 3");
  EXPECT_EQ(c.decode(buf), "");
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), std::nullopt);
  buf.put_slice(std::string_view("k"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), "\rk");
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), std::nullopt);
}

// codecs.rs: lines_decoder_max_length
TEST(LinesCodec, AnOverLongLineIsAnErrorThenSkipped) {
  codec::lines_codec c(6);
  bytes_mut buf;
  buf.reserve(200);
  buf.put_slice(std::string_view("line 1 is too long\nline 2\nline 3\r\nline 4\n\r\n\r"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
  EXPECT_EQ(c.decode(buf), "line 2");
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
  EXPECT_EQ(c.decode(buf), "line 4");
  EXPECT_EQ(c.decode(buf), "");
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), std::nullopt);
  buf.put_slice(std::string_view("k"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), "\rk");
  EXPECT_EQ(c.decode(buf), std::nullopt);
  EXPECT_EQ(c.decode_eof(buf), std::nullopt);
  // One character too long.
  buf.put_slice(std::string_view("aaabbbc"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
}

// codecs.rs: lines_decoder_max_length_underrun
TEST(LinesCodec, MaxLengthUnderrun) {
  codec::lines_codec c(6);
  bytes_mut buf;
  buf.put_slice(std::string_view("line "));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("too l"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
  buf.put_slice(std::string_view("ong\n"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("line 2"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("\n"));
  EXPECT_EQ(c.decode(buf), "line 2");
}

// codecs.rs: lines_decoder_max_length_bursts
TEST(LinesCodec, MaxLengthBursts) {
  codec::lines_codec c(10);
  bytes_mut buf;
  buf.put_slice(std::string_view("line "));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("too l"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("ong\n"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
}

// codecs.rs: lines_decoder_max_length_big_burst
TEST(LinesCodec, MaxLengthBigBurst) {
  codec::lines_codec c(10);
  bytes_mut buf;
  buf.put_slice(std::string_view("line "));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("too long!\n"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
}

// codecs.rs: lines_decoder_max_length_newline_between_decodes
TEST(LinesCodec, NewlineBetweenDecodes) {
  codec::lines_codec c(5);
  bytes_mut buf;
  buf.put_slice(std::string_view("hello"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("\nworld"));
  EXPECT_EQ(c.decode(buf), "hello");
}

// codecs.rs: lines_decoder_discard_repeat (tokio issue 1483)
TEST(LinesCodec, DiscardRepeatDoesNotLoop) {
  codec::lines_codec c(1);
  bytes_mut buf;
  buf.put_slice(std::string_view("aa"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
  buf.put_slice(std::string_view("a"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
}

// codecs.rs: lines_decoder_max_length_underrun_twice (tokio issue 3555)
TEST(LinesCodec, MaxLengthUnderrunTwice) {
  codec::lines_codec c(11);
  bytes_mut buf;
  buf.put_slice(std::string_view("line "));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("too very l"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_line_length_exceeded);
  buf.put_slice(std::string_view("aaaaaaaaaaaaaaaaaaaaaaa"));
  EXPECT_EQ(c.decode(buf), std::nullopt);
  buf.put_slice(std::string_view("ong\nshort\n"));
  EXPECT_EQ(c.decode(buf), "short");
}

// codecs.rs: lines_encoder
TEST(LinesCodec, EncodesWithANewline) {
  codec::lines_codec c;
  bytes_mut buf;
  c.encode("line 1", buf);
  EXPECT_EQ(buf, std::string_view("line 1\n"));
  c.encode("line 2", buf);
  EXPECT_EQ(buf, std::string_view("line 1\nline 2\n"));
}

// kyoto: bad input
TEST(LinesCodec, InvalidUtf8IsAnErrorNamingTheCodecAndTheLineIsDropped) {
  codec::lines_codec c;
  bytes_mut buf;
  buf.put_slice(std::string_view("ok\n\xff\xfe bad\nnext\n"));
  EXPECT_EQ(c.decode(buf), "ok");
  std::string what;
  try {
    (void)c.decode(buf);
  } catch (const codec_error& e) {
    EXPECT_EQ(e.code(), codec::errc::invalid_utf8);
    EXPECT_FALSE(e.is_io());
    what = e.what();
  }
  EXPECT_NE(what.find("kyoto::codec::lines_codec"), std::string::npos) << what;
  EXPECT_NE(what.find("UTF-8"), std::string::npos) << what;
  EXPECT_EQ(c.decode(buf), "next");
}

TEST(LinesCodec, TheMaxLengthErrorNamesTheCodecAndTheLimit) {
  codec::lines_codec c(4);
  bytes_mut buf;
  buf.put_slice(std::string_view("toolong"));
  std::string what;
  try {
    (void)c.decode(buf);
  } catch (const codec_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("kyoto::codec::lines_codec"), std::string::npos) << what;
  EXPECT_NE(what.find("max_length 4"), std::string::npos) << what;
}

TEST(LinesCodec, DiscardingKeepsTheBufferBounded) {
  codec::lines_codec c(16);
  bytes_mut buf;
  int errors = 0;
  for (int i = 0; i < 1000; ++i) {
    buf.put_slice(
        std::string_view("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));  // no newline, ever
    try {
      EXPECT_EQ(c.decode(buf), std::nullopt);
    } catch (const codec_error&) {
      ++errors;
    }
    EXPECT_LE(buf.size(), 17u + 40u);
  }
  EXPECT_EQ(errors, 1) << "one over-long line, reported once";
  buf.put_slice(std::string_view("\nfine\n"));
  EXPECT_EQ(c.decode(buf), "fine");
}

TEST(LinesCodec, ScansEachByteOnceAcrossPartialReads) {
  // A line fed one byte at a time: decode() resumes at next_index, so the
  // work is linear (a quadratic scan of 200 KiB would be ~2e10 steps).
  codec::lines_codec c;
  bytes_mut buf;
  const std::size_t n = std::size_t{200} * 1024;
  for (std::size_t i = 0; i < n; ++i) {
    buf.put_u8('a');
    ASSERT_EQ(c.decode(buf), std::nullopt);
  }
  buf.put_u8('\n');
  EXPECT_EQ(c.decode(buf)->size(), n);
}

// codecs.rs: any_delimiters_decoder_any_character
TEST(AnyDelimiterCodec, SplitsOnAnyDelimiter) {
  codec::any_delimiter_codec c(",;\n\r", ",");
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk 1,chunk 2;chunk 3\n\r"));
  EXPECT_EQ(*c.decode(buf), std::string_view("chunk 1"));
  EXPECT_EQ(*c.decode(buf), std::string_view("chunk 2"));
  EXPECT_EQ(*c.decode(buf), std::string_view("chunk 3"));
  EXPECT_EQ(*c.decode(buf), std::string_view(""));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_FALSE(c.decode_eof(buf));
  buf.put_slice(std::string_view("k"));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_EQ(*c.decode_eof(buf), std::string_view("k"));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_FALSE(c.decode_eof(buf));
}

// codecs.rs: any_delimiters_decoder_max_length
TEST(AnyDelimiterCodec, AnOverLongChunkIsAnErrorThenSkipped) {
  codec::any_delimiter_codec c(",;\n\r", ",", 7);
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk 1 is too long\nchunk 2\nchunk 3\r\nchunk 4\n\r\n"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
  for (std::string_view want : {"chunk 2", "chunk 3", "", "chunk 4", "", ""}) {
    std::optional<bytes> chunk = c.decode(buf);
    ASSERT_TRUE(chunk);
    EXPECT_LE(chunk->size(), 7u);
    EXPECT_EQ(*chunk, want);
  }
  EXPECT_FALSE(c.decode(buf));
  EXPECT_FALSE(c.decode_eof(buf));
  buf.put_slice(std::string_view("k"));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_EQ(*c.decode_eof(buf), std::string_view("k"));
  EXPECT_FALSE(c.decode(buf));
  EXPECT_FALSE(c.decode_eof(buf));
  buf.put_slice(std::string_view("aaabbbcc"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
}

// codecs.rs: any_delimiter_decoder_max_length_underrun
TEST(AnyDelimiterCodec, MaxLengthUnderrun) {
  codec::any_delimiter_codec c(",;\n\r", ",", 7);
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk "));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("too l"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
  buf.put_slice(std::string_view("ong\n"));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("chunk 2"));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view(","));
  EXPECT_EQ(*c.decode(buf), std::string_view("chunk 2"));
}

// codecs.rs: any_delimiter_decoder_max_length_underrun_twice
TEST(AnyDelimiterCodec, MaxLengthUnderrunTwice) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk "));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("too very l"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
  buf.put_slice(std::string_view("aaaaaaaaaaaaaaaaaaaaaaa"));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("ong\nshort\n"));
  EXPECT_EQ(*c.decode(buf), std::string_view("short"));
}

// codecs.rs: any_delimiter_decoder_max_length_bursts
TEST(AnyDelimiterCodec, MaxLengthBursts) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk "));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("too l"));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("ong\n"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
}

// codecs.rs: any_delimiter_decoder_max_length_big_burst
TEST(AnyDelimiterCodec, MaxLengthBigBurst) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  bytes_mut buf;
  buf.put_slice(std::string_view("chunk "));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view("too long!\n"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
}

// codecs.rs: any_delimiter_decoder_max_length_delimiter_between_decodes
TEST(AnyDelimiterCodec, DelimiterBetweenDecodes) {
  codec::any_delimiter_codec c(",;\n\r", ",", 5);
  bytes_mut buf;
  buf.put_slice(std::string_view("hello"));
  EXPECT_FALSE(c.decode(buf));
  buf.put_slice(std::string_view(",world"));
  EXPECT_EQ(*c.decode(buf), std::string_view("hello"));
}

// codecs.rs: any_delimiter_decoder_discard_repeat
TEST(AnyDelimiterCodec, DiscardRepeatDoesNotLoop) {
  codec::any_delimiter_codec c(",;\n\r", ",", 1);
  bytes_mut buf;
  buf.put_slice(std::string_view("aa"));
  EXPECT_EQ(thrown([&] { (void)c.decode(buf); }), codec::errc::max_chunk_length_exceeded);
  buf.put_slice(std::string_view("a"));
  EXPECT_FALSE(c.decode(buf));
}

// codecs.rs: any_delimiter_encoder
TEST(AnyDelimiterCodec, EncodesWithTheSequenceWriter) {
  codec::any_delimiter_codec c(",", ";--;");
  bytes_mut buf;
  c.encode("chunk 1", buf);
  EXPECT_EQ(buf, std::string_view("chunk 1;--;"));
  c.encode("chunk 2", buf);
  EXPECT_EQ(buf, std::string_view("chunk 1;--;chunk 2;--;"));
}

// kyoto: the default decode_eof (tokio's Decoder::decode_eof)
struct two_byte_frames {
  std::optional<bytes_mut> decode(bytes_mut& src) {
    if (src.size() < 2) return std::nullopt;
    return src.split_to(2);
  }
};

TEST(Decoder, DefaultDecodeEofReportsBytesRemaining) {
  two_byte_frames d;
  bytes_mut buf(std::string_view("abc"));
  EXPECT_EQ(*codec::decode_eof(d, buf), std::string_view("ab"));
  std::string what;
  try {
    (void)codec::decode_eof(d, buf);
  } catch (const codec_error& e) {
    EXPECT_EQ(e.code(), codec::errc::bytes_remaining_on_stream);
    what = e.what();
  }
  EXPECT_NE(what.find("1 bytes left"), std::string::npos) << what;
  EXPECT_EQ(buf.size(), 1u) << "the bytes are not dropped";
}

}  // namespace
