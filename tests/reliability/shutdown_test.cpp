// Issue 13, items 1 and 8: dropping a runtime with requests in flight (an
// accept, an idle read) always ends, also where the kernel has no
// IORING_ASYNC_CANCEL_ANY (Linux 5.11-5.18): the drain then cancels each
// request by its user_data. This process runs as on the oldest kernel
// kyoto serves (KYOTO_URING_FEATURES=none); CI also runs the I/O and
// runtime suites that way.
#include "pending_io.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace {

// Read when the first ring is made: set before main.
const bool oldest_kernel = [] {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before main, single-threaded
  ::setenv("KYOTO_URING_FEATURES", "none", 1);
  return true;
}();

class Shutdown : public ::testing::TestWithParam<bool> {};

TEST_P(Shutdown, DroppingARuntimeWithAPendingAcceptAndReadEndsOnTheOldestKernel) {
  ASSERT_TRUE(oldest_kernel);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const bool multi_thread = GetParam();
  EXPECT_EXIT(
      {
        ::alarm(20);  // a drain that hangs fails the test (SIGALRM)
        auto keep_open = std::make_shared<std::optional<kyoto::net::tcp_stream>>();
        {
          kyoto::runtime rt = kyoto::test::make_one_or_two_workers(multi_thread);
          rt.block_on(kyoto::test::park_an_accept_and_a_read(keep_open));
        }  // the drain cancels both requests
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

KYOTO_INSTANTIATE_ONE_OR_TWO_WORKERS(Shutdown);

}  // namespace
