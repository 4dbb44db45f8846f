// Test helper for the shutdown tests (tests/reliability/): runtimes with
// I/O requests still in flight when they are dropped. Each test runs on a
// current_thread runtime and on a multi_thread one with two workers:
//
//   class Suite : public ::testing::TestWithParam<bool> {};  // multi_thread?
//   TEST_P(Suite, Something) { kyoto::runtime rt =
//   kyoto::test::make_one_or_two_workers(GetParam()); }
//   KYOTO_INSTANTIATE_ONE_OR_TWO_WORKERS(Suite);
#pragma once

#include "net_support.hpp"

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/yield_now.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace kyoto::test {

/// A current_thread runtime, or (`multi_thread`) a multi_thread one with
/// two workers.
inline kyoto::runtime make_one_or_two_workers(bool multi_thread) {
  if (multi_thread) return kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  return kyoto::runtime::builder::current_thread().build();
}

/// Starts a task blocked in accept and one blocked in an idle read, and
/// returns once both have submitted their requests. `keep_open` keeps the
/// read's peer open.
inline kyoto::task<void> park_an_accept_and_a_read(
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

/// The test name suffix for make_one_or_two_workers(param).
inline std::string one_or_two_workers_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? std::string("MultiThread2") : std::string("CurrentThread");
}

}  // namespace kyoto::test

/// Runs the TEST_P cases of `suite` (a TestWithParam<bool>) on a
/// current_thread runtime and a two-worker multi_thread one.
#define KYOTO_INSTANTIATE_ONE_OR_TWO_WORKERS(suite)            \
  INSTANTIATE_TEST_SUITE_P(Flavours, suite, ::testing::Bool(), \
                           ::kyoto::test::one_or_two_workers_name)
