// Issue 13, item 1's bound: a shutdown's drain waits at most
// driver::drain_bound (1 s) for requests the kernel cannot cancel, then
// abandons them, saying so on stderr even with logging off, instead of
// hanging.
//
// A request the kernel cannot cancel is hard to make on purpose, so the
// test seam set_drain_skips_cancels() makes the drain send no cancels: an
// idle read and a pending accept then stay in flight, as such a request
// would. Before the bound, the drain waited for them forever (the child
// below was killed by its alarm).
#include "pending_io.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <kyoto/io/detail/io_op.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace {

kyoto::task<int> answer() {
  co_return 42;
}

class DrainBound : public ::testing::TestWithParam<bool> {};

TEST_P(DrainBound, ADrainTheKernelCannotFinishGivesUpAfterOneSecondAndSaysSo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const bool multi_thread = GetParam();
  EXPECT_EXIT(
      {
        ::alarm(20);  // a drain that hangs fails the test (SIGALRM)
        // NOLINTNEXTLINE(concurrency-mt-unsafe): the child, before its runtime
        ::setenv("KYOTO_LOG", "off", 1);
        kyoto::detail::set_drain_skips_cancels(true);
        auto keep_open = std::make_shared<std::optional<kyoto::net::tcp_stream>>();
        {
          kyoto::runtime rt = kyoto::test::make_one_or_two_workers(multi_thread);
          rt.block_on(kyoto::test::park_an_accept_and_a_read(keep_open));
        }  // the drain waits 1 s, then abandons both requests
        kyoto::detail::set_drain_skips_cancels(false);
        // The process goes on: another runtime works. (Dropped before
        // exit(), whose static destructors its workers must not outlive.)
        int got = 0;
        {
          kyoto::runtime again = kyoto::test::make_one_or_two_workers(multi_thread);
          got = again.block_on(answer());
        }
        std::exit(got == 42 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0),
      // Each worker drains its own ring: with two workers the accept and the
      // read may have been submitted on one ring or one on each.
      multi_thread ? "kyoto: (2 io_uring requests did not end within 1 s|1 io_uring request did "
                     "not end within 1 s(.|\n)*kyoto: 1 io_uring request did not end within 1 s)"
                   : "kyoto: 2 io_uring requests did not end within 1 s of the runtime's shutdown");
}

KYOTO_INSTANTIATE_ONE_OR_TWO_WORKERS(DrainBound);

}  // namespace
