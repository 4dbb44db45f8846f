// Which kyoto::bytes / kyoto::bytes_mut operations allocate: every
// allocation in this program is counted by the replacement operator new
// of alloc_counter.hpp. A sanitizer runtime defines operator new itself, so
// tests/bytes/meson.build builds this test only without sanitizers.
#include "alloc_counter.hpp"

#include <kyoto/bytes.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

namespace {

using kyoto::test::allocations_during;
using kyoto::test::counting_allocations;

using kyoto::bytes;
using kyoto::bytes_mut;

// Not upstream: which operations allocate. from_static, copies, slices and
// splits allocate nothing; taking a string allocates only the count's
// block; freeze allocates nothing.
TEST(BytesAlloc, OnlyMakingABufferAllocates) {
  if (!counting_allocations()) {
    GTEST_SKIP() << "operator new is not ours here (valgrind or a sanitizer replaces it)";
  }
  bytes a;
  EXPECT_EQ(allocations_during([&] { a = bytes::from_static("static text"); }), 0);
  EXPECT_EQ(allocations_during([&] {
              bytes b = a;
              bytes c = b.split_to(3);
              bytes d = c.slice(1, 2);
              d.advance(1);
            }),
            0);
  std::string s(100, 'x');
  bytes owned;
  EXPECT_EQ(allocations_during([&] { owned = bytes(std::move(s)); }), 1);
  EXPECT_EQ(allocations_during([&] {
              bytes b = owned;  // NOLINT(performance-unnecessary-copy-initialization): measured
              bytes c = b.slice(10, 20);
              (void)c.split_off(5);
            }),
            0);
  bytes_mut m = bytes_mut::with_capacity(64);
  m.put_slice("0123456789");
  EXPECT_EQ(allocations_during([&] {
              bytes_mut front = m.split_to(4);
              bytes frozen = std::move(front).freeze();
              bytes more = m.copy_to_bytes(2);
            }),
            0);
}

}  // namespace
