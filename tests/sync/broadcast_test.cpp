// kyoto::sync::broadcast, ported from tokio 1.24 tests/sync_broadcast.rs,
// plus the kyoto-specific contracts (values destroyed once read by all,
// cancellation, the budget's yield, blocking calls across threads, misuse
// errors) and stress tests across a 2-worker runtime and plain threads.
//
// tokio_test's mock polling (task::spawn + assert_pending!/is_woken) is
// ported with real tasks, as in mpsc_test.cpp: a task still unfinished after
// the others have run a few times over (let_others_run) is waiting; a woken
// one finishes within a bounded number of yields (finishes_soon).
//
// Left out of tokio's file:
// change_tasks: polls one recv future from two tasks; a kyoto awaiter has one awaiting coroutine.
// (AssertSend impls: Rust's Send/Sync; the static_asserts below check handle ownership instead.)
#include "broadcast_positions.hpp"
#include "ct_test.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;

namespace broadcast = kyoto::sync::broadcast;
using broadcast::recv_error;
using broadcast::try_recv_error;
using kyoto::test::abort_and_respawn;
using kyoto::test::poll_positions;
using kyoto::test::position_checker;
using kyoto::test::receive_positions;
using kyoto::test::send_positions;

// A sender is copied (tokio's clone), a receiver only moved.
static_assert(std::is_copy_constructible_v<broadcast::sender<int>>);
static_assert(std::is_nothrow_move_constructible_v<broadcast::sender<int>>);
static_assert(!std::is_copy_constructible_v<broadcast::receiver<int>>);
static_assert(std::is_nothrow_move_constructible_v<broadcast::receiver<int>>);

// ---- helpers ----

/// One recv() on a receiver the caller keeps.
template <class T>
kyoto::task<kyoto::result<T, recv_error>> recv_one(broadcast::receiver<T>* rx) {
  co_return co_await rx->recv();
}

// tokio's assert_recv! / assert_empty! / assert_lagged! / assert_closed!.
template <class T, class U>
testing::AssertionResult received(const kyoto::result<T, try_recv_error>& r, const U& expected) {
  if (!r.has_value()) return testing::AssertionFailure() << "try_recv failed: " << r.error().what();
  if (!(*r == expected)) return testing::AssertionFailure() << "try_recv gave " << *r;
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult is_empty(const kyoto::result<T, try_recv_error>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_recv gave " << *r;
  if (!r.error().is_empty()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult is_lagged(const kyoto::result<T, try_recv_error>& r, std::uint64_t n) {
  if (r.has_value()) return testing::AssertionFailure() << "try_recv gave " << *r;
  if (r.error() != try_recv_error::lagged(n)) {
    return testing::AssertionFailure() << "error: " << r.error().what() << ", not lagged by " << n;
  }
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult is_closed(const kyoto::result<T, try_recv_error>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_recv gave " << *r;
  if (!r.error().is_closed()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

// The same for recv()'s result.
template <class T, class U>
testing::AssertionResult got(const kyoto::result<T, recv_error>& r, const U& expected) {
  if (!r.has_value()) return testing::AssertionFailure() << "recv failed: " << r.error().what();
  if (!(*r == expected)) return testing::AssertionFailure() << "recv gave " << *r;
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult got_closed(const kyoto::result<T, recv_error>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "recv gave " << *r;
  if (!r.error().is_closed()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

/// A copyable value that counts its live instances (a drop_counter that
/// can be copied, as a broadcast value must be).
class counted {
 public:
  counted(int value, std::atomic<int>* live) noexcept : value_(value), live_(live) { ++*live_; }
  counted(const counted& o) noexcept : value_(o.value_), live_(o.live_) { ++*live_; }
  counted& operator=(const counted&) = delete;
  ~counted() { --*live_; }
  int value() const noexcept { return value_; }
  friend bool operator==(const counted& a, int b) noexcept { return a.value_ == b; }
  friend std::ostream& operator<<(std::ostream& os, const counted& c) { return os << c.value_; }

 private:
  int value_;
  std::atomic<int>* live_;
};

// ==== ported from tokio's sync_broadcast.rs ====

// send_try_recv_bounded
TEST(Broadcast, TryRecvGetsTheSentValueThenEmpty) {
  auto [tx, rx] = broadcast::channel<std::string>(16);

  EXPECT_TRUE(is_empty(rx.try_recv()));

  auto n = tx.send("hello");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);

  EXPECT_TRUE(received(rx.try_recv(), "hello"));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// send_two_recv
TEST(Broadcast, EveryReceiverGetsItsOwnCopy) {
  auto [tx, rx1] = broadcast::channel<std::string>(16);
  auto rx2 = tx.subscribe();

  EXPECT_TRUE(is_empty(rx1.try_recv()));
  EXPECT_TRUE(is_empty(rx2.try_recv()));

  auto n = tx.send("hello");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2u);

  EXPECT_TRUE(received(rx1.try_recv(), "hello"));
  EXPECT_TRUE(received(rx2.try_recv(), "hello"));

  EXPECT_TRUE(is_empty(rx1.try_recv()));
  EXPECT_TRUE(is_empty(rx2.try_recv()));
}

// send_recv_bounded
KYOTO_CT_TEST(Broadcast, RecvWaitsForASendAndIsWokenByIt) {
  auto [tx, rx] = broadcast::channel<std::string>(16);

  auto recv = kyoto::spawn(recv_one(&rx));
  co_await let_others_run();
  EXPECT_FALSE(recv.is_finished());

  tx.send("hello").expect("send");

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv));
  EXPECT_TRUE(got(co_await recv, "hello"));
}

// send_two_recv_bounded
KYOTO_CT_TEST(Broadcast, SendWakesEveryWaitingReceiver) {
  auto [tx, rx1] = broadcast::channel<std::string>(16);
  auto rx2 = tx.subscribe();

  auto recv1 = kyoto::spawn(recv_one(&rx1));
  auto recv2 = kyoto::spawn(recv_one(&rx2));
  co_await let_others_run();
  EXPECT_FALSE(recv1.is_finished());
  EXPECT_FALSE(recv2.is_finished());

  tx.send("hello").expect("send");

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv1));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv2));
  EXPECT_TRUE(got(co_await recv1, "hello"));
  EXPECT_TRUE(got(co_await recv2, "hello"));

  // Only rx1 waits this time; rx2 receives afterwards, without waiting.
  auto again = kyoto::spawn(recv_one(&rx1));
  co_await let_others_run();
  EXPECT_FALSE(again.is_finished());

  tx.send("world").expect("send");

  KYOTO_ASSERT_TRUE(co_await finishes_soon(again));
  EXPECT_TRUE(got(co_await again, "world"));
  EXPECT_TRUE(got(co_await rx2.recv(), "world"));
}

// send_slow_rx
KYOTO_CT_TEST(Broadcast, SlowReceiverStillGetsEveryValueInOrder) {
  auto [tx, rx1] = broadcast::channel<std::string>(16);
  auto rx2 = tx.subscribe();

  auto recv2 = kyoto::spawn(recv_one(&rx2));
  auto recv1 = kyoto::spawn(recv_one(&rx1));
  co_await let_others_run();
  EXPECT_FALSE(recv1.is_finished());
  EXPECT_FALSE(recv2.is_finished());

  tx.send("one").expect("send one");
  tx.send("two").expect("send two");

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv1));
  EXPECT_TRUE(got(co_await recv1, "one"));

  EXPECT_TRUE(got(co_await rx1.recv(), "two"));

  auto recv1_again = kyoto::spawn(recv_one(&rx1));
  co_await let_others_run();
  EXPECT_FALSE(recv1_again.is_finished());

  tx.send("three").expect("send three");

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv1_again));
  EXPECT_TRUE(got(co_await recv1_again, "three"));

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv2));
  EXPECT_TRUE(got(co_await recv2, "one"));

  EXPECT_TRUE(received(rx2.try_recv(), "two"));
  EXPECT_TRUE(received(rx2.try_recv(), "three"));
}

// drop_rx_while_values_remain (plus: the values are released with them)
TEST(Broadcast, DroppingReceiversWhileValuesRemainReleasesTheValues) {
  std::atomic<int> live{0};
  {
    auto [tx, rx1] = broadcast::channel<counted>(16);
    auto rx2 = tx.subscribe();

    tx.send(counted(1, &live)).expect("send one");
    tx.send(counted(2, &live)).expect("send two");

    EXPECT_TRUE(received(rx1.try_recv(), 1));
    EXPECT_TRUE(received(rx2.try_recv(), 1));
    EXPECT_EQ(live.load(), 1);  // "two" is still held for both

    {
      auto gone = std::move(rx2);
    }
    EXPECT_EQ(live.load(), 1);  // rx1 has yet to read it
    {
      auto gone = std::move(rx1);
    }
    EXPECT_EQ(live.load(), 0);
  }
  EXPECT_EQ(live.load(), 0);
}

// lagging_rx
TEST(Broadcast, LaggingReceiverGetsLaggedOnceThenTheOldestValue) {
  auto [tx, rx1] = broadcast::channel<std::string>(2);
  auto rx2 = tx.subscribe();

  tx.send("one").expect("send");
  tx.send("two").expect("send");

  EXPECT_TRUE(received(rx1.try_recv(), "one"));

  tx.send("three").expect("send");

  // Lagged too far.
  EXPECT_TRUE(is_lagged(rx2.try_recv(), 1));

  // Calling again gets the next value.
  EXPECT_TRUE(received(rx2.try_recv(), "two"));

  EXPECT_TRUE(received(rx1.try_recv(), "two"));
  EXPECT_TRUE(received(rx1.try_recv(), "three"));

  tx.send("four").expect("send");
  tx.send("five").expect("send");

  EXPECT_TRUE(is_lagged(rx2.try_recv(), 1));

  tx.send("six").expect("send");

  EXPECT_TRUE(is_lagged(rx2.try_recv(), 1));
}

// send_no_rx
TEST(Broadcast, SendWithoutReceiversHandsTheValueBack) {
  auto [tx, rx] = broadcast::channel<std::string>(16);
  {
    auto gone = std::move(rx);
  }

  auto failed = tx.send("hello");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().value, "hello");

  auto rx2 = tx.subscribe();
  auto n = tx.send("world");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);

  EXPECT_TRUE(received(rx2.try_recv(), "world"));
}

// zero_capacity
TEST(Broadcast, ZeroCapacityIsRejected) {
  kyoto::test::expect_throws<std::invalid_argument>([&] { (void)broadcast::channel<int>(0); },
                                                    "kyoto::sync::broadcast::channel");
}

// capacity_too_big
TEST(Broadcast, CapacityAboveTheMaximumIsRejected) {
  EXPECT_THROW((void)broadcast::channel<int>(1 + (SIZE_MAX >> 1)), std::invalid_argument);
  EXPECT_EQ(broadcast::max_capacity, SIZE_MAX >> 1);
}

/// tokio's MyVal, whose clone panics for 0.
struct copy_fails_for_zero {
  explicit copy_fails_for_zero(int x) noexcept : v(x) {}
  copy_fails_for_zero(const copy_fails_for_zero& o) : v(o.v) {
    if (v == 0) throw std::runtime_error("copy of 0");
  }
  copy_fails_for_zero(copy_fails_for_zero&&) noexcept = default;
  friend bool operator==(const copy_fails_for_zero& a, int b) noexcept { return a.v == b; }
  friend std::ostream& operator<<(std::ostream& os, const copy_fails_for_zero& c) {
    return os << c.v;
  }
  int v;
};

// panic_in_clone
TEST(Broadcast, ThrowingCopyConsumesOnlyThatValue) {
  auto [tx, rx] = broadcast::channel<copy_fails_for_zero>(16);

  tx.send(copy_fails_for_zero(0)).expect("send 0");
  tx.send(copy_fails_for_zero(1)).expect("send 1");

  EXPECT_THROW((void)rx.try_recv(), std::runtime_error);

  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx.try_recv()));
  EXPECT_TRUE(tx.is_empty());  // the failed copy still counted as read
}

// dropping_tx_notifies_rx
KYOTO_CT_TEST(Broadcast, DroppingTheLastSenderWakesReceiversWithClosed) {
  auto [tx, rx1] = broadcast::channel<int>(16);
  auto rx2 = tx.subscribe();
  broadcast::sender<int> tx2 = tx;

  auto recv1 = kyoto::spawn(recv_one(&rx1));
  auto recv2 = kyoto::spawn(recv_one(&rx2));
  co_await let_others_run();
  EXPECT_FALSE(recv1.is_finished());
  EXPECT_FALSE(recv2.is_finished());

  {
    auto gone = std::move(tx);
  }
  co_await let_others_run();
  EXPECT_FALSE(recv1.is_finished());
  EXPECT_FALSE(recv2.is_finished());

  {
    auto gone = std::move(tx2);
  }

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv1));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv2));
  EXPECT_TRUE(got_closed(co_await recv1));
  EXPECT_TRUE(got_closed(co_await recv2));
}

// unconsumed_messages_are_dropped
TEST(Broadcast, UnreceivedValuesAreDestroyedWithTheLastReceiver) {
  auto [tx, rx] = broadcast::channel<std::shared_ptr<int>>(16);

  auto msg = std::make_shared<int>(0);
  tx.send(msg).expect("send");
  EXPECT_EQ(msg.use_count(), 2);

  {
    auto gone = std::move(rx);
  }
  EXPECT_EQ(msg.use_count(), 1);
}

// single_capacity_recvs
TEST(Broadcast, CapacityOneReceivesThenEmpty) {
  auto [tx, rx] = broadcast::channel<int>(1);

  tx.send(1).expect("send");

  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// single_capacity_recvs_after_drop_1
TEST(Broadcast, CapacityOneReceivesThenClosedOnceTheSenderIsGone) {
  auto [tx, rx] = broadcast::channel<int>(1);

  tx.send(1).expect("send");
  {
    auto gone = std::move(tx);
  }

  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_closed(rx.try_recv()));
}

// single_capacity_recvs_after_drop_2
TEST(Broadcast, CapacityOneLagsThenReceivesTheLastValueThenClosed) {
  auto [tx, rx] = broadcast::channel<int>(1);

  tx.send(1).expect("send");
  tx.send(2).expect("send");
  {
    auto gone = std::move(tx);
  }

  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_closed(rx.try_recv()));
}

// dropping_sender_does_not_overwrite
TEST(Broadcast, DroppingTheSenderOverwritesNothing) {
  auto [tx, rx] = broadcast::channel<int>(2);

  tx.send(1).expect("send");
  tx.send(2).expect("send");
  {
    auto gone = std::move(tx);
  }

  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_closed(rx.try_recv()));
}

// lagging_receiver_recovers_after_wrap_closed_1
TEST(Broadcast, LaggedByOneAfterTheWrapThenTheRestThenClosed) {
  auto [tx, rx] = broadcast::channel<int>(2);

  tx.send(1).expect("send");
  tx.send(2).expect("send");
  tx.send(3).expect("send");
  {
    auto gone = std::move(tx);
  }

  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(received(rx.try_recv(), 3));
  EXPECT_TRUE(is_closed(rx.try_recv()));
}

// lagging_receiver_recovers_after_wrap_closed_2
TEST(Broadcast, LaggedByTwoAfterTheWrapThenTheRestThenClosed) {
  auto [tx, rx] = broadcast::channel<int>(2);

  tx.send(1).expect("send");
  tx.send(2).expect("send");
  tx.send(3).expect("send");
  tx.send(4).expect("send");
  {
    auto gone = std::move(tx);
  }

  EXPECT_TRUE(is_lagged(rx.try_recv(), 2));
  EXPECT_TRUE(received(rx.try_recv(), 3));
  EXPECT_TRUE(received(rx.try_recv(), 4));
  EXPECT_TRUE(is_closed(rx.try_recv()));
}

// lagging_receiver_recovers_after_wrap_open
TEST(Broadcast, LaggedAfterTheWrapThenTheRestThenEmptyWhileSendersRemain) {
  auto [tx, rx] = broadcast::channel<int>(2);

  tx.send(1).expect("send");
  tx.send(2).expect("send");
  tx.send(3).expect("send");

  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(received(rx.try_recv(), 3));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// receiver_len_with_lagged (capacity 3 is rounded up to 4)
TEST(Broadcast, ReceiverLenCountsTheValuesItLaggedPast) {
  auto [tx, rx] = broadcast::channel<int>(3);

  tx.send(10).value();
  tx.send(20).value();
  tx.send(30).value();
  tx.send(40).value();

  EXPECT_EQ(rx.len(), 4u);
  EXPECT_TRUE(received(rx.try_recv(), 10));

  tx.send(50).value();
  tx.send(60).value();

  EXPECT_EQ(rx.len(), 5u);
  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
}

// resubscribe_points_to_tail
TEST(Broadcast, ResubscribeStartsAtTheTail) {
  auto [tx, rx] = broadcast::channel<int>(3);
  tx.send(1).value();

  auto rx_resub = rx.resubscribe();

  // One behind at the start.
  EXPECT_TRUE(is_empty(rx_resub.try_recv()));
  EXPECT_TRUE(received(rx.try_recv(), 1));

  // The two do not affect each other.
  tx.send(2).value();
  EXPECT_TRUE(received(rx_resub.try_recv(), 2));
  tx.send(3).value();
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(received(rx.try_recv(), 3));
  EXPECT_TRUE(is_empty(rx.try_recv()));

  EXPECT_TRUE(received(rx_resub.try_recv(), 3));
  EXPECT_TRUE(is_empty(rx_resub.try_recv()));
}

// resubscribe_lagged
TEST(Broadcast, ResubscribeOfALaggingReceiverDoesNotLag) {
  auto [tx, rx] = broadcast::channel<int>(1);
  tx.send(1).value();
  tx.send(2).value();

  auto rx_resub = rx.resubscribe();
  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx_resub.try_recv()));

  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_empty(rx.try_recv()));
  EXPECT_TRUE(is_empty(rx_resub.try_recv()));
}

// resubscribe_to_closed_channel
TEST(Broadcast, ResubscribeToAClosedChannelIsClosed) {
  auto [tx, rx] = broadcast::channel<std::uint32_t>(2);
  {
    auto gone = std::move(tx);
  }

  auto rx_resub = rx.resubscribe();
  EXPECT_TRUE(is_closed(rx_resub.try_recv()));
}

// ==== kyoto's own contracts ====

TEST(Broadcast, CapacityIsRoundedUpToAPowerOfTwo) {
  auto [tx, rx] = broadcast::channel<int>(5);  // holds 8
  for (int i = 0; i < 8; ++i)
    tx.send(i).value();
  EXPECT_TRUE(received(rx.try_recv(), 0));  // nothing overwritten yet
  for (int i = 8; i < 10; ++i)
    tx.send(i).value();
  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));  // 9 sends past position 1: it is gone
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

// The API row: value, lagged and closed handled in one loop, no exceptions.
KYOTO_TEST(Broadcast, RecvLoopHandlesValueLaggedAndClosedWithoutExceptions) {
  auto [tx, rx] = broadcast::channel<int>(2);
  for (int i = 1; i <= 5; ++i)
    tx.send(i).value();
  {
    auto gone = std::move(tx);
  }

  std::vector<int> values;
  std::uint64_t skipped = 0;
  bool closed = false;
  for (;;) {
    auto r = co_await rx.recv();
    if (r) {
      values.push_back(*r);
      continue;
    }
    if (r.error().is_lagged()) {
      skipped += r.error().skipped();
      continue;
    }
    closed = r.error().is_closed();
    break;
  }
  EXPECT_EQ(values, (std::vector<int>{4, 5}));
  EXPECT_EQ(skipped, 3u);
  EXPECT_TRUE(closed);
}

TEST(Broadcast, ErrorsDescribeThemselvesAndValueThrowsWithTheMessage) {
  EXPECT_EQ(recv_error::closed().what(), "channel closed");
  EXPECT_EQ(recv_error::lagged(3).what(), "channel lagged by 3");
  EXPECT_EQ(recv_error::lagged(3).skipped(), 3u);
  EXPECT_EQ(try_recv_error::empty().what(), "channel empty");
  EXPECT_EQ(try_recv_error::closed().what(), "channel closed");
  EXPECT_EQ(try_recv_error::lagged(7).what(), "channel lagged by 7");
  EXPECT_EQ(broadcast::send_error<int>{1}.what(), std::string("channel closed"));

  auto [tx, rx] = broadcast::channel<int>(1);
  tx.send(1).value();
  tx.send(2).value();
  kyoto::test::expect_throws<kyoto::bad_result_access>([&] { (void)rx.try_recv().value(); },
                                                       "channel lagged by 1");
}

TEST(Broadcast, AValueIsDestroyedOnceEveryReceiverHasReadIt) {
  std::atomic<int> live{0};
  auto [tx, rx1] = broadcast::channel<counted>(4);
  auto rx2 = tx.subscribe();
  tx.send(counted(7, &live)).value();
  EXPECT_EQ(live.load(), 1);  // one stored copy; each receive makes its own

  {
    auto a = rx1.try_recv();
    EXPECT_TRUE(received(a, 7));
    EXPECT_EQ(live.load(), 2);  // rx2 has yet to read it
  }
  EXPECT_EQ(live.load(), 1);
  {
    auto b = rx2.try_recv();
    EXPECT_TRUE(received(b, 7));
    EXPECT_EQ(live.load(), 1);  // only b's copy: the stored one is gone
  }
  EXPECT_EQ(live.load(), 0);
}

TEST(Broadcast, AnOverwrittenValueIsDestroyed) {
  std::atomic<int> live{0};
  auto [tx, rx] = broadcast::channel<counted>(1);
  tx.send(counted(1, &live)).value();
  tx.send(counted(2, &live)).value();
  EXPECT_EQ(live.load(), 1);  // 1 was overwritten, unread
  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_EQ(live.load(), 0);
}

TEST(Broadcast, SenderLenCountsValuesSomeReceiverHasYetToRead) {
  auto [tx, rx1] = broadcast::channel<int>(4);
  auto rx2 = tx.subscribe();
  EXPECT_TRUE(tx.is_empty());
  EXPECT_EQ(tx.len(), 0u);

  tx.send(1).value();
  tx.send(2).value();
  EXPECT_FALSE(tx.is_empty());
  EXPECT_EQ(tx.len(), 2u);

  EXPECT_TRUE(received(rx1.try_recv(), 1));
  EXPECT_EQ(tx.len(), 2u);  // rx2 has yet to read 1
  EXPECT_TRUE(received(rx2.try_recv(), 1));
  EXPECT_EQ(tx.len(), 1u);

  for (int i = 3; i <= 10; ++i)
    tx.send(i).value();
  EXPECT_EQ(tx.len(), 4u);  // at most the capacity

  {
    auto gone = std::move(rx1);
  }
  {
    auto gone = std::move(rx2);
  }
  EXPECT_EQ(tx.len(), 0u);
  EXPECT_TRUE(tx.is_empty());
}

TEST(Broadcast, ReceiverCountFollowsSubscribeResubscribeAndDrop) {
  auto [tx, rx] = broadcast::channel<int>(4);
  EXPECT_EQ(tx.receiver_count(), 1u);
  auto rx2 = tx.subscribe();
  auto rx3 = rx2.resubscribe();
  EXPECT_EQ(tx.receiver_count(), 3u);
  EXPECT_EQ(*tx.send(1), 3u);
  {
    auto gone = std::move(rx2);
  }
  EXPECT_EQ(tx.receiver_count(), 2u);
  EXPECT_EQ(*tx.send(2), 2u);
  EXPECT_TRUE(received(rx3.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_EQ(rx.len(), 1u);
  EXPECT_FALSE(rx.is_empty());
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(rx.is_empty());
}

TEST(Broadcast, ASubscriberSeesOnlyValuesSentAfterIt) {
  auto [tx, rx] = broadcast::channel<int>(4);
  tx.send(1).value();
  auto late = tx.subscribe();
  tx.send(2).value();
  EXPECT_TRUE(received(late.try_recv(), 2));
  EXPECT_TRUE(is_empty(late.try_recv()));
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

TEST(Broadcast, TheChannelStaysOpenWhileAnySenderCopyLives) {
  auto [tx, rx] = broadcast::channel<int>(4);
  broadcast::sender<int> copy = tx;
  EXPECT_TRUE(copy.same_channel(tx));
  {
    auto gone = std::move(tx);
  }
  EXPECT_TRUE(is_empty(rx.try_recv()));
  copy.send(1).value();
  {
    auto gone = std::move(copy);
  }
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_closed(rx.try_recv()));

  auto [other, other_rx] = broadcast::channel<int>(4);
  broadcast::sender<int> assigned = other;
  EXPECT_TRUE(assigned.same_channel(other));
  EXPECT_EQ(*assigned.send(3), 1u);
  EXPECT_TRUE(received(other_rx.try_recv(), 3));
}

/// A value whose next move throws when told to (as one whose move
/// allocates), with a destructor (so the channel releases it).
struct move_fails {
  move_fails(int x, bool* fail) noexcept : v(x), fail_next(fail) {}
  move_fails(const move_fails&) = default;
  // NOLINTNEXTLINE(performance-noexcept-move-constructor): it throws on purpose
  move_fails(move_fails&& o) : v(o.v), fail_next(o.fail_next) {
    if (*fail_next) {
      *fail_next = false;
      throw std::runtime_error("move failed");
    }
  }
  ~move_fails() {}  // NOLINT(modernize-use-equals-default): not trivially destructible
  friend bool operator==(const move_fails& a, int b) noexcept { return a.v == b; }
  friend std::ostream& operator<<(std::ostream& os, const move_fails& m) { return os << m.v; }
  int v;
  bool* fail_next;
};

TEST(Broadcast, ASendWhoseMoveIntoTheChannelThrowsSendsNothing) {
  bool fail = false;
  auto [tx, rx] = broadcast::channel<move_fails>(2);
  tx.send(move_fails(1, &fail)).value();
  const move_fails two(2, &fail);
  fail = true;  // send()'s parameter is a copy; its move into the slot throws
  EXPECT_THROW((void)tx.send(two), std::runtime_error);
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx.try_recv()));
  tx.send(move_fails(3, &fail)).value();
  EXPECT_TRUE(received(rx.try_recv(), 3));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

TEST(Broadcast, ASendWhoseMoveThrowsWhileOverwritingLosesTheOldValueAsALag) {
  bool fail = false;
  auto [tx, rx] = broadcast::channel<move_fails>(1);
  tx.send(move_fails(1, &fail)).value();
  const move_fails two(2, &fail);
  fail = true;
  EXPECT_THROW((void)tx.send(two), std::runtime_error);
  EXPECT_TRUE(is_lagged(rx.try_recv(), 1));  // 1 was destroyed to make room
  EXPECT_TRUE(is_empty(rx.try_recv()));      // and 2 was not sent
  tx.send(move_fails(3, &fail)).value();
  EXPECT_TRUE(received(rx.try_recv(), 3));
}

// ---- misuse ----

KYOTO_TEST(Broadcast, BlockingRecvOnARuntimeThreadThrows) {
  auto [tx, rx] = broadcast::channel<int>(1);
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.blocking_recv(); },
                                               "kyoto::sync::broadcast::receiver::blocking_recv");
  co_return;
}

TEST(Broadcast, MovedFromHandlesThrowNamingTheOperation) {
  auto [tx, rx] = broadcast::channel<int>(1);
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the point of the test
      [&] { (void)tx.send(1); }, "kyoto::sync::broadcast::sender::send");
  EXPECT_THROW((void)tx.subscribe(), std::logic_error);
  EXPECT_THROW((void)tx.receiver_count(), std::logic_error);
  EXPECT_THROW((void)rx.try_recv(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  EXPECT_THROW((void)rx.recv(), std::logic_error);
  EXPECT_THROW((void)rx.resubscribe(), std::logic_error);
  EXPECT_THROW((void)rx.len(), std::logic_error);
  EXPECT_FALSE(tx.same_channel(tx2));
  EXPECT_EQ(*tx2.send(1), 1u);
  EXPECT_TRUE(received(rx2.try_recv(), 1));
}

KYOTO_CT_TEST(Broadcast, AReceiveWhileARecvWaitsOnTheSameReceiverThrows) {
  auto [tx, rx] = broadcast::channel<int>(4);

  auto first = kyoto::spawn(recv_one(&rx));
  co_await let_others_run();
  EXPECT_FALSE(first.is_finished());

  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.try_recv(); },
                                               "another recv() on this receiver is in progress");
  auto second = kyoto::spawn(recv_one(&rx));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  EXPECT_THROW((void)co_await second, std::logic_error);

  tx.send(5).value();  // the first is still waiting, unharmed
  KYOTO_ASSERT_TRUE(co_await finishes_soon(first));
  EXPECT_TRUE(got(co_await first, 5));
}

KYOTO_CT_TEST(Broadcast, AwaitingOneRecvAwaiterTwiceThrows) {
  auto [tx, rx] = broadcast::channel<int>(4);
  tx.send(1).value();
  auto once = rx.recv();
  EXPECT_TRUE(got(co_await once, 1));
  EXPECT_THROW((void)co_await once, std::logic_error);
}

// ---- cancellation ----

KYOTO_CT_TEST(Broadcast, ACancelledWaitingRecvLosesNothing) {
  auto [tx, rx] = broadcast::channel<int>(4);

  auto waiting = kyoto::spawn(recv_one(&rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  waiting.abort();
  EXPECT_THROW((void)co_await waiting, kyoto::join_error);

  EXPECT_EQ(*tx.send(1), 1u);  // the cancelled waiter is off the list
  EXPECT_TRUE(got(co_await rx.recv(), 1));

  // And a new recv can wait and be woken.
  auto again = kyoto::spawn(recv_one(&rx));
  co_await let_others_run();
  EXPECT_FALSE(again.is_finished());
  tx.send(2).value();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(again));
  EXPECT_TRUE(got(co_await again, 2));
}

KYOTO_CT_TEST(Broadcast, ARecvCancelledAfterItsWakeLeavesTheValueForTheNextRecv) {
  auto [tx, rx] = broadcast::channel<int>(4);

  auto waiting = kyoto::spawn(recv_one(&rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  tx.send(7).value();  // wakes `waiting`...
  waiting.abort();     // ...which is cancelled before it runs
  co_await kyoto::test::expect_throws_async<kyoto::join_error>([&]() -> auto& { return waiting; });

  tx.send(8).value();
  EXPECT_TRUE(received(rx.try_recv(), 7));
  EXPECT_TRUE(received(rx.try_recv(), 8));
}

KYOTO_CT_TEST(Broadcast, ACancelledWaitingRecvAmongOthersLeavesTheOthersWaiting) {
  auto [tx, rx1] = broadcast::channel<int>(4);
  auto rx2 = tx.subscribe();
  auto rx3 = tx.subscribe();

  auto w1 = kyoto::spawn(recv_one(&rx1));
  auto w2 = kyoto::spawn(recv_one(&rx2));
  auto w3 = kyoto::spawn(recv_one(&rx3));
  co_await let_others_run();

  w2.abort();  // the middle of the wait list
  EXPECT_THROW((void)co_await w2, kyoto::join_error);
  co_await let_others_run();
  EXPECT_FALSE(w1.is_finished());
  EXPECT_FALSE(w3.is_finished());

  tx.send(4).value();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(w1));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(w3));
  EXPECT_TRUE(got(co_await w1, 4));
  EXPECT_TRUE(got(co_await w3, 4));
  EXPECT_TRUE(received(rx2.try_recv(), 4));
}

// A receive that yields for the budget (coop.hpp) has taken nothing, not
// even a lag report: cancelled there, the next receive gets it.
KYOTO_CT_TEST(Broadcast, ACancelledBudgetYieldOfARecvTakesNothing) {
  auto [tx, rx] = broadcast::channel<int>(512);
  for (int i = 0; i < 300; ++i)
    tx.send(i).value();
  std::atomic<int> received_count{0};
  auto receiving = kyoto::spawn(
      [](broadcast::receiver<int>* in, std::atomic<int>& n) -> kyoto::task<> {
        for (;;) {
          auto r = co_await in->recv();
          if (!r) co_return;
          ++n;
        }
      },
      &rx, std::ref(received_count));
  co_await kyoto::yield_now();  // it receives a budget's worth, then yields
  const int got_count = received_count.load();
  EXPECT_EQ(got_count, static_cast<int>(kyoto::detail::coop_budget));
  for (int i = 300; i < 900; ++i)  // overwrite the position it yielded at
    tx.send(i).value();
  receiving.abort();
  EXPECT_THROW(co_await receiving, kyoto::join_error);
  // 900 sent, 512 held: positions 128 .. 387 are gone.
  EXPECT_TRUE(is_lagged(rx.try_recv(), 388 - got_count));
  EXPECT_TRUE(received(rx.try_recv(), 388));
}

KYOTO_CT_TEST(Broadcast, AHotReceiverYieldsToTheBudgetAndGetsEverything) {
  auto [tx, rx] = broadcast::channel<int>(1024);
  for (int i = 0; i < 1000; ++i)
    tx.send(i).value();
  {
    auto gone = std::move(tx);
  }
  std::atomic<bool> other_ran{false};
  auto other = kyoto::spawn(
      [](std::atomic<bool>& flag) -> kyoto::task<> {
        flag = true;
        co_return;
      },
      std::ref(other_ran));
  int expected = 0;
  bool other_ran_before_the_end = false;
  for (;;) {
    auto r = co_await rx.recv();
    if (!r) {
      EXPECT_TRUE(r.error().is_closed());
      break;
    }
    EXPECT_EQ(*r, expected++);
    if (other_ran.load() && expected < 1000) other_ran_before_the_end = true;
  }
  EXPECT_EQ(expected, 1000);
  EXPECT_TRUE(other_ran_before_the_end);
  co_await other;
}

// ---- plain threads ----

TEST(Broadcast, BlockingRecvOnAPlainThreadGetsValuesFromATaskThenClosed) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto [tx, rx] = broadcast::channel<int>(1024);
  std::vector<int> seen;
  bool closed = false;
  std::thread reader([&, in = std::move(rx)]() mutable {
    for (;;) {
      auto r = in.blocking_recv();
      if (!r) {
        closed = r.error().is_closed();
        return;
      }
      seen.push_back(*r);
    }
  });
  rt.block_on(rt.spawn(
      [](broadcast::sender<int> out) -> kyoto::task<> {
        for (int i = 0; i < 100; ++i) {
          out.send(i).value();
          if (i % 10 == 0) co_await kyoto::yield_now();
        }
      },
      std::move(tx)));
  reader.join();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(seen[i], i);
  EXPECT_TRUE(closed);
}

TEST(Broadcast, ASendFromAPlainThreadWakesAWaitingTask) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto [tx, rx] = broadcast::channel<int>(4);
  auto waiting = rt.spawn(recv_one(&rx));
  // The task may or may not be waiting yet: either way it gets the value.
  std::thread sending([out = std::move(tx)] { out.send(42).value(); });
  auto r = rt.block_on(std::move(waiting));
  sending.join();
  EXPECT_TRUE(got(r, 42));
}

// ---- stress: a 2-worker runtime and plain threads ----

TEST(BroadcastStress, EveryReceiverSeesEveryPositionInOrderOrAnExactLag) {
  constexpr std::uint64_t n = kyoto::detail::thread_sanitizer ? 20'000 : 200'000;
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  auto [tx, rx] = broadcast::channel<std::uint64_t>(16);

  // Every receiver exists before the first send.
  std::vector<position_checker> tasks(3), threads(2);
  position_checker polling;
  std::vector<broadcast::receiver<std::uint64_t>> task_rx, thread_rx;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    task_rx.push_back(tx.subscribe());
  for (std::size_t i = 0; i < threads.size(); ++i)
    thread_rx.push_back(tx.subscribe());
  auto aborted_rx = tx.subscribe();
  position_checker aborted;
  auto polling_rx = std::move(rx);

  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < threads.size(); ++i) {
    readers.emplace_back([in = std::move(thread_rx[i]), c = &threads[i]]() mutable {
      while (c->on(in.blocking_recv())) {
      }
    });
  }
  std::vector<kyoto::join_handle<void>> handles;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    handles.push_back(rt.spawn(receive_positions(&task_rx[i], &tasks[i])));
  handles.push_back(rt.spawn(poll_positions(&polling_rx, &polling)));
  auto aborter = rt.spawn(abort_and_respawn(&aborted_rx, &aborted, 7));
  rt.block_on(rt.spawn(send_positions(std::move(tx), n, 16)));

  for (auto& h : handles)
    rt.block_on(std::move(h));
  const int aborts = rt.block_on(std::move(aborter));
  for (auto& t : readers)
    t.join();

  for (const auto& c : tasks)
    c.check(n, "task");
  for (const auto& c : threads)
    c.check(n, "thread");
  polling.check(n, "try_recv task");
  aborted.check(n, "aborted and respawned task");
  EXPECT_GT(aborts, 0);
}

/// A value with a destructor (the channel releases it) tagged with its
/// sender and that sender's sequence number.
struct tagged {
  tagged(int s, std::uint64_t q, std::atomic<long>* l) : sender(s), seq(q), live(l) { ++*live; }
  tagged(const tagged& o) : sender(o.sender), seq(o.seq), payload(o.payload), live(o.live) {
    ++*live;
  }
  tagged(tagged&& o) noexcept
      : sender(o.sender), seq(o.seq), payload(std::move(o.payload)), live(o.live) {
    ++*live;
  }
  tagged& operator=(const tagged&) = delete;
  ~tagged() { --*live; }
  int sender;
  std::uint64_t seq;
  std::string payload = "a payload long enough to allocate on the heap";
  std::atomic<long>* live;
};

/// One receiver's view of several senders: each sender's values in order,
/// and every send received or counted in a lag.
struct sender_order_checker {
  std::map<int, std::uint64_t> next_seq;  ///< per sender, the smallest seq allowed next
  std::uint64_t values = 0;
  std::uint64_t skipped = 0;
  std::uint64_t out_of_order = 0;
  bool closed = false;

  bool on(const kyoto::result<tagged, recv_error>& r) {
    if (r) {
      auto& next = next_seq[r->sender];
      if (r->seq < next) ++out_of_order;
      next = r->seq + 1;
      ++values;
      return true;
    }
    if (r.error().is_lagged()) {
      skipped += r.error().skipped();
      return true;
    }
    closed = true;
    return false;
  }

  void check(std::uint64_t sent, const char* who) const {
    EXPECT_EQ(out_of_order, 0u) << who;
    EXPECT_TRUE(closed) << who;
    EXPECT_EQ(values + skipped, sent) << who;
  }
};

kyoto::task<> check_order(broadcast::receiver<tagged> rx, sender_order_checker* c) {
  for (;;) {
    auto r = co_await rx.recv();
    if (!c->on(r)) co_return;
  }
}

kyoto::task<> send_tagged(broadcast::sender<tagged> tx, int id, std::uint64_t n,
                          std::atomic<long>* live) {
  for (std::uint64_t i = 0; i < n; ++i) {
    tx.send(tagged(id, i, live)).value();
    if (i % 8 == 0) co_await kyoto::yield_now();
  }
}

TEST(BroadcastStress, SendersOnTasksAndThreadsKeepTheirOrderAndNothingLeaks) {
  constexpr std::uint64_t per_sender = kyoto::detail::thread_sanitizer ? 5'000 : 50'000;
  constexpr int task_senders = 2;
  constexpr int thread_senders = 2;
  constexpr std::uint64_t total = per_sender * (task_senders + thread_senders);
  std::atomic<long> live{0};
  {
    kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
    auto [tx, rx] = broadcast::channel<tagged>(4);

    std::vector<sender_order_checker> checkers(4);
    std::vector<broadcast::receiver<tagged>> receivers;
    receivers.push_back(std::move(rx));
    for (std::size_t i = 1; i < checkers.size(); ++i)
      receivers.push_back(tx.subscribe());

    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 2; ++i) {  // two plain-thread receivers
      threads.emplace_back([in = std::move(receivers[i]), c = &checkers[i]]() mutable {
        while (c->on(in.blocking_recv())) {
        }
      });
    }
    std::vector<kyoto::join_handle<void>> receiving;
    for (std::size_t i = 2; i < checkers.size(); ++i)
      receiving.push_back(rt.spawn(check_order(std::move(receivers[i]), &checkers[i])));

    for (int s = 0; s < thread_senders; ++s) {
      threads.emplace_back([out = tx, s, &live] {
        for (std::uint64_t i = 0; i < per_sender; ++i) {
          out.send(tagged(100 + s, i, &live)).value();
          if (i % 64 == 0) std::this_thread::yield();
        }
      });
    }
    std::vector<kyoto::join_handle<void>> sending;
    for (int s = 0; s < task_senders; ++s)
      sending.push_back(rt.spawn(send_tagged(tx, s, per_sender, &live)));
    {
      auto ours = std::move(tx);
    }
    for (auto& h : sending)
      rt.block_on(std::move(h));
    for (auto& h : receiving)
      rt.block_on(std::move(h));
    for (auto& t : threads)
      t.join();

    checkers[0].check(total, "thread 0");
    checkers[1].check(total, "thread 1");
    checkers[2].check(total, "task 2");
    checkers[3].check(total, "task 3");
  }
  EXPECT_EQ(live.load(), 0);
}

}  // namespace
