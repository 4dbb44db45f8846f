// Test helpers for the broadcast stress tests (tests/sync/broadcast_test.cpp
// on a multi_thread runtime, tests/stress/deterministic_stress_test.cpp
// under seeds): a channel where the value sent at position p is p, and
// receivers that check what they see of it.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/yield_now.hpp>
#include <kyoto/sync/broadcast.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace kyoto::test {

/// Checks one receiver's view of a channel where the value sent at
/// position p is p: every value is the one expected, a lag skips exactly
/// to the oldest retained, and the receiver ends closed at the end.
struct position_checker {
  std::uint64_t expected = 0;  ///< the position (= value) to receive next
  std::uint64_t values = 0;
  std::uint64_t skipped = 0;
  std::uint64_t wrong = 0;  ///< values that were not the one expected
  bool closed = false;

  /// Whether to go on receiving.
  bool on(const kyoto::result<std::uint64_t, sync::broadcast::recv_error>& r) {
    if (r) {
      if (*r != expected) ++wrong;
      expected = *r + 1;
      ++values;
      return true;
    }
    if (r.error().is_lagged()) {
      skipped += r.error().skipped();
      expected += r.error().skipped();
      return true;
    }
    closed = true;
    return false;
  }

  void check(std::uint64_t sent, const char* who) const {
    EXPECT_EQ(wrong, 0u) << who;
    EXPECT_TRUE(closed) << who;
    EXPECT_EQ(expected, sent) << who;
    EXPECT_EQ(values + skipped, sent) << who;
  }
};

/// Receives with recv() until the channel closes.
inline kyoto::task<> receive_positions(sync::broadcast::receiver<std::uint64_t>* rx,
                                       position_checker* c) {
  for (;;) {
    auto r = co_await rx->recv();
    if (!c->on(r)) co_return;
  }
}

/// Receives with try_recv(), yielding while it is empty, until the channel
/// closes.
inline kyoto::task<> poll_positions(sync::broadcast::receiver<std::uint64_t>* rx,
                                    position_checker* c) {
  using sync::broadcast::recv_error;
  for (;;) {
    auto r = rx->try_recv();
    if (!r && r.error().is_empty()) {
      co_await kyoto::yield_now();
      continue;
    }
    if (r) {
      if (!c->on(*r)) co_return;
    } else if (r.error().is_lagged()) {
      if (!c->on(kyoto::unexpected(recv_error::lagged(r.error().skipped())))) co_return;
    } else {
      c->on(kyoto::unexpected(recv_error::closed()));
      co_return;
    }
  }
}

/// Receives through receive_positions() in a task that is aborted and
/// respawned over and over (after `round % period` yields in round
/// `round`): what each cancelled recv() had not returned must reach the
/// next one. Gives the number of aborts, once a task saw the close first.
inline kyoto::task<int> abort_and_respawn(sync::broadcast::receiver<std::uint64_t>* rx,
                                          position_checker* c, unsigned period) {
  int aborts = 0;
  for (unsigned round = 0;; ++round) {
    auto h = kyoto::spawn(receive_positions(rx, c));
    for (unsigned i = 0; i < round % period; ++i)
      co_await kyoto::yield_now();
    h.abort();
    try {
      co_await h;
      co_return aborts;  // it saw the close before the abort
    } catch (const kyoto::join_error&) {
      ++aborts;
    }
  }
}

/// Sends positions 0..n-1, yielding after every `yield_every`-th.
inline kyoto::task<> send_positions(sync::broadcast::sender<std::uint64_t> tx, std::uint64_t n,
                                    std::uint64_t yield_every) {
  for (std::uint64_t i = 0; i < n; ++i) {
    tx.send(i).value();
    if (i % yield_every == 0) co_await kyoto::yield_now();
  }
}

}  // namespace kyoto::test
