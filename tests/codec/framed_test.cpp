// kyoto::codec::framed: tokio-util 0.7.3's tests/framed.rs (each test names
// the upstream one), plus both directions over io::duplex and split().
#include "codec_support.hpp"

#include <kyoto/codec.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace codec = kyoto::codec;
namespace io = kyoto::io;
using codec_test::frames_of;
using codec_test::next_of;
using codec_test::rest_of;
using codec_test::u32_codec;
using codec_test::u64_codec;
using kyoto::test::io_builder;

/// framed.rs' DontReadIntoThis: a stream that must not be used.
struct dont_read_into_this {
  kyoto::task<std::size_t> read(std::span<std::byte>) {
    throw std::logic_error("Read into something you weren't supposed to.");
    co_return 0;
  }
  kyoto::task<std::size_t> write(std::span<const std::byte>) {
    throw std::logic_error("Wrote into something you weren't supposed to.");
    co_return 0;
  }
  kyoto::task<void> flush() { co_return; }
  kyoto::task<void> shutdown() { co_return; }
};

kyoto::bytes_mut bytes_of(std::string_view s) {
  return kyoto::bytes_mut(s);
}

// framed.rs: can_read_from_existing_buf
KYOTO_TEST(Framed, ReadsFromAnExistingBuffer) {
  codec::framed f(dont_read_into_this{}, u32_codec{}, bytes_of(std::string_view("\0\0\0\x2a", 4)));
  EXPECT_EQ(co_await next_of(f), "42");
  EXPECT_EQ(f.codec().read_bytes, 4u);
}

// framed.rs: can_read_from_existing_buf_after_codec_changed
KYOTO_TEST(Framed, ReadsFromAnExistingBufferAfterTheCodecChanged) {
  codec::framed f(dont_read_into_this{}, u32_codec{},
                  bytes_of(std::string_view("\0\0\0\x2a\0\0\0\0\0\0\0\x54", 12)));
  EXPECT_EQ(co_await next_of(f), "42");
  EXPECT_EQ(f.codec().read_bytes, 4u);
  auto f64 = std::move(f).map_codec([](u32_codec c) { return u64_codec{c.read_bytes}; });
  EXPECT_EQ(co_await next_of(f64), "84");
  EXPECT_EQ(f64.codec().read_bytes, 12u);
}

// framed.rs: external_buf_grows_to_init
TEST(Framed, AnExternalBufferGrowsToTheInitialCapacity) {
  codec::framed f(dont_read_into_this{}, u32_codec{}, bytes_of(std::string_view("\0\0\0\x2a", 4)));
  EXPECT_EQ(f.read_buffer().capacity(), 8u * 1024);
}

// framed.rs: external_buf_does_not_shrink
TEST(Framed, AnExternalBufferDoesNotShrink) {
  codec::framed f(dont_read_into_this{}, u32_codec{},
                  kyoto::bytes_mut(std::string(std::size_t{16} * 1024, '\0')));
  EXPECT_EQ(f.read_buffer().capacity(), 16u * 1024);
}

// kyoto: both ways over a duplex
KYOTO_TEST(Framed, LinesBothWaysOverADuplex) {
  auto [a, b] = io::duplex(64);
  codec::framed client(std::move(a), codec::lines_codec());
  codec::framed server(std::move(b), codec::lines_codec());
  co_await client.send("hello");
  EXPECT_EQ(co_await next_of(server), "hello");
  co_await server.send("world");
  EXPECT_EQ(co_await next_of(client), "world");
  co_await client.close();
  EXPECT_EQ(co_await next_of(server), "<end>");
}

// kyoto: split() into halves used by two tasks
KYOTO_TEST(Framed, SplitHalvesWorkFromTwoTasks) {
  auto [a, b] = io::duplex(16);
  auto echo = kyoto::spawn(
      [](io::duplex_stream s) -> kyoto::task<> {
        codec::framed f(std::move(s), codec::lines_codec());
        for (;;) {
          auto line = co_await f.next();
          if (!line) break;
          co_await f.send("echo " + line->value());
        }
        co_await f.close();
      },
      std::move(b));
  auto [rd, wr] = codec::framed(std::move(a), codec::lines_codec()).split();
  auto sender = kyoto::spawn(
      [](auto w) -> kyoto::task<> {
        for (int i = 0; i < 50; ++i)
          co_await w.feed(std::to_string(i));
        co_await w.close();
      },
      std::move(wr));
  int n = 0;
  for (;;) {
    auto line = co_await rd.next();
    if (!line) break;
    EXPECT_EQ(line->value(), "echo " + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 50);
  co_await sender;
  co_await echo;
}

KYOTO_TEST(Framed, SplitKeepsTheBufferedBytes) {
  codec::framed f(io_builder().write("x\n").read("c\n").build(), codec::lines_codec(),
                  bytes_of("a\nb"));
  co_await f.feed("x");
  auto [rd, wr] = std::move(f).split();
  EXPECT_EQ(wr.write_buffer().as_string_view(), "x\n");
  co_await wr.flush();
  EXPECT_EQ(co_await rest_of(rd), frames_of("a", "bc", "<end>"));
}

}  // namespace
