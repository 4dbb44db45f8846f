// What decoding costs in allocations: a line decoded by lines_codec costs
// its std::string and nothing else, also through framed_read (whose task
// frames come from kyoto's frame pool), once the buffers have grown.
// Counts every allocation with a replacement operator new, so
// tests/codec/meson.build builds it only without sanitizers.
#include "alloc_counter.hpp"

#include <kyoto/bytes.hpp>
#include <kyoto/codec/framed_read.hpp>
#include <kyoto/codec/lines_codec.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <string_view>

namespace {

using kyoto::test::allocations_during;
using kyoto::test::counting_allocations;

namespace codec = kyoto::codec;

constexpr std::size_t line_len = 40;  // past std::string's small buffer
const std::string line(line_len, 'x');

TEST(CodecAlloc, ALineCostsOnlyItsString) {
  if (!counting_allocations()) GTEST_SKIP() << "operator new is not ours here";
  codec::lines_codec c;
  kyoto::bytes_mut buf = kyoto::bytes_mut::with_capacity(std::size_t{64} * 1024);
  for (int i = 0; i < 1000; ++i) {
    buf.put_slice(std::string_view(line));
    buf.put_u8('\n');
  }
  int n = 0;
  EXPECT_EQ(allocations_during([&] {
              while (auto l = c.decode(buf))
                n += l->size() == line_len;
            }),
            1000);
  EXPECT_EQ(n, 1000);
}

/// A reader giving `data` in 7-byte pieces; allocates nothing itself.
struct trickle_reader {
  std::string_view data;
  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    const std::size_t n = std::min({buf.size(), data.size(), std::size_t{7}});
    std::memcpy(buf.data(), data.data(), n);
    data.remove_prefix(n);
    co_return n;
  }
};

KYOTO_TEST_WITH(CodecAlloc, FramedReadAddsNoAllocationPerLine,
                kyoto::runtime::builder::current_thread()) {
  if (!counting_allocations()) co_return;
  std::string input;
  for (int i = 0; i < 2000; ++i)
    input += line + "\n";
  codec::framed_read<trickle_reader, codec::lines_codec> fr(trickle_reader{input},
                                                            codec::lines_codec());
  // Warm up: the frame pool and the buffer reach their working size.
  for (int i = 0; i < 1000; ++i)
    co_await fr.next();
  const long before = kyoto::test::allocation_count.load(std::memory_order_relaxed);
  int n = 0;
  for (int i = 0; i < 1000; ++i) {
    auto item = co_await fr.next();
    n += item && item->has_value() && (*item)->size() == line_len;
  }
  const long used = kyoto::test::allocation_count.load(std::memory_order_relaxed) - before;
  EXPECT_EQ(n, 1000);
  EXPECT_LE(used, 1000 + 2) << "one allocation per line (its string), give or take a refill";
}

}  // namespace
