// kyoto::stream in constant stack at -O0 (built with optimization=0, where
// neither GCC nor Clang makes symmetric transfer a tail call): a million
// items, through a stream, an adapter chain and a nested stream.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/streams.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace {

constexpr int million = 1'000'000;

kyoto::stream<int> count_to(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i;
}

kyoto::stream<std::int64_t> doubled(kyoto::stream<int> in) {
  for (;;) {
    std::optional<int> v = co_await in.next();
    if (!v) co_return;
    co_yield std::int64_t{*v} * 2;
  }
}

KYOTO_TEST(StreamDeep, AMillionItemsInConstantStack) {
  auto s = count_to(million);
  std::int64_t sum = 0;
  int n = 0;
  for (;;) {
    std::optional<int> v = co_await s.next();
    if (!v) break;
    sum += *v;
    ++n;
  }
  EXPECT_EQ(n, million);
  EXPECT_EQ(sum, std::int64_t{million} * (million - 1) / 2);
}

KYOTO_TEST(StreamDeep, AMillionItemsThroughANestedStream) {
  auto s = doubled(count_to(million));
  std::int64_t sum = 0;
  for (;;) {
    std::optional<std::int64_t> v = co_await s.next();
    if (!v) break;
    sum += *v;
  }
  EXPECT_EQ(sum, std::int64_t{million} * (million - 1));
}

KYOTO_TEST(StreamDeep, AMillionItemsThroughAdapters) {
  namespace streams = kyoto::streams;
  const std::int64_t sum = co_await (
      count_to(million) | streams::map([](int v) { return std::int64_t{v}; }) |
      streams::filter([](const std::int64_t&) { return true; }) |
      streams::fold(std::int64_t{0}, [](std::int64_t a, std::int64_t b) { return a + b; }));
  EXPECT_EQ(sum, std::int64_t{million} * (million - 1) / 2);
}

}  // namespace
