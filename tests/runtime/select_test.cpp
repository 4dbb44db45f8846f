// select and select_biased. Ports tokio's tests/macros_select.rs where it applies.
// Left out (the select! macro's syntax, with no C++ analogue):
//   sync_one_lit_expr_no_comma, sync_one_lit_expr_block: macro punctuation
//   struct_size: Rust future sizes
//   mutable_borrowing_future_with_same_borrow_in_block(_and_else): borrow checker
//   future_panics_after_poll: a pattern mismatch disabling a branch; C++ has no
//     patterns (when() is the precondition, see DisabledBranchIsNeverAwaited)
//   never_branch_no_warnings, default_numeric_fallback: compiler lints
//   mut_on_left_hand_side, mut_ref_patterns: pattern binding syntax
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
namespace oneshot = kyoto::sync::oneshot;
namespace mpsc = kyoto::sync::mpsc;

namespace {

kyoto::task<int> immediate(int v) {
  co_return v;
}

kyoto::task<int> after_yield(int v) {
  co_await kyoto::yield_now();
  co_return v;
}

/// Waits forever on a receiver whose sender it also keeps; counts its drop.
kyoto::task<int> pending_forever(kyoto::test::drop_counter guard) {
  auto [tx, rx] = oneshot::channel<int>();
  auto r = co_await rx;
  (void)guard;
  co_return r.value();
}

/// An awaitable that fails the test if it is ever awaited.
struct must_not_await {
  bool await_ready() const {
    ADD_FAILURE() << "a disabled branch was awaited";
    return true;
  }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const { return 0; }
};

// tokio: sync_one_lit_expr_comma, sync_one_await, sync_one_ident
KYOTO_TEST(Select, OneImmediateBranchGivesItsValue) {
  auto v = co_await kyoto::select(immediate(1));
  static_assert(std::is_same_v<decltype(v), std::variant<int>>);
  EXPECT_EQ(std::get<0>(v), 1);
}

// tokio: sync_two
KYOTO_TEST(Select, TwoImmediateBranchesOneWins) {
  auto v = co_await kyoto::select(immediate(1), immediate(2));
  EXPECT_EQ(v.index() == 0 ? std::get<0>(v) : std::get<1>(v), static_cast<int>(v.index()) + 1);
}

KYOTO_TEST(Select, VoidBranchGivesMonostate) {
  std::atomic<int> drops{0};
  auto v =
      co_await kyoto::select(kyoto::yield_now(), pending_forever(kyoto::test::drop_counter(drops)));
  static_assert(std::is_same_v<decltype(v), std::variant<std::monostate, int>>);
  EXPECT_EQ(v.index(), 0u);
  EXPECT_EQ(drops.load(), 1);
}

// tokio: drop_in_fut
KYOTO_TEST(Select, WinnerBodyRunsAndDropsItsState) {
  std::atomic<int> drops{0};
  auto body = [](kyoto::test::drop_counter guard) -> kyoto::task<int> {
    auto g = std::move(guard);
    co_return co_await immediate(1);
  };
  auto v = co_await kyoto::select(body(kyoto::test::drop_counter(drops)));
  EXPECT_EQ(std::get<0>(v), 1);
  EXPECT_EQ(drops.load(), 1);
}

// tokio: one_ready
KYOTO_TEST(Select, ReadyBranchWinsOverPendingOne) {
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  tx1.send(1).value();
  auto v = co_await kyoto::select(std::move(rx1), std::move(rx2));
  EXPECT_EQ(v.index(), 0u);
  EXPECT_EQ(std::get<0>(v).value(), 1);
}

// tokio: select_streams (`else` is all_branches_disabled)
KYOTO_TEST(Select, LoopOverTwoChannelsUntilEveryBranchIsDisabled) {
  auto [tx1, rx1] = mpsc::unbounded_channel<int>();
  auto [tx2, rx2] = mpsc::unbounded_channel<int>();
  kyoto::spawn([](mpsc::unbounded_sender<int> t1, mpsc::unbounded_sender<int> t2) -> kyoto::task<> {
    t2.send(1).value();
    co_await kyoto::yield_now();
    t1.send(2).value();
    co_await kyoto::yield_now();
    t2.send(3).value();
    co_await kyoto::yield_now();
  }(std::move(tx1), std::move(tx2)));
  bool open1 = true;
  bool open2 = true;
  std::vector<int> msgs;
  for (;;) {
    try {
      auto v =
          co_await kyoto::select(kyoto::when(open1, rx1.recv()), kyoto::when(open2, rx2.recv()));
      std::optional<int> got = v.index() == 0 ? std::get<0>(v) : std::get<1>(v);
      if (got) {
        msgs.push_back(*got);
      } else {
        (v.index() == 0 ? open1 : open2) = false;
      }
    } catch (const kyoto::all_branches_disabled&) {
      break;
    }
  }
  std::sort(msgs.begin(), msgs.end());
  EXPECT_EQ(msgs, (std::vector<int>{1, 2, 3}));
}

// tokio: move_uncompleted_futures
KYOTO_TEST(Select, LvalueReceiverSurvivesLosing) {
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  tx1.send(1).value();
  tx2.send(2).value();
  auto v = co_await kyoto::select(rx1, rx2);
  if (v.index() == 0) {
    EXPECT_EQ(std::get<0>(v).value(), 1);
    EXPECT_EQ((co_await rx2).value(), 2);
  } else {
    EXPECT_EQ(std::get<1>(v).value(), 2);
    EXPECT_EQ((co_await rx1).value(), 1);
  }
}

// tokio: nested
KYOTO_TEST(Select, NestedSelect) {
  auto inner = [](int x) -> kyoto::task<int> {
    auto y = co_await kyoto::select(immediate(2));
    co_return x + std::get<0>(y);
  };
  auto v = co_await kyoto::select(inner(1));
  EXPECT_EQ(std::get<0>(v), 3);
}

// tokio: disable_with_if
KYOTO_TEST(Select, DisabledBranchIsNeverAwaited) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = kyoto::spawn([](oneshot::receiver<int> r) -> kyoto::task<std::size_t> {
    auto v = co_await kyoto::select(kyoto::when(false, must_not_await{}), std::move(r));
    co_return v.index();
  }(std::move(rx)));
  tx.send(5).value();
  EXPECT_EQ(co_await h, 1u);
}

// tokio: join_with_select
KYOTO_TEST(Select, LvalueBranchesWithPreconditionsJoin) {
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](oneshot::receiver<int> r1, oneshot::receiver<int> r2) -> kyoto::task<std::pair<int, int>> {
        std::optional<int> a;
        std::optional<int> b;
        while (!a || !b) {
          auto v = co_await kyoto::select(kyoto::when(!a, r1), kyoto::when(!b, r2));
          if (v.index() == 0) {
            a = std::get<0>(v).value();
          } else {
            b = std::get<1>(v).value();
          }
        }
        co_return std::pair(*a, *b);
      }(std::move(rx1), std::move(rx2)));
  tx1.send(123).value();
  co_await kyoto::test::let_others_run();
  tx2.send(456).value();
  EXPECT_EQ(co_await h, std::pair(123, 456));
}

// tokio: use_future_in_if_condition, use_future_in_if_condition_biased
KYOTO_TEST(Select, DisabledSleepIsIgnored) {
  auto v = co_await kyoto::select(kyoto::when(false, kyoto::time::sleep(10ms)), immediate(1));
  EXPECT_EQ(v.index(), 1u);
  auto b =
      co_await kyoto::select_biased(kyoto::when(false, kyoto::time::sleep(10ms)), immediate(1));
  EXPECT_EQ(b.index(), 1u);
}

// tokio: many_branches
KYOTO_TEST(Select, ManyBranches) {
  std::vector<oneshot::sender<int>> keep;
  std::vector<oneshot::receiver<int>> rx;
  for (int i = 0; i < 15; ++i) {
    auto [t, r] = oneshot::channel<int>();
    keep.push_back(std::move(t));
    rx.push_back(std::move(r));
  }
  auto v = co_await kyoto::select(rx[0], rx[1], rx[2], rx[3], rx[4], rx[5], rx[6], rx[7], rx[8],
                                  rx[9], rx[10], rx[11], rx[12], rx[13], rx[14], immediate(7));
  EXPECT_EQ(v.index(), 15u);
  EXPECT_EQ(std::get<15>(v), 7);
}

// tokio: biased_one_not_ready
KYOTO_TEST(Select, BiasedPicksTheFirstReadyBranchInOrder) {
  auto [tx1, rx1] = oneshot::channel<int>();
  auto [tx2, rx2] = oneshot::channel<int>();
  auto [tx3, rx3] = oneshot::channel<int>();
  tx2.send(2).value();
  tx3.send(3).value();
  for (int i = 0; i < 20; ++i) {
    auto v = co_await kyoto::select_biased(rx1, rx2, rx3);
    EXPECT_EQ(v.index(), 1u);
    EXPECT_EQ(std::get<1>(v).value(), 2);
    break;  // rx2 is used up after one win
  }
  // Immediate branches: the first always wins.
  for (int i = 0; i < 100; ++i) {
    auto v = co_await kyoto::select_biased(immediate(1), immediate(2));
    EXPECT_EQ(v.index(), 0u);
  }
}

// tokio: biased_eventually_ready (lvalue tasks keep their progress)
KYOTO_CT_TEST(Select, BiasedWithLvalueTasksEventuallyReady) {
  kyoto::task<> one = []() -> kyoto::task<> {
    co_return;
  }();
  kyoto::task<> two = []() -> kyoto::task<> {
    co_await kyoto::yield_now();
  }();
  kyoto::task<> three = []() -> kyoto::task<> {
    co_await kyoto::yield_now();
  }();
  int count = 0;
  for (;;) {
    try {
      auto v = co_await kyoto::select_biased(
          kyoto::when(count < 2, two), kyoto::when(count < 3, three), kyoto::when(count < 1, one));
      ++count;
      EXPECT_EQ(count, v.index() == 0 ? 2 : v.index() == 1 ? 3 : 1);
    } catch (const kyoto::all_branches_disabled&) {
      break;
    }
  }
  EXPECT_EQ(count, 3);
}

KYOTO_TEST(Select, RandomStartIsFair) {
  int wins[2] = {0, 0};
  for (int i = 0; i < 1000; ++i) {
    auto v = co_await kyoto::select(immediate(0), immediate(1));
    ++wins[v.index()];
  }
  EXPECT_GT(wins[0], 300);
  EXPECT_GT(wins[1], 300);
}

KYOTO_TEST(Select, LosersAreDestroyedBeforeSelectReturns) {
  for (int i = 0; i < 20; ++i) {
    std::atomic<int> drops{0};
    auto v =
        co_await kyoto::select(pending_forever(kyoto::test::drop_counter(drops)), after_yield(4),
                               pending_forever(kyoto::test::drop_counter(drops)));
    EXPECT_EQ(drops.load(), 2);
    EXPECT_EQ(std::get<1>(v), 4);
  }
}

KYOTO_TEST(Select, ExceptionInABranchPropagatesAfterCancellingTheOthers) {
  std::atomic<int> drops{0};
  auto thrower = []() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    throw std::runtime_error("boom");
  };
  if (co_await kyoto::test::expect_throws_async<std::runtime_error>(
          [&] {
            return kyoto::select(pending_forever(kyoto::test::drop_counter(drops)), thrower());
          },
          kyoto::test::whole_message("boom"))) {
    EXPECT_EQ(drops.load(), 1);
  }
}

KYOTO_TEST(Select, EveryBranchDisabledThrows) {
  co_await kyoto::test::expect_throws_async<kyoto::all_branches_disabled>([&] {
    return kyoto::select(kyoto::when(false, immediate(1)), kyoto::when(false, kyoto::yield_now()));
  });
}

KYOTO_CT_TEST(Select, LvalueTaskKeepsItsProgressAcrossLostRounds) {
  auto [txa, rxa] = oneshot::channel<int>();
  auto [txb, rxb] = oneshot::channel<int>();
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  int step = 0;
  auto body = [](oneshot::receiver<int> a, oneshot::receiver<int> b, int* s) -> kyoto::task<int> {
    const int x = (co_await a).value();
    *s = 1;
    const int y = (co_await b).value();
    *s = 2;
    co_return x + y;
  };
  kyoto::task<int> t = body(std::move(rxa), std::move(rxb), &step);
  // Round 1: the task starts (nothing else is ready) and waits on `a`; the
  // channel wins.
  kyoto::spawn([](mpsc::unbounded_sender<int> out) -> kyoto::task<> {
    out.send(9).value();
    co_return;
  }(tx));
  auto r1 = co_await kyoto::select(t, rx.recv());
  EXPECT_EQ(r1.index(), 1u);
  EXPECT_EQ(*std::get<1>(r1), 9);
  EXPECT_EQ(step, 0);
  // Nobody awaits the task now, yet it goes on when `a` arrives.
  txa.send(40).value();
  co_await kyoto::test::let_others_run();
  EXPECT_EQ(step, 1);
  // Round 2: the task finishes.
  kyoto::spawn([](oneshot::sender<int> s) -> kyoto::task<> {
    s.send(2).value();
    co_return;
  }(std::move(txb)));
  auto r2 = co_await kyoto::select(t, rx.recv());
  EXPECT_EQ(r2.index(), 0u);
  EXPECT_EQ(std::get<0>(r2), 42);
  EXPECT_EQ(step, 2);
  EXPECT_FALSE(t.valid());
}

KYOTO_TEST(Select, SleepByReferenceKeepsItsDeadline) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  kyoto::time::sleep_awaiter deadline = kyoto::time::sleep(20ms);
  const kyoto::time::instant when = deadline.deadline();
  for (int i = 0; i < 5; ++i)
    tx.send(i).value();
  int received = 0;
  for (;;) {
    auto v = co_await kyoto::select_biased(rx.recv(), deadline);
    if (v.index() == 1) break;
    ++received;
  }
  EXPECT_EQ(received, 5);
  EXPECT_EQ(deadline.deadline(), when);
  EXPECT_GE(kyoto::time::clock::now(), when);
  // A fired sleep completes at once when selected again.
  auto again = co_await kyoto::select_biased(deadline, rx.recv());
  EXPECT_EQ(again.index(), 0u);
}

KYOTO_TEST(Select, NotifiedAndJoinHandleAreBranches) {
  kyoto::sync::notify n;
  auto h = kyoto::spawn(after_yield(3));
  auto v = co_await kyoto::select(n.notified(), h);
  EXPECT_EQ(v.index(), 1u);
  EXPECT_EQ(std::get<1>(v), 3);
}

// A select loop over a channel and a timer, 100,000 rounds on 2 workers:
// no message lost, in order.
KYOTO_TEST_WITH(Select, StressChannelAndTimerLoseNoMessage,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr std::uint64_t n = 100'000;
  auto [tx, rx] = mpsc::channel<std::uint64_t>(64);
  auto producer = kyoto::spawn([](mpsc::sender<std::uint64_t> out) -> kyoto::task<> {
    for (std::uint64_t i = 0; i < n; ++i)
      (co_await out.send(i)).value();
  }(std::move(tx)));
  auto consumer = kyoto::spawn([](mpsc::receiver<std::uint64_t> in) -> kyoto::task<std::uint64_t> {
    std::uint64_t next = 0;
    std::uint64_t ticks = 0;
    std::optional<kyoto::time::sleep_awaiter> timer;
    timer.emplace(kyoto::time::sleep(1ms));
    for (;;) {
      auto v = co_await kyoto::select(in.recv(), *timer);
      if (v.index() == 1) {
        ++ticks;
        timer.reset();
        timer.emplace(kyoto::time::sleep(1ms));
        continue;
      }
      std::optional<std::uint64_t> got = std::get<0>(v);
      if (!got) break;
      EXPECT_EQ(*got, next);
      if (*got != next) break;
      ++next;
    }
    (void)ticks;
    co_return next;
  }(std::move(rx)));
  co_await producer;
  EXPECT_EQ(co_await consumer, n);
}

}  // namespace
