// Issue 13, items 1 and 8: dropping a runtime with requests in flight (an
// accept, an idle read) always ends, also where the kernel has no
// IORING_ASYNC_CANCEL_ANY (Linux 5.11-5.18): the drain then cancels each
// request by its user_data. This process runs as on the oldest kernel
// kyoto serves (KYOTO_URING_FEATURES=none); CI also runs the I/O and
// runtime suites that way.
#include "net_support.hpp"

#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

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

// Read when the first ring is made: set before main.
const bool oldest_kernel = [] {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before main, single-threaded
  ::setenv("KYOTO_URING_FEATURES", "none", 1);
  return true;
}();

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
}

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
          kyoto::runtime rt = make(multi_thread);
          rt.block_on(park_an_accept_and_a_read(keep_open));
        }  // the drain cancels both requests
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

INSTANTIATE_TEST_SUITE_P(Flavours, Shutdown, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("MultiThread2")
                                          : std::string("CurrentThread");
                         });

}  // namespace
