// The examples of docs/codec.md and of docs/io.md's section on in-memory
// streams, compiled and run (over io::duplex instead of TCP).
#include <kyoto/codec.hpp>
#include <kyoto/io.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

// docs/codec.md, "Decoders and encoders"
struct u32_codec {  // decoder and encoder of big-endian u32 frames
  std::optional<std::uint32_t> decode(kyoto::bytes_mut& buf) {
    if (buf.size() < 4) return std::nullopt;
    return buf.get_u32();
  }
  void encode(std::uint32_t v, kyoto::bytes_mut& dst) { dst.put_u32(v); }
};
static_assert(kyoto::codec::decoder<u32_codec>);
static_assert(kyoto::codec::encoder<u32_codec, std::uint32_t>);

// docs/codec.md, the opening example: a line protocol, each line answered.
kyoto::task<> serve(kyoto::io::duplex_stream stream, std::vector<std::string>& log) {
  kyoto::codec::framed conn(std::move(stream), kyoto::codec::lines_codec(8 * 1024));
  for (;;) {
    auto item = co_await conn.next();  // std::optional<result<std::string, codec_error>>
    if (!item) break;                  // end of stream
    if (!item->has_value()) {          // bad input or a read error
      log.emplace_back(item->error().what());
      break;
    }
    co_await conn.send("echo " + item->value());
  }
}

KYOTO_TEST(CodecDocExample, ALineProtocol) {
  auto [client, server] = kyoto::io::duplex(1024);
  std::vector<std::string> log;
  auto h = kyoto::spawn(serve, std::move(server), std::ref(log));
  kyoto::codec::framed c(std::move(client), kyoto::codec::lines_codec());
  co_await c.send("hi");
  auto answer = co_await c.next();
  EXPECT_EQ(answer->value(), "echo hi");
  try {
    co_await c.send(std::string(9000, 'x'));  // too long for the server
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::broken_pipe);  // the server may be gone before the end
  }
  co_await h;
  KYOTO_ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("kyoto::codec::lines_codec: a line is longer"), std::string::npos);
}

// docs/codec.md, the length_delimited builder
TEST(CodecDocExample, ABuilder) {
  auto codec = kyoto::codec::length_delimited_codec::builder()
                   .length_field_length(2)
                   .length_adjustment(-2)  // the field counts itself
                   .max_frame_length(64 * 1024)
                   .new_codec();
  kyoto::bytes_mut buf;
  codec.encode("abc", buf);
  EXPECT_EQ(buf, std::string_view("\0\x05"
                                  "abc",
                                  5));
  EXPECT_EQ(*codec.decode(buf), std::string_view("abc"));
}

// docs/codec.md, cancel safety
KYOTO_TEST(CodecDocExample, ATimedOutNextKeepsItsBytes) {
  auto [a, b] = kyoto::io::duplex(64);
  kyoto::codec::framed_read fr(std::move(b), kyoto::codec::lines_codec());
  co_await kyoto::io::write_all(a, "half a li");
  auto r = co_await kyoto::select(fr.next(), kyoto::time::sleep(5ms));
  EXPECT_EQ(r.index(), 1u);  // timed out: a half-received frame is still in fr
  co_await kyoto::io::write_all(a, "ne\n");
  auto line = co_await fr.next();
  EXPECT_EQ(line->value(), "half a line");
}

// docs/codec.md, "framed: both ways"
KYOTO_TEST(CodecDocExample, SplitFramed) {
  auto [stream, peer] = kyoto::io::duplex(64);
  auto [rd, wr] = kyoto::codec::framed(std::move(stream), kyoto::codec::lines_codec()).split();
  kyoto::spawn(
      [](auto w) -> kyoto::task<> {
        for (int i = 0; i < 10; ++i)
          co_await w.feed(std::to_string(i));
        co_await w.close();
      },
      std::move(wr));
  // The peer echoes what it reads.
  auto echo = kyoto::spawn(
      [](kyoto::io::duplex_stream p) -> kyoto::task<> { co_await kyoto::io::copy(p, p); },
      std::move(peer));
  std::vector<std::string> got;
  for (;;) {
    auto line = co_await rd.next();
    if (!line || !line->has_value()) break;
    got.push_back(line->value());
  }
  co_await echo;
  EXPECT_EQ(got.size(), 10u);
}

// docs/io.md, duplex and integers
KYOTO_TEST(CodecDocExample, DuplexAndIntegers) {
  auto [client, server] = kyoto::io::duplex(64);
  co_await kyoto::io::write_all(client, "ping");
  std::array<std::byte, 4> buf{};
  co_await kyoto::io::read_exact(server, buf);

  const std::string payload = "hello";
  co_await kyoto::io::write_u32(client, static_cast<std::uint32_t>(payload.size()));
  co_await kyoto::io::write_all(client, payload);
  const std::uint32_t len = co_await kyoto::io::read_u32(server);
  EXPECT_EQ(len, 5u);
}

// docs/io.md, the test mock
KYOTO_TEST(CodecDocExample, TheMock) {
  auto mock = kyoto::test::io_builder()
                  .read("HELLO\n")
                  .write("hi\n")
                  .wait(10ms)
                  .read_error(std::errc::connection_reset)
                  .build();
  kyoto::codec::framed f(std::move(mock), kyoto::codec::lines_codec());
  auto hello = co_await f.next();
  EXPECT_EQ(hello->value(), "HELLO");
  co_await f.send("hi");
  auto err = co_await f.next();
  KYOTO_ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->error().is_io());
  EXPECT_EQ(err->error().code(), std::errc::connection_reset);
}

}  // namespace
