// kyoto::sync::oneshot conformance: tokio 1.24's tests/sync_oneshot.rs,
// ported, then kyoto's own contracts (sending hands the value back, cancel
// safety, blocking_recv across threads, destruction of unreceived values).
//
// tokio's mock-polled tests (tokio_test::task::spawn, assert_pending!) are
// ported with real tasks: a spawned task awaits, the test yields a few times
// and checks the task has not finished, then makes progress and checks the
// task completes with the right value. tokio's poll_closed(cx) is an await
// of sender::closed().
//
// Every test of tokio's file is ported; drops_tasks's waker reference
// counts have no kyoto analog (its two halves are the leak-checked
// Aborted*OnADroppedChannelReleasesEverything tests).
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/oneshot.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

// These conformance tests check "not finished yet" by letting the other
// tasks run for a few yields: they run on a current_thread runtime
// (support/ct_test.hpp). tests/stress/ tests the channels across threads.

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::was_cancelled;

namespace oneshot = kyoto::sync::oneshot;

template <class T>
using recv_result = kyoto::result<T, oneshot::recv_error>;

/// Enough yields for every other ready task to run until it blocks.
constexpr int settle_yields = 5;

kyoto::task<> settle() {
  for (int i = 0; i < settle_yields; ++i)
    co_await kyoto::yield_now();
}

/// Awaits a receiver the task owns.
template <class T>
kyoto::task<recv_result<T>> recv_owned(oneshot::receiver<T> rx) {
  co_return co_await rx;
}

/// Awaits a receiver that outlives the task (so a cancelled await leaves it
/// to the test).
template <class T>
kyoto::task<recv_result<T>> recv_borrowed(oneshot::receiver<T>* rx) {
  co_return co_await *rx;
}

/// Awaits tx->closed() with a sender that outlives the task.
template <class T>
kyoto::task<> wait_closed(oneshot::sender<T>* tx) {
  co_await tx->closed();
}

/// A value whose destruction is counted, behind a pointer: the pointee is
/// destroyed exactly once however often the pointer moves.
using counted = std::unique_ptr<kyoto::test::drop_counter>;

counted make_counted(std::atomic<int>& drops) {
  return std::make_unique<kyoto::test::drop_counter>(drops);
}

/// Drops a sender now (tokio's `drop(tx)`).
template <class T>
void drop(oneshot::sender<T>& tx) {
  oneshot::sender<T> dropped = std::move(tx);
}

/// Drops a receiver now (tokio's `drop(rx)`).
template <class T>
void drop(oneshot::receiver<T>& rx) {
  oneshot::receiver<T> dropped = std::move(rx);
}

/// A receive (await or try_recv) gave `want`.
template <class R>
void expect_value(const R& got, int want) {
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, want);
}

/// A send failed and handed `value` back.
template <class R>
void expect_handed_back(const R& sent, int value) {
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().value, value);
}

/// A try_recv reported the channel closed.
template <class R>
void expect_closed(const R& got) {
  ASSERT_FALSE(got.has_value());
  EXPECT_TRUE(got.error().is_closed());
}

/// Spawns `t`, lets it park and cancels it. False (with a failure) when it
/// finished instead of parking: the caller asserts on it.
template <class T>
kyoto::task<bool> park_then_cancel(kyoto::task<T> t) {
  auto h = kyoto::spawn(std::move(t));
  co_await settle();
  if (h.is_finished()) {
    ADD_FAILURE() << "the task finished instead of parking";
    co_return false;
  }
  h.abort();
  EXPECT_TRUE(co_await was_cancelled(h));
  co_return true;
}

/// Starts a thread that blocking_recv()s `rx` into `got`.
std::thread blocking_recv_on_a_thread(oneshot::receiver<int> rx,
                                      std::optional<recv_result<int>>& got) {
  return std::thread(
      [&got, thread_rx = std::move(rx)]() mutable { got.emplace(thread_rx.blocking_recv()); });
}

/// How the receiver goes away under a parked tx.closed().
enum class rx_end { close, drop };

/// Parks a task in tx.closed(), then closes or drops rx: the wait must not
/// finish before that and must finish soon after, leaving tx closed. False
/// when it did not finish: the caller asserts on it.
kyoto::task<bool> closed_wakes_when_rx_ends(oneshot::sender<int>& tx, oneshot::receiver<int>& rx,
                                            rx_end how) {
  auto waiting = kyoto::spawn(wait_closed(&tx));
  co_await settle();
  EXPECT_FALSE(waiting.is_finished());
  EXPECT_FALSE(tx.is_closed());
  if (how == rx_end::close)
    rx.close();
  else
    drop(rx);
  if (!co_await finishes_soon(waiting)) co_return false;
  co_await waiting;
  EXPECT_TRUE(tx.is_closed());
  co_return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// tokio 1.24 tests/sync_oneshot.rs
// ---------------------------------------------------------------------------

// send_recv
KYOTO_CT_TEST(Oneshot, AwaitWaitsUntilTheValueIsSent) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = kyoto::spawn(recv_owned(std::move(rx)));
  co_await settle();
  EXPECT_FALSE(h.is_finished()) << "the await completed before anything was sent";

  KYOTO_ASSERT_TRUE(tx.send(1).has_value());

  expect_value(co_await h, 1);
}

// async_send_recv
KYOTO_CT_TEST(Oneshot, AwaitGivesAValueSentBefore) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  expect_value(co_await rx, 1);
}

// close_tx
KYOTO_CT_TEST(Oneshot, DroppingTheSenderWakesAWaitingReceiverWithRecvError) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = kyoto::spawn(recv_owned(std::move(rx)));
  co_await settle();
  EXPECT_FALSE(h.is_finished());

  drop(tx);

  recv_result<int> got = co_await h;
  EXPECT_FALSE(got.has_value());
}

// close_rx, first half
TEST(Oneshot, SendFailsWhenTheReceiverIsDropped) {
  oneshot::sender<int> tx = std::move(oneshot::channel<int>().first);
  expect_handed_back(tx.send(1), 1);
}

// close_rx, second half
KYOTO_CT_TEST(Oneshot, DroppingTheReceiverWakesTheSenderWaitingInClosed) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await closed_wakes_when_rx_ends(tx, rx, rx_end::drop));
  co_await tx.closed();  // ready at once

  expect_handed_back(tx.send(1), 1);
}

// close_rx, second half, through is_closed() alone
TEST(Oneshot, SenderIsClosedOnceTheReceiverIsDropped) {
  auto [tx, rx] = oneshot::channel<int>();
  EXPECT_FALSE(tx.is_closed());
  drop(rx);
  EXPECT_TRUE(tx.is_closed());
  expect_handed_back(tx.send(1), 1);
}

// async_rx_closed
KYOTO_TEST(Oneshot, ClosedCompletesWhenATaskOnAnotherWorkerDropsTheReceiver) {
  auto [tx, rx] = oneshot::channel<std::monostate>();
  auto dropping = kyoto::spawn(
      [](oneshot::receiver<std::monostate> r) -> kyoto::task<> {
        drop(r);
        co_return;
      },
      std::move(rx));
  co_await tx.closed();
  co_await dropping;
}

// explicit_close_poll, first part
KYOTO_CT_TEST(Oneshot, ValueSentBeforeCloseIsStillReceivedByAwait) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  rx.close();
  expect_value(co_await rx, 1);
}

// explicit_close_poll, second part
KYOTO_CT_TEST(Oneshot, CloseWakesTheSenderInClosedMakesSendFailAndTheAwaitGiveRecvError) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await closed_wakes_when_rx_ends(tx, rx, rx_end::close));
  co_await tx.closed();  // ready at once
  expect_handed_back(tx.send(1), 1);

  auto h = kyoto::spawn(recv_owned(std::move(rx)));
  co_await settle();
  KYOTO_ASSERT_TRUE(h.is_finished()) << "the await after close() and a failed send is waiting";
  recv_result<int> got = co_await h;
  EXPECT_FALSE(got.has_value());
}

// explicit_close_poll, third part: closed, nothing sent, the sender still
// alive. tokio's poll is ready with an error at once.
KYOTO_CT_TEST(Oneshot, AwaitAfterCloseGivesRecvErrorAtOnceWhileTheSenderIsAlive) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await closed_wakes_when_rx_ends(tx, rx, rx_end::close));

  auto h = kyoto::spawn(recv_owned(std::move(rx)));
  co_await settle();
  EXPECT_TRUE(h.is_finished()) << "the await after close() waits for the sender to go away";

  drop(tx);  // releases the await if it is (wrongly) still waiting
  recv_result<int> got = co_await h;
  EXPECT_FALSE(got.has_value());
}

// The same, but the sender then tries to send (and fails, as the receiver
// is closed): the await must end by then at the latest.
KYOTO_CT_TEST(Oneshot, AwaitAfterCloseEndsWhenTheSenderThenFailsToSend) {
  auto [tx, rx] = oneshot::channel<int>();
  rx.close();
  auto h = kyoto::spawn(recv_owned(std::move(rx)));
  co_await settle();

  auto sent = tx.send(1);
  EXPECT_FALSE(sent.has_value());
  co_await settle();
  if (!h.is_finished()) {
    ADD_FAILURE() << "the await after close() still waits after the failed send; nothing will "
                     "ever wake it";
    h.abort();
    EXPECT_TRUE(co_await was_cancelled(h));
    co_return;
  }
  recv_result<int> got = co_await h;
  EXPECT_FALSE(got.has_value());
}

// explicit_close_try_recv, first part
TEST(Oneshot, ValueSentBeforeCloseIsStillReceivedByTryRecv) {
  auto [tx, rx] = oneshot::channel<int>();
  ASSERT_TRUE(tx.send(1).has_value());
  rx.close();
  expect_value(rx.try_recv(), 1);
}

// explicit_close_try_recv, second part: tokio's try_recv gives
// Err(Closed).
KYOTO_CT_TEST(Oneshot, TryRecvAfterCloseReportsClosedWhileTheSenderIsAlive) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await closed_wakes_when_rx_ends(tx, rx, rx_end::close));
  auto got = rx.try_recv();
  KYOTO_ASSERT_FALSE(got.has_value());
  EXPECT_TRUE(got.error().is_closed()) << "try_recv after close() says: " << got.error().what();
  EXPECT_FALSE(got.error().is_empty());
}

// close_try_recv_poll (tokio: should_panic). kyoto documents no exception
// for an await after try_recv reported closed; either way it must not wait
// for the sender: it throws std::logic_error or gives recv_error at once.
KYOTO_CT_TEST(Oneshot, AwaitAfterCloseAndTryRecvDoesNotWaitForTheSender) {
  auto [tx, rx] = oneshot::channel<int>();
  rx.close();
  auto tried = rx.try_recv();
  EXPECT_FALSE(tried.has_value());

  auto h = kyoto::spawn(
      [](oneshot::receiver<int> closed_rx) -> kyoto::task<bool> {
        try {
          recv_result<int> got = co_await closed_rx;
          co_return !got.has_value();
        } catch (const std::logic_error&) {
          co_return true;
        }
      },
      std::move(rx));
  co_await settle();
  EXPECT_TRUE(h.is_finished()) << "the await after close() and try_recv waits for the sender";

  drop(tx);  // releases the await if it is (wrongly) still waiting
  const bool failed = co_await h;
  EXPECT_TRUE(failed) << "the await gave a value";
}

// close_after_recv
TEST(Oneshot, CloseAfterTryRecvTookTheValueIsHarmless) {
  auto [tx, rx] = oneshot::channel<int>();
  ASSERT_TRUE(tx.send(17).has_value());
  expect_value(rx.try_recv(), 17);
  rx.close();
}

// try_recv_after_completion
TEST(Oneshot, TryRecvAfterTakingTheValueReportsClosed) {
  auto [tx, rx] = oneshot::channel<int>();
  ASSERT_TRUE(tx.send(17).has_value());
  expect_value(rx.try_recv(), 17);
  expect_closed(rx.try_recv());
  rx.close();
}

// try_recv_after_completion_await
KYOTO_CT_TEST(Oneshot, TryRecvAfterAnAwaitGotTheValueReportsClosed) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(17).has_value());
  expect_value(co_await rx, 17);
  expect_closed(rx.try_recv());
  rx.close();
}

// drops_tasks: counts waker references through tokio_test's mock tasks (no
// kyoto analog; its halves, a parked await or closed() cancelled and the
// channel dropped, are AbortedAwaitOnADroppedChannelReleasesEverything and
// AbortedClosedOnADroppedChannelReleasesEverything, leak-checked by ASan).

// receiver_changes_task
KYOTO_CT_TEST(Oneshot, ReceiverAwaitedInAnotherTaskAfterACancelledAwaitGetsTheValue) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await park_then_cancel(recv_borrowed(&rx)));

  auto second = kyoto::spawn(recv_borrowed(&rx));
  co_await settle();
  EXPECT_FALSE(second.is_finished());

  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  expect_value(co_await second, 1);
}

// sender_changes_task
KYOTO_CT_TEST(Oneshot, SenderAwaitedInClosedInAnotherTaskAfterACancelledAwaitIsWoken) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await park_then_cancel(wait_closed(&tx)));

  KYOTO_ASSERT_TRUE(co_await closed_wakes_when_rx_ends(tx, rx, rx_end::drop));
}

KYOTO_CT_TEST(Oneshot, SecondCoroutineAwaitingAParkedReceiverThrowsAndTheFirstStillGetsTheValue) {
  auto [tx, rx] = oneshot::channel<int>();
  auto first = kyoto::spawn(recv_borrowed(&rx));
  co_await settle();
  KYOTO_ASSERT_FALSE(first.is_finished());
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return rx; },
                                                              "two coroutines at once");
  KYOTO_ASSERT_TRUE(tx.send(7).has_value());
  expect_value(co_await first, 7);
}

// ---------------------------------------------------------------------------
// kyoto's contracts
// ---------------------------------------------------------------------------

TEST(Oneshot, SendAfterReceiverDroppedReturnsTheValue) {
  auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
  drop(rx);
  auto value = std::make_unique<int>(7);
  int* const original = value.get();
  auto sent = tx.send(std::move(value));
  ASSERT_FALSE(sent.has_value());
  EXPECT_STREQ(sent.error().what(), "receiver dropped");
  EXPECT_EQ(sent.error().value.get(), original);
  EXPECT_EQ(*sent.error().value, 7);
}

TEST(Oneshot, SendAfterReceiverClosedReturnsTheValue) {
  auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
  rx.close();
  auto value = std::make_unique<int>(7);
  int* const original = value.get();
  auto sent = tx.send(std::move(value));
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().value.get(), original);
  expect_closed(rx.try_recv());
}

KYOTO_CT_TEST(Oneshot, DroppingTheSenderUnsentCompletesTheReceiverWithRecvError) {
  auto [tx, rx] = oneshot::channel<int>();
  drop(tx);
  auto tried = rx.try_recv();
  KYOTO_ASSERT_FALSE(tried.has_value());
  EXPECT_TRUE(tried.error().is_closed());
  EXPECT_STREQ(tried.error().what(), "channel closed");

  recv_result<int> got = co_await rx;
  KYOTO_ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), oneshot::recv_error{});
  EXPECT_STREQ(got.error().what(), "channel closed");
}

TEST(Oneshot, TryRecvBeforeAnythingIsSentReportsEmpty) {
  auto [tx, rx] = oneshot::channel<int>();
  auto got = rx.try_recv();
  ASSERT_FALSE(got.has_value());
  EXPECT_TRUE(got.error().is_empty());
  EXPECT_FALSE(got.error().is_closed());
  EXPECT_STREQ(got.error().what(), "channel empty");
  // Still receivable afterwards.
  ASSERT_TRUE(tx.send(4).has_value());
  expect_value(rx.try_recv(), 4);
}

TEST(Oneshot, SecondSendThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  ASSERT_TRUE(tx.send(1).has_value());
  EXPECT_THROW((void)tx.send(2), std::logic_error);
  expect_value(rx.try_recv(), 1);
}

TEST(Oneshot, SendAfterAFailedSendThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  drop(rx);
  EXPECT_FALSE(tx.send(1).has_value());
  EXPECT_THROW((void)tx.send(2), std::logic_error);
}

KYOTO_CT_TEST(Oneshot, AwaitingAgainAfterAnAwaitGotTheValueThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  recv_result<int> got = co_await rx;
  KYOTO_ASSERT_TRUE(got.has_value());
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return rx; });
}

KYOTO_CT_TEST(Oneshot, AwaitingAgainAfterAnAwaitGotRecvErrorThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  drop(tx);
  recv_result<int> got = co_await rx;
  KYOTO_ASSERT_FALSE(got.has_value());
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return rx; });
}

KYOTO_CT_TEST(Oneshot, AwaitAfterTryRecvTookTheValueThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  auto got = rx.try_recv();
  KYOTO_ASSERT_TRUE(got.has_value());
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return rx; });
}

// Moving a receiver moves its "an await completed" state with it: the
// moved-to receiver still throws (tokio: the moved Receiver still panics).
KYOTO_CT_TEST(Oneshot, MovingACompletedReceiverKeepsItCompleted) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(1).has_value());
  recv_result<int> got = co_await rx;
  KYOTO_ASSERT_TRUE(got.has_value());

  oneshot::receiver<int> moved = std::move(rx);
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return moved; });
}

// A receiver variable reused for a new channel (`rx = std::move(fresh)`)
// receives that channel's value, whatever the old channel's state.
KYOTO_CT_TEST(Oneshot, ReceiverReassignedAFreshChannelReceivesItsValue) {
  auto first = oneshot::channel<int>();
  oneshot::receiver<int> rx = std::move(first.second);
  KYOTO_ASSERT_TRUE(first.first.send(1).has_value());
  expect_value(co_await rx, 1);

  auto second = oneshot::channel<int>();
  rx = std::move(second.second);
  KYOTO_ASSERT_TRUE(second.first.send(2).has_value());
  try {
    recv_result<int> again = co_await rx;
    KYOTO_ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, 2);
  } catch (const std::logic_error& e) {
    ADD_FAILURE() << "awaiting the reassigned receiver threw: " << e.what();
  }
}

// Cancel safety: a cancelled await leaves the channel as it was, so the
// value sent afterwards reaches try_recv or a new await.
KYOTO_CT_TEST(Oneshot, ValueSentAfterACancelledAwaitIsReceivedByTryRecv) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await park_then_cancel(recv_borrowed(&rx)));

  KYOTO_ASSERT_TRUE(tx.send(3).has_value());
  expect_value(rx.try_recv(), 3);
}

KYOTO_CT_TEST(Oneshot, ValueSentAfterACancelledAwaitIsReceivedByANewAwait) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(co_await park_then_cancel(recv_borrowed(&rx)));

  KYOTO_ASSERT_TRUE(tx.send(3).has_value());
  expect_value(co_await rx, 3);
}

// The send wakes the parked await and the abort comes before the task runs:
// the value is not lost. Either the task got it, or it is still in the
// channel; never both, never neither.
KYOTO_CT_TEST(Oneshot, ValueSentJustBeforeTheAwaitIsCancelledIsNotLost) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = kyoto::spawn(recv_borrowed(&rx));
  co_await settle();
  KYOTO_ASSERT_FALSE(h.is_finished());

  KYOTO_ASSERT_TRUE(tx.send(3).has_value());
  h.abort();

  int holders = 0;
  try {
    recv_result<int> in_task = co_await h;
    EXPECT_TRUE(in_task.has_value());
    if (in_task.has_value()) {
      EXPECT_EQ(*in_task, 3);
      ++holders;
    }
  } catch (const kyoto::join_error&) {  // NOLINT(bugprone-empty-catch): aborted on purpose
  }
  auto in_channel = rx.try_recv();
  if (in_channel.has_value()) {
    EXPECT_EQ(*in_channel, 3);
    ++holders;
  }
  EXPECT_EQ(holders, 1);
}

// The receiver half of tokio's drops_tasks: a parked await cancelled, then
// both halves dropped; ASan's leak check sees anything left behind.
KYOTO_CT_TEST(Oneshot, AbortedAwaitOnADroppedChannelReleasesEverything) {
  std::atomic<int> drops{0};
  {
    auto [tx, rx] = oneshot::channel<counted>();
    auto h = kyoto::spawn(recv_owned(std::move(rx)));
    co_await settle();
    KYOTO_ASSERT_FALSE(h.is_finished());
    h.abort();
    EXPECT_TRUE(co_await was_cancelled(h));
    // The receiver went with the task: the send hands the value back.
    auto sent = tx.send(make_counted(drops));
    EXPECT_FALSE(sent.has_value());
  }
  EXPECT_EQ(drops.load(), 1);
}

KYOTO_CT_TEST(Oneshot, BlockingRecvOnAThreadGetsAValueSentByATask) {
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    std::optional<recv_result<int>> got;
    std::thread receiving = blocking_recv_on_a_thread(std::move(rx), got);
    auto h = kyoto::spawn(
        [](oneshot::sender<int> value_tx, int value) -> kyoto::task<bool> {
          co_await kyoto::yield_now();
          co_return value_tx.send(value).has_value();
        },
        std::move(tx), i);
    const bool sent = co_await h;
    receiving.join();
    EXPECT_TRUE(sent);
    KYOTO_ASSERT_TRUE(got.has_value());
    KYOTO_ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, i);
  }
}

KYOTO_CT_TEST(Oneshot, BlockingRecvOnAThreadGetsRecvErrorWhenATaskDropsTheSender) {
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    std::optional<recv_result<int>> got;
    std::thread receiving = blocking_recv_on_a_thread(std::move(rx), got);
    auto h = kyoto::spawn(
        [](oneshot::sender<int> unsent_tx) -> kyoto::task<> {
          co_await kyoto::yield_now();
          drop(unsent_tx);
        },
        std::move(tx));
    (void)co_await h;
    receiving.join();
    KYOTO_ASSERT_TRUE(got.has_value());
    EXPECT_FALSE(got->has_value());
  }
}

KYOTO_CT_TEST(Oneshot, SendFromAThreadWakesATaskParkedOnTheReceiver) {
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    auto h = kyoto::spawn(recv_owned(std::move(rx)));
    co_await settle();
    EXPECT_FALSE(h.is_finished());

    bool sent = false;
    std::thread sending(
        [&sent, thread_tx = std::move(tx), i]() mutable { sent = thread_tx.send(i).has_value(); });
    recv_result<int> got = co_await h;
    sending.join();
    EXPECT_TRUE(sent);
    KYOTO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, i);
  }
}

KYOTO_CT_TEST(Oneshot, DroppingTheSenderOnAThreadWakesATaskParkedOnTheReceiver) {
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    auto h = kyoto::spawn(recv_owned(std::move(rx)));
    co_await settle();
    EXPECT_FALSE(h.is_finished());

    std::thread dropping([thread_tx = std::move(tx)]() mutable { drop(thread_tx); });
    recv_result<int> got = co_await h;
    dropping.join();
    EXPECT_FALSE(got.has_value());
  }
}

KYOTO_CT_TEST(Oneshot, BlockingRecvInsideATaskThrowsLogicErrorNamingTheOperation) {
  auto [tx, rx] = oneshot::channel<int>();
  // Sent first, so a missing check returns the value instead of hanging.
  KYOTO_ASSERT_TRUE(tx.send(5).has_value());
  std::string message;
  if (const auto e = kyoto::test::expect_throws<std::logic_error>(
          [&] { recv_result<int> got = rx.blocking_recv(); })) {
    message = e->what();
  }
  EXPECT_NE(message.find("kyoto::sync::oneshot::receiver::blocking_recv"), std::string::npos)
      << message;

  // The throw consumed nothing.
  expect_value(rx.try_recv(), 5);
}

KYOTO_CT_TEST(Oneshot, BlockingRecvInsideASpawnedTaskThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  KYOTO_ASSERT_TRUE(tx.send(5).has_value());
  auto h = kyoto::spawn(
      [](oneshot::receiver<int>* borrowed) -> kyoto::task<std::string> {
        try {
          recv_result<int> got = borrowed->blocking_recv();
          (void)got;
        } catch (const std::logic_error& e) {
          co_return e.what();
        }
        co_return "";
      },
      &rx);
  std::string message = co_await h;
  EXPECT_NE(message.find("kyoto::sync::oneshot::receiver::blocking_recv"), std::string::npos)
      << "message: '" << message << "'";
}

TEST(Oneshot, DroppingTheReceiverDestroysAnUnreceivedValue) {
  std::atomic<int> drops{0};
  auto [tx, rx] = oneshot::channel<counted>();
  ASSERT_TRUE(tx.send(make_counted(drops)).has_value());
  EXPECT_EQ(drops.load(), 0) << "the channel destroyed the value before it was received";
  drop(rx);
  EXPECT_EQ(drops.load(), 1);
}

TEST(Oneshot, ValueIsDestroyedOnceWhicheverHalfGoesLast) {
  std::atomic<int> drops{0};
  {
    auto [tx, rx] = oneshot::channel<counted>();
    ASSERT_TRUE(tx.send(make_counted(drops)).has_value());
    drop(rx);  // the receiver goes first, the (spent) sender last
  }
  EXPECT_EQ(drops.load(), 1);
}

KYOTO_CT_TEST(Oneshot, ReceivedValueIsDestroyedExactlyOnce) {
  std::atomic<int> drops{0};
  {
    auto [tx, rx] = oneshot::channel<counted>();
    KYOTO_ASSERT_TRUE(tx.send(make_counted(drops)).has_value());
    {
      recv_result<counted> got = co_await rx;
      EXPECT_TRUE(got.has_value());
      EXPECT_EQ(drops.load(), 0);
    }
    EXPECT_EQ(drops.load(), 1);
  }
  EXPECT_EQ(drops.load(), 1);
}

TEST(Oneshot, ValueHandedBackBySendIsDestroyedOnlyWithTheResult) {
  std::atomic<int> drops{0};
  auto [tx, rx] = oneshot::channel<counted>();
  drop(rx);
  {
    auto sent = tx.send(make_counted(drops));
    EXPECT_FALSE(sent.has_value());
    EXPECT_EQ(drops.load(), 0);
  }
  EXPECT_EQ(drops.load(), 1);
}

TEST(Oneshot, DroppingBothHalvesUnsentDestroysNothing) {
  std::atomic<int> drops{0};
  {
    auto [tx, rx] = oneshot::channel<counted>();
  }
  EXPECT_EQ(drops.load(), 0);
}

namespace {

constexpr int many = 10'000;

/// Answers one request with request + 1.
kyoto::task<bool> echo(oneshot::receiver<int> request, oneshot::sender<int> reply) {
  recv_result<int> got = co_await request;
  if (!got.has_value()) co_return false;
  co_return reply.send(*got + 1).has_value();
}

/// Sends request i on requests[i] and checks reply i is i + 1; returns the
/// number of replies that were right.
kyoto::task<int> client(std::vector<oneshot::sender<int>> requests,
                        std::vector<oneshot::receiver<int>> replies) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].send(static_cast<int>(i)).has_value()) co_return -1;
  }
  int right = 0;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    recv_result<int> got = co_await replies[i];
    if (got.has_value() && *got == static_cast<int>(i) + 1) ++right;
  }
  co_return right;
}

/// Passes the value it receives on, plus one.
kyoto::task<bool> relay(oneshot::receiver<int> in, oneshot::sender<int> out) {
  recv_result<int> got = co_await in;
  if (!got.has_value()) co_return false;
  co_return out.send(*got + 1).has_value();
}

}  // namespace

KYOTO_CT_TEST(Oneshot, TenThousandOneshotsRoundTripBetweenSpawnedTasks) {
  std::vector<oneshot::sender<int>> requests;
  std::vector<oneshot::receiver<int>> replies;
  std::vector<kyoto::join_handle<bool>> echoes;
  requests.reserve(many);
  replies.reserve(many);
  echoes.reserve(many);
  for (int i = 0; i < many; ++i) {
    auto [request_tx, request_rx] = oneshot::channel<int>();
    auto [reply_tx, reply_rx] = oneshot::channel<int>();
    requests.push_back(std::move(request_tx));
    replies.push_back(std::move(reply_rx));
    echoes.push_back(kyoto::spawn(echo(std::move(request_rx), std::move(reply_tx))));
  }
  auto c = kyoto::spawn(client(std::move(requests), std::move(replies)));
  const int right = co_await c;
  EXPECT_EQ(right, many);
  int echoed = 0;
  for (auto& h : echoes) {
    if (co_await h) ++echoed;
  }
  EXPECT_EQ(echoed, many);
}

KYOTO_CT_TEST(Oneshot, ARelayOfTenThousandTasksPassesTheValueAlong) {
  auto first = oneshot::channel<int>();
  oneshot::receiver<int> last = std::move(first.second);
  std::vector<kyoto::join_handle<bool>> relays;
  relays.reserve(many);
  for (int i = 0; i < many; ++i) {
    auto next = oneshot::channel<int>();
    relays.push_back(kyoto::spawn(relay(std::move(last), std::move(next.first))));
    last = std::move(next.second);
  }
  co_await settle();
  for (const auto& h : relays)
    EXPECT_FALSE(h.is_finished());

  KYOTO_ASSERT_TRUE(first.first.send(0).has_value());
  recv_result<int> got = co_await last;
  KYOTO_ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, many);
  int passed = 0;
  for (auto& h : relays) {
    if (co_await h) ++passed;
  }
  EXPECT_EQ(passed, many);
}

// ---------------------------------------------------------------------------
// sender::closed(): kyoto's contracts
// ---------------------------------------------------------------------------

KYOTO_CT_TEST(Oneshot, ClosedCompletesAtOnceWhenTheReceiverIsAlreadyGone) {
  auto [tx, rx] = oneshot::channel<int>();
  drop(rx);
  co_await tx.closed();
  co_await tx.closed();  // and again
  EXPECT_TRUE(tx.is_closed());
}

KYOTO_CT_TEST(Oneshot, ClosedDoesNotCompleteWhenTheReceiverTakesNothing) {
  auto [tx, rx] = oneshot::channel<int>();
  auto waiting = kyoto::spawn(wait_closed(&tx));
  co_await settle();
  auto tried = rx.try_recv();  // empty: receiving is not closing
  EXPECT_TRUE(tried.error().is_empty());
  co_await settle();
  EXPECT_FALSE(waiting.is_finished());
  waiting.abort();
  EXPECT_TRUE(co_await was_cancelled(waiting));
  KYOTO_ASSERT_TRUE(tx.send(3).has_value());  // the cancelled closed() left the sender usable
  expect_value(rx.try_recv(), 3);
}

KYOTO_CT_TEST(Oneshot, ClosedWokenThenCancelledBeforeItRunsLeavesTheSenderUsable) {
  auto [tx, rx] = oneshot::channel<int>();
  auto waiting = kyoto::spawn(wait_closed(&tx));
  co_await settle();
  rx.close();       // wakes it...
  waiting.abort();  // ...cancelled before it runs
  EXPECT_TRUE(co_await was_cancelled(waiting));
  co_await tx.closed();
  auto sent = tx.send(1);
  EXPECT_FALSE(sent.has_value());  // closed: the value comes back
}

KYOTO_CT_TEST(Oneshot, TwoClosedAwaitsOfOneSenderAtOnceThrowLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  auto first = kyoto::spawn(wait_closed(&tx));
  co_await settle();
  KYOTO_ASSERT_FALSE(first.is_finished());
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return tx.closed(); }, "kyoto::sync::oneshot::sender::closed");
  drop(rx);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(first));  // the first is unharmed
  co_await first;
}

// send() gives the channel up: while this sender's closed() is suspended
// (here in the other branch of a join) it refuses, instead of freeing the
// state under the awaiter.
KYOTO_CT_TEST(Oneshot, SendWhileTheSendersClosedIsSuspendedThrowsLogicError) {
  auto [tx, rx] = oneshot::channel<int>();
  auto send_meanwhile = [](oneshot::sender<int>& s,
                           oneshot::receiver<int>& r) -> kyoto::task<bool> {
    const bool threw =
        kyoto::test::expect_throws<std::logic_error>([&] { (void)s.send(1); }, "closed()")
            .has_value();
    r.close();  // lets the closed() branch finish
    co_return threw;
  };
  auto [done, threw] = co_await kyoto::join(tx.closed(), send_meanwhile(tx, rx));
  (void)done;
  EXPECT_TRUE(threw);
  auto sent = tx.send(2);  // after the closed() completed: allowed (and fails: closed)
  EXPECT_FALSE(sent.has_value());
}

TEST(Oneshot, ClosedOnAnEmptySenderThrowsLogicErrorNamingIt) {
  auto [tx, rx] = oneshot::channel<int>();
  ASSERT_TRUE(tx.send(1).has_value());  // a sender is empty once it sent
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.closed(); },
                                               "kyoto::sync::oneshot::sender::closed");
}

// The sender half of tokio's drops_tasks: a parked closed() cancelled, then
// both halves dropped; ASan's leak check sees anything left behind.
KYOTO_CT_TEST(Oneshot, AbortedClosedOnADroppedChannelReleasesEverything) {
  auto [tx, rx] = oneshot::channel<int>();
  auto owned = kyoto::spawn([](oneshot::sender<int> s) -> kyoto::task<> { co_await s.closed(); },
                            std::move(tx));
  co_await settle();
  KYOTO_ASSERT_FALSE(owned.is_finished());
  owned.abort();
  EXPECT_TRUE(co_await was_cancelled(owned));
  expect_closed(rx.try_recv());  // the sender went with the task
}

// A closed() that keeps completing at once spends the budget and yields.
KYOTO_CT_TEST(Oneshot, AnAlwaysReadyClosedLoopYieldsToOtherTasks) {
  auto [tx, rx] = oneshot::channel<int>();
  drop(rx);
  std::atomic<bool> ran{false};
  auto neighbour = kyoto::spawn(
      [](std::atomic<bool>* r) -> kyoto::task<> {
        r->store(true);
        co_return;
      },
      &ran);
  for (int i = 0; i < 1000 && !ran.load(); ++i)
    co_await tx.closed();
  EXPECT_TRUE(ran.load()) << "closed() never yielded";
  co_await neighbour;
}

KYOTO_CT_TEST(Oneshot, ClosedWaitingInATaskIsWokenByAReceiverDroppedOnAThread) {
  auto [tx, rx] = oneshot::channel<int>();
  auto [go_tx, go_rx] = oneshot::channel<int>();
  std::jthread dropper([receiver = std::move(rx), go = std::move(go_rx)]() mutable {
    (void)go.blocking_recv();  // the task is about to wait in closed()
    auto dropped = std::move(receiver);
  });
  KYOTO_ASSERT_TRUE(go_tx.send(0).has_value());
  co_await tx.closed();
  EXPECT_TRUE(tx.is_closed());
}
