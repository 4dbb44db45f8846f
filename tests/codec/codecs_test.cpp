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

/// One step of a decoding script (expect_script): append `input` to the
/// buffer, then call decode() (decode_eof() with `eof`) once and expect
/// `want`: the frame's text, `none`, or `too_long`.
struct step {
  std::string_view input;
  std::string_view want;
  bool eof = false;
};
constexpr std::string_view none = "<none>";          ///< no frame yet
constexpr std::string_view too_long = "<too long>";  ///< the max-length error

/// `steps`, then the end every codecs.rs decoder test checks: the buffer
/// is drained, "k" arrives without a delimiter, only decode_eof() gives
/// it (as `last`: what was left, and "k"), and nothing is left after; then
/// `after`.
std::vector<step> then_eof_gives(std::vector<step> steps, std::string_view last,
                                 const std::vector<step>& after = {}) {
  steps.insert(
      steps.end(),
      {{"", none}, {"", none, true}, {"k", none}, {"", last, true}, {"", none}, {"", none, true}});
  steps.insert(steps.end(), after.begin(), after.end());
  return steps;
}

/// One decode() or decode_eof() of `c`, as a step's `want`.
template <class Codec>
std::string decode_once(Codec& c, bytes_mut& buf, bool eof) {
  try {
    auto frame = eof ? c.decode_eof(buf) : c.decode(buf);
    if (!frame) return std::string(none);
    return std::string(std::string_view(*frame));
  } catch (const codec_error& e) {
    if (e.code() == codec::errc::max_line_length_exceeded ||
        e.code() == codec::errc::max_chunk_length_exceeded) {
      return std::string(too_long);
    }
    return std::string("<") + e.what() + ">";
  }
}

/// Runs `steps` in order against `c` and one buffer (tokio's codecs.rs
/// decoder tests, one line a step).
template <class Codec>
void expect_script(Codec& c, const std::vector<step>& steps) {
  bytes_mut buf;
  std::size_t i = 0;
  for (const step& s : steps) {
    buf.put_slice(s.input);
    EXPECT_EQ(decode_once(c, buf, s.eof), s.want) << "step " << i << ", input \"" << s.input << '"';
    ++i;
  }
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
  expect_script(c, then_eof_gives({{"line 1\nline 2\r\nline 3\n\r\n\r", "line 1"},
                                   {"", "line 2"},
                                   {"", "line 3"},
                                   {"", ""}},
                                  "\rk"));
}

// codecs.rs: lines_decoder_max_length
TEST(LinesCodec, AnOverLongLineIsAnErrorThenSkipped) {
  codec::lines_codec c(6);
  expect_script(c,
                then_eof_gives({{"line 1 is too long\nline 2\nline 3\r\nline 4\n\r\n\r", too_long},
                                {"", "line 2"},
                                {"", too_long},
                                {"", "line 4"},
                                {"", ""}},
                               "\rk", {{"aaabbbc", too_long}}));  // one character too long
}

// codecs.rs: lines_decoder_max_length_underrun
TEST(LinesCodec, MaxLengthUnderrun) {
  codec::lines_codec c(6);
  expect_script(
      c,
      {{"line ", none}, {"too l", too_long}, {"ong\n", none}, {"line 2", none}, {"\n", "line 2"}});
}

// codecs.rs: lines_decoder_max_length_bursts
TEST(LinesCodec, MaxLengthBursts) {
  codec::lines_codec c(10);
  expect_script(c, {{"line ", none}, {"too l", none}, {"ong\n", too_long}});
}

// codecs.rs: lines_decoder_max_length_big_burst
TEST(LinesCodec, MaxLengthBigBurst) {
  codec::lines_codec c(10);
  expect_script(c, {{"line ", none}, {"too long!\n", too_long}});
}

// codecs.rs: lines_decoder_max_length_newline_between_decodes
TEST(LinesCodec, NewlineBetweenDecodes) {
  codec::lines_codec c(5);
  expect_script(c, {{"hello", none}, {"\nworld", "hello"}});
}

// codecs.rs: lines_decoder_discard_repeat (tokio issue 1483)
TEST(LinesCodec, DiscardRepeatDoesNotLoop) {
  codec::lines_codec c(1);
  expect_script(c, {{"aa", too_long}, {"a", none}});
}

// codecs.rs: lines_decoder_max_length_underrun_twice (tokio issue 3555)
TEST(LinesCodec, MaxLengthUnderrunTwice) {
  codec::lines_codec c(11);
  expect_script(c, {{"line ", none},
                    {"too very l", too_long},
                    {"aaaaaaaaaaaaaaaaaaaaaaa", none},
                    {"ong\nshort\n", "short"}});
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
  expect_script(
      c,
      then_eof_gives(
          {{"chunk 1,chunk 2;chunk 3\n\r", "chunk 1"}, {"", "chunk 2"}, {"", "chunk 3"}, {"", ""}},
          "k"));
}

// codecs.rs: any_delimiters_decoder_max_length
TEST(AnyDelimiterCodec, AnOverLongChunkIsAnErrorThenSkipped) {
  codec::any_delimiter_codec c(",;\n\r", ",", 7);
  expect_script(
      c, then_eof_gives({{"chunk 1 is too long\nchunk 2\nchunk 3\r\nchunk 4\n\r\n", too_long},
                         {"", "chunk 2"},
                         {"", "chunk 3"},
                         {"", ""},
                         {"", "chunk 4"},
                         {"", ""},
                         {"", ""}},
                        "k", {{"aaabbbcc", too_long}}));
}

// codecs.rs: any_delimiter_decoder_max_length_underrun
TEST(AnyDelimiterCodec, MaxLengthUnderrun) {
  codec::any_delimiter_codec c(",;\n\r", ",", 7);
  expect_script(c, {{"chunk ", none},
                    {"too l", too_long},
                    {"ong\n", none},
                    {"chunk 2", none},
                    {",", "chunk 2"}});
}

// codecs.rs: any_delimiter_decoder_max_length_underrun_twice
TEST(AnyDelimiterCodec, MaxLengthUnderrunTwice) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  expect_script(c, {{"chunk ", none},
                    {"too very l", too_long},
                    {"aaaaaaaaaaaaaaaaaaaaaaa", none},
                    {"ong\nshort\n", "short"}});
}

// codecs.rs: any_delimiter_decoder_max_length_bursts
TEST(AnyDelimiterCodec, MaxLengthBursts) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  expect_script(c, {{"chunk ", none}, {"too l", none}, {"ong\n", too_long}});
}

// codecs.rs: any_delimiter_decoder_max_length_big_burst
TEST(AnyDelimiterCodec, MaxLengthBigBurst) {
  codec::any_delimiter_codec c(",;\n\r", ",", 11);
  expect_script(c, {{"chunk ", none}, {"too long!\n", too_long}});
}

// codecs.rs: any_delimiter_decoder_max_length_delimiter_between_decodes
TEST(AnyDelimiterCodec, DelimiterBetweenDecodes) {
  codec::any_delimiter_codec c(",;\n\r", ",", 5);
  expect_script(c, {{"hello", none}, {",world", "hello"}});
}

// codecs.rs: any_delimiter_decoder_discard_repeat
TEST(AnyDelimiterCodec, DiscardRepeatDoesNotLoop) {
  codec::any_delimiter_codec c(",;\n\r", ",", 1);
  expect_script(c, {{"aa", too_long}, {"a", none}});
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
