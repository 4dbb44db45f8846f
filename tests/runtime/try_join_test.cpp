// kyoto::try_join. Ports tokio's tests/macros_try_join.rs where it applies:
//   sync_one_lit_expr_comma, sync_one_lit_expr_no_comma, sync_two_lit_expr_comma,
//   sync_two_lit_expr_no_comma           -> ImmediateOkBranchesGiveOkTuple (the comma variants
//                                           are Rust macro syntax)
//   two_await                            -> BranchesWaitingOnDifferentEventsBothSucceed
//   err_abort_early                      -> AnErrorValueEndsTheJoinWithoutWaitingForTheRest
//   join_size                            left out: Rust future sizes, no C++ analogue
//   try_join_does_not_allow_tasks_to_starve
//                                        -> ABranchSpendingItsBudgetLetsTheOthersRun
//   a_different_future_is_polled_first_every_time_poll_fn_is_polled
//                                        left out: kyoto does not poll; it resumes the branches
//                                        that were woken, in wake order (as join_test says)
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

using namespace std::chrono_literals;

namespace {

using unit_error = std::string;

template <class T>
kyoto::result<T, unit_error> ok(T v) {
  return v;
}

kyoto::task<kyoto::result<int, unit_error>> ok_task(int v) {
  co_return ok(v);
}

kyoto::task<kyoto::result<int, unit_error>> err_after_yield(std::string why) {
  co_await kyoto::yield_now();
  co_return kyoto::unexpected<unit_error>(std::move(why));
}

kyoto::task<kyoto::result<int, unit_error>> ok_after_an_hour(std::atomic<int>& dropped) {
  kyoto::test::drop_counter guard(dropped);
  co_await kyoto::time::sleep(1h);
  co_return ok(0);
}

// tokio: sync_one_lit_expr_*, sync_two_lit_expr_*.
KYOTO_TEST(TryJoin, ImmediateOkBranchesGiveOkTuple) {
  auto one = co_await kyoto::try_join(ok_task(1));
  static_assert(std::is_same_v<decltype(one), kyoto::result<std::tuple<int>, unit_error>>);
  EXPECT_EQ(one, std::make_tuple(1));
  auto two = co_await kyoto::try_join(ok_task(1), ok_task(2));
  EXPECT_EQ(two, std::make_tuple(1, 2));
}

// tokio: two_await.
KYOTO_TEST(TryJoin, BranchesWaitingOnDifferentEventsBothSucceed) {
  auto [tx1, rx1] = kyoto::sync::oneshot::channel<std::string>();
  auto [tx2, rx2] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<std::string> r1, kyoto::sync::oneshot::receiver<int> r2)
          -> kyoto::task<
              kyoto::result<std::tuple<std::string, int>, kyoto::sync::oneshot::recv_error>> {
        co_return co_await kyoto::try_join(std::move(r1), std::move(r2));
      },
      std::move(rx1), std::move(rx2));
  co_await kyoto::yield_now();
  EXPECT_FALSE(h.is_finished());
  tx2.send(123).value();
  co_await kyoto::yield_now();
  EXPECT_FALSE(h.is_finished());
  tx1.send("hello").value();
  auto res = co_await h;
  KYOTO_ASSERT_TRUE(res.has_value());
  EXPECT_EQ(*res, std::make_tuple(std::string("hello"), 123));
}

// tokio: err_abort_early (the first receiver's sender is dropped: the
// try_join fails although the third branch still waits).
KYOTO_TEST(TryJoin, AnErrorValueEndsTheJoinWithoutWaitingForTheRest) {
  auto [tx1, rx1] = kyoto::sync::oneshot::channel<std::string>();
  auto [tx2, rx2] = kyoto::sync::oneshot::channel<int>();
  auto [tx3, rx3] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](kyoto::sync::oneshot::receiver<std::string> r1, kyoto::sync::oneshot::receiver<int> r2,
         kyoto::sync::oneshot::receiver<int> r3) -> kyoto::task<bool> {
        auto res = co_await kyoto::try_join(std::move(r1), std::move(r2), std::move(r3));
        co_return res.has_value();
      },
      std::move(rx1), std::move(rx2), std::move(rx3));
  co_await kyoto::yield_now();
  tx2.send(123).value();
  co_await kyoto::yield_now();
  EXPECT_FALSE(h.is_finished());
  {
    auto dropped = std::move(tx1);
  }
  EXPECT_FALSE(co_await h);
  EXPECT_TRUE(tx3.is_closed());  // the third branch was cancelled with its receiver
}

// tokio: try_join_does_not_allow_tasks_to_starve (10 permits; one branch
// acquires 5 x 128 times without ever waiting; the other must still get
// its turns).
KYOTO_TEST(TryJoin, ABranchSpendingItsBudgetLetsTheOthersRun) {
  auto permits = std::make_shared<kyoto::sync::semaphore>(10);
  auto non_cooperative =
      [](std::shared_ptr<kyoto::sync::semaphore> p) -> kyoto::task<kyoto::result<int, unit_error>> {
    int exceeded_budget = 0;
    for (int i = 0; i < 5; ++i) {
      for (int k = 0; k < 128; ++k) {
        auto permit = (co_await kyoto::sync::semaphore::acquire_owned(p)).value();
      }
      ++exceeded_budget;
    }
    co_return exceeded_budget;
  };
  auto poor_little =
      [](std::shared_ptr<kyoto::sync::semaphore> p) -> kyoto::task<kyoto::result<int, unit_error>> {
    int got_to_run = 0;
    for (int i = 0; i < 5; ++i) {
      auto permit = (co_await kyoto::sync::semaphore::acquire_owned(p)).value();
      ++got_to_run;
    }
    co_return got_to_run;
  };
  auto result = co_await kyoto::try_join(non_cooperative(permits), poor_little(permits));
  KYOTO_ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, std::make_tuple(5, 5));
}

KYOTO_TEST(TryJoin, AnErrorValueCancelsTheOtherBranches) {
  std::atomic<int> dropped{0};
  auto res = co_await kyoto::try_join(ok_after_an_hour(dropped), err_after_yield("nope"),
                                      ok_after_an_hour(dropped));
  KYOTO_ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error(), "nope");
  EXPECT_EQ(dropped.load(), 2);
}

KYOTO_TEST(TryJoin, TheFirstErrorWins) {
  auto res = co_await kyoto::try_join(err_after_yield("first"), err_after_yield("second"));
  KYOTO_ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error(), "first");
}

KYOTO_TEST(TryJoin, AnErrorBeforeAnySuspensionSkipsTheRest) {
  bool third_ran = false;
  auto third = [](bool& ran) -> kyoto::task<kyoto::result<int, unit_error>> {
    ran = true;
    co_return 3;
  };
  auto at_once = []() -> kyoto::task<kyoto::result<int, unit_error>> {
    co_return kyoto::unexpected<unit_error>("at once");
  };
  auto res = co_await kyoto::try_join(ok_task(1), at_once(), third(third_ran));
  KYOTO_ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error(), "at once");
  EXPECT_FALSE(third_ran);
}

KYOTO_TEST(TryJoin, AnExceptionCancelsTheOthersAndIsRethrown) {
  std::atomic<int> dropped{0};
  auto thrower = []() -> kyoto::task<kyoto::result<int, unit_error>> {
    co_await kyoto::yield_now();
    throw std::runtime_error("thrown");
  };
  co_await kyoto::test::expect_throws_async<std::runtime_error>(
      [&] { return kyoto::try_join(ok_after_an_hour(dropped), thrower()); },
      kyoto::test::whole_message("thrown"));
  EXPECT_EQ(dropped.load(), 1);
}

// Without result-shaped branches try_join is join: a tuple, and the first
// exception cancels the rest.
KYOTO_TEST(TryJoin, PlainBranchesGiveATupleAndStopAtAnException) {
  auto two = []() -> kyoto::task<int> {
    co_return 2;
  };
  auto none = []() -> kyoto::task<> {
    co_return;
  };
  auto t = co_await kyoto::try_join(two(), none());
  static_assert(std::is_same_v<decltype(t), std::tuple<int, std::monostate>>);
  EXPECT_EQ(std::get<0>(t), 2);
  auto fails = []() -> kyoto::task<int> {
    co_await kyoto::yield_now();
    throw std::runtime_error("plain");
  };
  std::atomic<int> dropped{0};
  auto waits = [](std::atomic<int>& d) -> kyoto::task<int> {
    kyoto::test::drop_counter guard(d);
    co_await kyoto::time::sleep(1h);
    co_return 1;
  };
  EXPECT_THROW((void)co_await kyoto::try_join(waits(dropped), fails()), std::runtime_error);
  EXPECT_EQ(dropped.load(), 1);
}

// Result-shaped and plain branches mix: the plain ones cannot fail by
// value; void values become std::monostate.
KYOTO_TEST(TryJoin, MixedAndVoidBranches) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  auto plain = []() -> kyoto::task<std::string> {
    co_return "plain";
  };
  // send() gives result<void, send_error<int>>; recv() a plain optional.
  auto res = co_await kyoto::try_join(tx.send(5), plain(), rx.recv());
  static_assert(
      std::is_same_v<decltype(res),
                     kyoto::result<std::tuple<std::monostate, std::string, std::optional<int>>,
                                   kyoto::sync::mpsc::send_error<int>>>);
  KYOTO_ASSERT_TRUE(res.has_value());
  EXPECT_EQ(std::get<1>(*res), "plain");
  EXPECT_EQ(std::get<2>(*res), std::optional<int>(5));
  // A send on a closed channel fails the join, and the value comes back.
  {
    auto gone = std::move(rx);
  }
  auto failed = co_await kyoto::try_join(tx.send(6), plain());
  KYOTO_ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().value, 6);
}

KYOTO_TEST(TryJoin, CancellingTheTryJoinCancelsEveryBranch) {
  std::atomic<int> dropped{0};
  auto [started_tx, started_rx] = kyoto::sync::oneshot::channel<int>();
  auto h = kyoto::spawn(
      [](std::atomic<int>& d, kyoto::sync::oneshot::sender<int> started) -> kyoto::task<> {
        // abort() acts at the end of this run at the earliest: both
        // branches have started by then.
        started.send(1).value();
        (void)co_await kyoto::try_join(ok_after_an_hour(d), ok_after_an_hour(d));
      },
      std::ref(dropped), std::move(started_tx));
  (co_await started_rx).value();
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 2);
}

// Lvalue arguments are awaited in place (tasks, join_handles).
KYOTO_TEST(TryJoin, LvalueArgumentsAreAwaitedInPlace) {
  auto h = kyoto::spawn(ok_task(4));
  kyoto::task<kyoto::result<int, unit_error>> t = ok_task(5);
  auto res = co_await kyoto::try_join(h, t);
  EXPECT_EQ(res, std::make_tuple(4, 5));
}

}  // namespace
