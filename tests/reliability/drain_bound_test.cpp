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
#include "net_support.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <kyoto/io/detail/io_op.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace {

kyoto::runtime make(bool multi_thread) {
  if (multi_thread) return kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  return kyoto::runtime::builder::current_thread().build();
}

/// Starts a task blocked in accept and one blocked in an idle read, and
/// returns once both have started their requests.
kyoto::task<void> park_an_accept_and_a_read(
    std::shared_ptr<std::optional<kyoto::net::tcp_stream>> keep_open) {
  auto started = std::make_shared<std::atomic<int>>(0);
  kyoto::net::tcp_listener listener =
      co_await kyoto::net::tcp_listener::bind(kyoto::net::socket_addr::localhost_v4());
  auto [client, server] = co_await kyoto::test::connected_pair();
  keep_open->emplace(std::move(client));
  kyoto::spawn(
      [started](kyoto::net::tcp_listener l) -> kyoto::task<void> {
        started->fetch_add(1);
        (void)co_await l.accept();
      },
      std::move(listener));
  kyoto::spawn(
      [started](kyoto::net::tcp_stream s) -> kyoto::task<void> {
        std::array<std::byte, 16> buf{};
        started->fetch_add(1);
        (void)co_await s.read(buf);
      },
      std::move(server));
  while (started->load() < 2)
    co_await kyoto::yield_now();
  // The requests are submitted at the next poll: let one happen.
  co_await kyoto::yield_now();
}

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
          kyoto::runtime rt = make(multi_thread);
          rt.block_on(park_an_accept_and_a_read(keep_open));
        }  // the drain waits 1 s, then abandons both requests
        kyoto::detail::set_drain_skips_cancels(false);
        // The process goes on: another runtime works. (Dropped before
        // exit(), whose static destructors its workers must not outlive.)
        int got = 0;
        {
          kyoto::runtime again = make(multi_thread);
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

INSTANTIATE_TEST_SUITE_P(Flavours, DrainBound, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("MultiThread2")
                                          : std::string("CurrentThread");
                         });

}  // namespace
