// kyoto::sync::watch, ported from tokio 1.24 tests/sync_watch.rs (and the
// examples in src/sync/watch.rs's doc comments), then kyoto's own contracts:
// cancellation, the cooperative budget, misuse errors, value lifetimes, and
// stress across a 2-worker runtime and plain threads.
//
// tokio_test's mock polling (task::spawn + assert_pending!/is_woken) is
// ported with real tasks: a task still unfinished after the others have run
// a few times over (let_others_run) is waiting; a woken one finishes within
// a bounded number of yields (finishes_soon), so a broken wake fails the
// test instead of hanging it.
//
// Left out of tokio's file: none; every test of sync_watch.rs is ported.
// Left out of src/sync/watch.rs: the loom models watch_spurious_wakeup and
// watch_borrow (loom is Rust's model checker; their interleavings are
// covered by the stress tests below under ThreadSanitizer).
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// The conformance tests check "not finished yet" by letting the other tasks
// run for a few yields: they run on a current_thread runtime
// (support/ct_test.hpp). The stress tests at the end run on 2 workers.

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;
using kyoto::test::spawn_waiting;
using kyoto::test::was_cancelled;

namespace watch = kyoto::sync::watch;

using changed_result = kyoto::result<void, watch::recv_error>;

// The handles' ownership model: a sender is moved only (tokio 1.24's
// Sender is not Clone), a receiver is copied (tokio's clone).
static_assert(!std::is_copy_constructible_v<watch::sender<int>>);
static_assert(std::is_nothrow_move_constructible_v<watch::sender<int>>);
static_assert(std::is_copy_constructible_v<watch::receiver<int>>);
static_assert(std::is_nothrow_move_constructible_v<watch::receiver<int>>);
static_assert(!std::is_copy_constructible_v<watch::ref<int>>);

// ---- helpers ----

/// One changed() on a receiver the test keeps (so a cancelled await leaves
/// it to the test).
template <class T>
kyoto::task<changed_result> changed_on(watch::receiver<T>* rx) {
  co_return co_await rx->changed();
}

/// sender::closed() on a sender the test keeps.
template <class T>
kyoto::task<> closed_on(const watch::sender<T>* tx) {
  co_await tx->closed();
}

/// Drops a handle now (tokio's `drop(x)`).
template <class H>
void drop(H& handle) {
  H dropped = std::move(handle);
}

/// Spawns a changed() on `rx` and checks it is still waiting after the
/// others ran (tokio's assert_pending!(t.poll())).
template <class T>
kyoto::task<kyoto::join_handle<changed_result>> pending_changed(watch::receiver<T>* rx) {
  co_return co_await spawn_waiting(changed_on(rx));
}

// (A co_await never stands alone in an if/while condition here: GCC 12
// miscompiles that. A declaration in the condition is fine.)

/// Whether `h` finishes soon with ok (tokio's assert_ready_ok!).
kyoto::task<bool> completes_ok(kyoto::join_handle<changed_result>& h) {
  const bool finished = co_await finishes_soon(h);
  if (!finished) co_return false;
  co_return (co_await h).has_value();
}

/// Whether `h` finishes soon with recv_error (tokio's assert_ready_err!).
kyoto::task<bool> completes_err(kyoto::join_handle<changed_result>& h) {
  const bool finished = co_await finishes_soon(h);
  if (!finished) co_return false;
  co_return !(co_await h).has_value();
}

/// Cancels a task waiting in changed() and waits until it is gone (tokio's
/// drop of a pending future).
template <class T>
kyoto::task<> cancel(kyoto::join_handle<T>& h) {
  h.abort();
  EXPECT_TRUE(co_await was_cancelled(h));
}

/// Parks a changed() on `rx1` and one on `rx2`, then sends `value`: both
/// complete ok and both receivers see it.
kyoto::task<> send_wakes_both(watch::sender<std::string>& tx, watch::receiver<std::string>& rx1,
                              watch::receiver<std::string>& rx2, const char* value) {
  auto t1 = co_await pending_changed(&rx1);
  auto t2 = co_await pending_changed(&rx2);
  tx.send(value).expect("send");
  EXPECT_TRUE(co_await completes_ok(t1));
  EXPECT_TRUE(co_await completes_ok(t2));
  EXPECT_EQ(*rx1.borrow(), value);
  EXPECT_EQ(*rx2.borrow(), value);
}

// ==== ported from tokio's sync_watch.rs ====

// single_rx_recv
KYOTO_CT_TEST(Watch, ChangedWaitsForASendThenReportsTheEndOnceTheSenderIsDropped) {
  auto [tx, rx] = watch::channel<std::string>("one");

  {
    // Not initially notified.
    auto t = co_await pending_changed(&rx);
    co_await cancel(t);
  }
  EXPECT_EQ(*rx.borrow(), "one");

  {
    auto t = co_await pending_changed(&rx);
    tx.send("two").expect("send two");
    EXPECT_TRUE(co_await completes_ok(t));
  }
  EXPECT_EQ(*rx.borrow(), "two");

  {
    auto t = co_await pending_changed(&rx);
    drop(tx);
    EXPECT_TRUE(co_await completes_err(t));
  }
  EXPECT_EQ(*rx.borrow(), "two");
}

// multi_rx
KYOTO_CT_TEST(Watch, EverySendWakesEveryWaitingReceiver) {
  auto [tx, rx1] = watch::channel<std::string>("one");
  watch::receiver<std::string> rx2 = rx1;

  {
    auto t1 = co_await pending_changed(&rx1);
    auto t2 = co_await pending_changed(&rx2);
    co_await cancel(t1);
    co_await cancel(t2);
  }
  EXPECT_EQ(*rx1.borrow(), "one");
  EXPECT_EQ(*rx2.borrow(), "one");

  auto t2 = co_await pending_changed(&rx2);

  {
    auto t1 = co_await pending_changed(&rx1);
    tx.send("two").expect("send two");
    EXPECT_TRUE(co_await completes_ok(t1));
    // t2 was woken too; it completes (tokio polls it only after "three").
    EXPECT_TRUE(co_await completes_ok(t2));
  }
  EXPECT_EQ(*rx1.borrow(), "two");

  co_await send_wakes_both(tx, rx1, rx2, "three");

  co_await send_wakes_both(tx, rx1, rx2, "four");
}

// rx_observes_final_value
KYOTO_CT_TEST(Watch, ReceiverObservesTheFinalValueBeforeTheEnd) {
  {
    // Initial value only.
    auto [tx, rx] = watch::channel<std::string>("one");
    drop(tx);
    EXPECT_FALSE((co_await rx.changed()).has_value());
    EXPECT_EQ(*rx.borrow(), "one");
  }

  // Sending a value.
  auto [tx, rx] = watch::channel<std::string>("one");
  tx.send("two").expect("send two");
  EXPECT_TRUE((co_await rx.changed()).has_value());
  EXPECT_EQ(*rx.borrow(), "two");

  {
    auto t1 = co_await pending_changed(&rx);
    tx.send("three").expect("send three");
    drop(tx);
    EXPECT_TRUE(co_await completes_ok(t1));
  }
  EXPECT_EQ(*rx.borrow(), "three");

  EXPECT_FALSE((co_await rx.changed()).has_value());
  EXPECT_EQ(*rx.borrow(), "three");
}

// poll_close
KYOTO_CT_TEST(Watch, ClosedCompletesWhenTheLastReceiverIsDroppedAndSendThenFails) {
  auto [tx, rx] = watch::channel<std::string>("one");

  {
    auto t = kyoto::spawn(closed_on(&tx));
    co_await let_others_run();
    EXPECT_FALSE(t.is_finished());
    drop(rx);
    KYOTO_ASSERT_TRUE(co_await finishes_soon(t));
    co_await t;
  }

  auto r = tx.send("two");
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, "two");  // handed back
}

// borrow_and_update
KYOTO_CT_TEST(Watch, BorrowAndUpdateMarksTheValueSeen) {
  auto [tx, rx] = watch::channel<std::string>("one");

  EXPECT_FALSE(rx.has_changed().value());

  tx.send("two").expect("send two");
  EXPECT_TRUE(rx.has_changed().value());
  EXPECT_TRUE((co_await rx.changed()).has_value());
  {
    auto t = co_await pending_changed(&rx);
    co_await cancel(t);
  }
  EXPECT_FALSE(rx.has_changed().value());

  tx.send("three").expect("send three");
  EXPECT_TRUE(rx.has_changed().value());
  EXPECT_EQ(*rx.borrow_and_update(), "three");
  {
    auto t = co_await pending_changed(&rx);
    co_await cancel(t);
  }
  EXPECT_FALSE(rx.has_changed().value());

  drop(tx);
  EXPECT_EQ(*rx.borrow_and_update(), "three");
  EXPECT_FALSE((co_await rx.changed()).has_value());
  EXPECT_FALSE(rx.has_changed().has_value());
}

// reopened_after_subscribe
TEST(Watch, SubscribeReopensAChannelWhoseReceiversAreAllGone) {
  auto [tx, rx] = watch::channel<std::string>("one");
  EXPECT_FALSE(tx.is_closed());

  drop(rx);
  EXPECT_TRUE(tx.is_closed());

  watch::receiver<std::string> rx2 = tx.subscribe();
  EXPECT_FALSE(tx.is_closed());

  drop(rx2);
  EXPECT_TRUE(tx.is_closed());
}

// send_modify_panic (a panic is an exception)
KYOTO_CT_TEST(Watch, SendModifyThatThrowsKeepsItsChangesButWakesNobody) {
  auto [tx, rx] = watch::channel<std::string>("one");

  tx.send_modify([](std::string& old) { old = "two"; });
  EXPECT_EQ(*rx.borrow_and_update(), "two");

  watch::receiver<std::string> rx2 = rx;
  EXPECT_EQ(*rx2.borrow_and_update(), "two");

  auto task = co_await pending_changed(&rx2);

  EXPECT_THROW(tx.send_modify([](std::string& old) {
    old = "panicked";
    throw std::runtime_error("modify failed");
  }),
               std::runtime_error);

  co_await let_others_run();
  EXPECT_FALSE(task.is_finished());
  EXPECT_EQ(*rx.borrow(), "panicked");

  tx.send_modify([](std::string& old) { old = "three"; });
  EXPECT_TRUE(co_await completes_ok(task));
  EXPECT_EQ(*rx.borrow_and_update(), "three");
}

// ==== ported from the examples of tokio's src/sync/watch.rs ====

// Ref::has_changed's example.
TEST(Watch, BorrowGuardTellsTheValueChangedEvenAfterTheSenderIsGone) {
  auto [tx, rx] = watch::channel<std::string>("hello");

  tx.send("goodbye").expect("send");
  EXPECT_FALSE(tx.borrow().has_changed());  // the sender never sees a change

  drop(tx);
  EXPECT_FALSE(rx.has_changed().has_value());
  EXPECT_EQ(*rx.borrow(), "goodbye");
  EXPECT_TRUE(rx.borrow().has_changed());
  {
    auto received = rx.borrow_and_update();
    EXPECT_EQ(*received, "goodbye");
    EXPECT_TRUE(received.has_changed());
  }
  EXPECT_FALSE(rx.borrow().has_changed());
}

// Sender::send_modify's example.
TEST(Watch, SendModifyChangesTheValueInPlace) {
  struct state {
    int counter = 0;
  };
  auto [tx, rx] = watch::channel(state{});
  tx.send_modify([](state& s) { s.counter += 1; });
  EXPECT_EQ(rx.borrow()->counter, 1);
}

// Sender::send_if_modified's example.
TEST(Watch, SendIfModifiedNotifiesOnlyWhenTheClosureReportsAModification) {
  struct state {
    int counter = 1;
  };
  auto [tx, rx] = watch::channel(state{});
  const auto inc_counter_if_odd = [](state& s) {
    if (s.counter % 2 == 1) {
      s.counter += 1;
      return true;
    }
    return false;
  };

  EXPECT_EQ(rx.borrow()->counter, 1);
  EXPECT_FALSE(rx.has_changed().value());
  EXPECT_TRUE(tx.send_if_modified(inc_counter_if_odd));
  EXPECT_TRUE(rx.has_changed().value());
  EXPECT_EQ(rx.borrow_and_update()->counter, 2);

  EXPECT_FALSE(rx.has_changed().value());
  EXPECT_FALSE(tx.send_if_modified(inc_counter_if_odd));
  EXPECT_FALSE(rx.has_changed().value());
  EXPECT_EQ(rx.borrow_and_update()->counter, 2);
}

// Sender::send_replace's example.
TEST(Watch, SendReplaceReturnsThePreviousValue) {
  auto [tx, rx] = watch::channel(1);
  EXPECT_EQ(tx.send_replace(2), 1);
  EXPECT_EQ(tx.send_replace(3), 2);
}

// Sender::subscribe's first example.
TEST(Watch, SubscribedReceiverSeesLaterSends) {
  auto [tx, rx] = watch::channel<long>(0);
  tx.send(5).expect("send 5");
  watch::receiver<long> rx2 = tx.subscribe();
  EXPECT_EQ(*rx2.borrow(), 5);
  tx.send(10).expect("send 10");
  EXPECT_EQ(*rx2.borrow(), 10);
}

// Sender::subscribe's second example: what was sent before subscribe() is
// seen; changed() waits for the next send.
KYOTO_CT_TEST(Watch, SubscribedReceiverHasSeenWhatWasSentBefore) {
  auto [tx, rx] = watch::channel<long>(0);
  tx.send(5).expect("send 5");
  watch::receiver<long> rx2 = tx.subscribe();
  EXPECT_FALSE(rx2.has_changed().value());

  auto sending = kyoto::spawn(
      [](watch::sender<long> out) -> kyoto::task<> {
        out.send(100).expect("send 100");
        co_return;
      },
      std::move(tx));

  EXPECT_TRUE((co_await rx2.changed()).has_value());
  EXPECT_EQ(*rx2.borrow(), 100);
  co_await sending;
}

// Sender::receiver_count's example.
TEST(Watch, ReceiverCountCountsCopiesAndSubscriptions) {
  auto [tx, rx1] = watch::channel<std::string>("hello");
  EXPECT_EQ(tx.receiver_count(), 1u);
  watch::receiver<std::string> rx2 = rx1;
  EXPECT_EQ(tx.receiver_count(), 2u);
  {
    watch::receiver<std::string> rx3 = tx.subscribe();
    EXPECT_EQ(tx.receiver_count(), 3u);
  }
  EXPECT_EQ(tx.receiver_count(), 2u);
}

// Receiver::same_channel's example.
TEST(Watch, SameChannelTellsReceiversOfOneChannelApart) {
  auto [tx, rx] = watch::channel(true);
  watch::receiver<bool> rx2 = rx;
  EXPECT_TRUE(rx.same_channel(rx2));
  auto [tx3, rx3] = watch::channel(true);
  EXPECT_FALSE(rx3.same_channel(rx2));
}

// Sender::closed's example.
KYOTO_CT_TEST(Watch, ClosedCompletesWhenAReceiverInAnotherTaskIsDropped) {
  auto [tx, rx] = watch::channel<std::string>("hello");
  auto user = kyoto::spawn(
      [](watch::receiver<std::string> in) -> kyoto::task<> {
        co_await kyoto::yield_now();
        drop(in);
      },
      std::move(rx));
  co_await tx.closed();
  EXPECT_TRUE(tx.is_closed());
  co_await user;
}

// ==== kyoto's own contracts ====

TEST(Watch, CopyOfAReceiverStartsWithItsSeenVersion) {
  auto [tx, rx] = watch::channel(0);
  tx.send(1).expect("send");
  watch::receiver<int> unseen = rx;
  EXPECT_TRUE(unseen.has_changed().value());
  (void)rx.borrow_and_update();
  watch::receiver<int> seen = rx;
  EXPECT_FALSE(seen.has_changed().value());
  EXPECT_TRUE(unseen.has_changed().value());  // copies are independent
}

TEST(Watch, CopyAssignmentJoinsTheOtherChannelAndLeavesTheOld) {
  auto [tx1, rx1] = watch::channel(1);
  auto [tx2, rx2] = watch::channel(2);
  watch::receiver<int> r = rx1;
  EXPECT_EQ(tx1.receiver_count(), 2u);
  r = rx2;
  EXPECT_EQ(tx1.receiver_count(), 1u);
  EXPECT_EQ(tx2.receiver_count(), 2u);
  EXPECT_EQ(*r.borrow(), 2);
  EXPECT_TRUE(r.same_channel(rx2));
}

TEST(Watch, SendWithNoReceiverHandsTheValueBackAndChangesNothing) {
  auto [tx, rx] = watch::channel<std::string>("kept");
  drop(rx);
  auto r = tx.send("refused");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, "refused");
  EXPECT_STREQ(r.error().what(), "channel closed");
  EXPECT_EQ(*tx.borrow(), "kept");
}

TEST(Watch, SendModifyAndSendReplaceWorkWithNoReceiverAndASubscriberSeesTheValue) {
  auto [tx, rx] = watch::channel(0);
  drop(rx);
  tx.send_modify([](int& v) { v = 1; });
  EXPECT_EQ(tx.send_replace(2), 1);
  watch::receiver<int> late = tx.subscribe();
  EXPECT_EQ(*late.borrow(), 2);
  EXPECT_FALSE(late.has_changed().value());
}

KYOTO_CT_TEST(Watch, SendIfModifiedReturningFalseWakesNobody) {
  auto [tx, rx] = watch::channel(0);
  auto t = co_await pending_changed(&rx);
  EXPECT_FALSE(tx.send_if_modified([](int& v) {
    v = 7;  // a silent modification
    return false;
  }));
  co_await let_others_run();
  EXPECT_FALSE(t.is_finished());
  EXPECT_EQ(*rx.borrow(), 7);
  EXPECT_FALSE(rx.borrow().has_changed());
  EXPECT_TRUE(tx.send_if_modified([](int& v) {
    ++v;
    return true;
  }));
  EXPECT_TRUE(co_await completes_ok(t));
  EXPECT_EQ(*rx.borrow(), 8);
}

KYOTO_CT_TEST(Watch, ChangedAfterManySendsCompletesOnceAndMarksTheNewestSeen) {
  auto [tx, rx] = watch::channel(0);
  for (int i = 1; i <= 10; ++i)
    tx.send(i).expect("send");
  EXPECT_TRUE((co_await rx.changed()).has_value());
  EXPECT_EQ(*rx.borrow(), 10);
  EXPECT_FALSE(rx.has_changed().value());  // one change reported for ten sends
}

// ---- cancellation ----

// A cancelled changed() unlinks itself; the next send still wakes the
// others, and the cancelled one's receiver has marked nothing seen.
KYOTO_CT_TEST(Watch, CancelledWaitingChangedDoesNotLoseTheWakeForOthers) {
  auto [tx, rx] = watch::channel(0);
  std::vector<watch::receiver<int>> rxs(5, rx);
  std::vector<kyoto::join_handle<changed_result>> waiting;
  for (auto& r : rxs)
    waiting.push_back(kyoto::spawn(changed_on(&r)));
  co_await let_others_run();
  co_await cancel(waiting[0]);
  co_await cancel(waiting[2]);

  tx.send(1).expect("send");
  for (int i : {1, 3, 4})
    EXPECT_TRUE(co_await completes_ok(waiting[i])) << i;
  EXPECT_TRUE(rxs[0].has_changed().value());  // the cancelled ones saw nothing
  EXPECT_TRUE(rxs[2].has_changed().value());
  EXPECT_FALSE(rxs[1].has_changed().value());
  EXPECT_TRUE((co_await rxs[0].changed()).has_value());  // and still get it
}

// The send wakes a parked changed() and the cancel comes before its task
// runs: either the task reported the change, or the receiver still has it
// unseen; never neither. The other waiter is woken regardless.
KYOTO_CT_TEST(Watch, ChangedCancelledAfterItsWakeLosesNothing) {
  auto [tx, rx] = watch::channel(0);
  watch::receiver<int> other = rx;
  auto victim = kyoto::spawn(changed_on(&rx));
  auto survivor = kyoto::spawn(changed_on(&other));
  co_await let_others_run();
  KYOTO_ASSERT_FALSE(victim.is_finished());

  tx.send(1).expect("send");
  victim.abort();  // woken, not yet resumed

  bool reported = false;
  try {
    reported = (co_await victim).has_value();
  } catch (const kyoto::join_error&) {  // NOLINT(bugprone-empty-catch): aborted on purpose
  }
  EXPECT_NE(reported, rx.has_changed().value());
  EXPECT_TRUE(co_await completes_ok(survivor));
}

// Two changed() awaited concurrently in one task (join): each completes on
// its own channel's send.
KYOTO_CT_TEST(Watch, ChangedAwaitsJoinedInOneTaskEachCompleteOnTheirOwnSend) {
  auto [tx, rx] = watch::channel(0);
  auto [tx2, rx2] = watch::channel(0);
  auto h = kyoto::spawn(
      [](watch::receiver<int>* first, watch::receiver<int>* second) -> kyoto::task<int> {
        auto [ra, rb] = co_await kyoto::join(first->changed(), second->changed());
        if (!ra.has_value() || !rb.has_value()) co_return -1;
        co_return *first->borrow() + *second->borrow();
      },
      &rx, &rx2);
  co_await let_others_run();
  tx.send(1).expect("send");
  co_await let_others_run();
  EXPECT_FALSE(h.is_finished());
  tx2.send(2).expect("send");
  KYOTO_ASSERT_TRUE(co_await finishes_soon(h));
  EXPECT_EQ(co_await h, 3);
}

KYOTO_CT_TEST(Watch, CancelledClosedLeavesOtherClosedWaitsWoken) {
  auto [tx, rx] = watch::channel(0);
  auto a = kyoto::spawn(closed_on(&tx));
  auto b = kyoto::spawn(closed_on(&tx));
  co_await let_others_run();
  co_await cancel(a);
  drop(rx);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(b));
  co_await b;
}

// tokio's closed() loops: woken by the last receiver's drop, it waits on if
// a subscribe() reopened the channel before it resumed.
KYOTO_CT_TEST(Watch, ClosedWaitsOnWhenSubscribeReopensTheChannelBeforeItResumes) {
  auto [tx, rx] = watch::channel(0);
  auto t = kyoto::spawn(closed_on(&tx));
  co_await let_others_run();
  KYOTO_ASSERT_FALSE(t.is_finished());

  drop(rx);                                     // wakes t...
  watch::receiver<int> again = tx.subscribe();  // ...which has not run yet
  co_await let_others_run();
  EXPECT_FALSE(t.is_finished());

  drop(again);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(t));
  co_await t;
}

KYOTO_CT_TEST(Watch, ClosedCompletesAtOnceWithNoReceiver) {
  auto [tx, rx] = watch::channel(0);
  drop(rx);
  co_await tx.closed();
  EXPECT_TRUE(tx.is_closed());
}

// ---- the cooperative budget ----

// A changed() that is always ready still gives the thread back.
KYOTO_CT_TEST(Watch, AlwaysReadyChangedYieldsToOtherTasks) {
  auto [tx, rx] = watch::channel(0);
  std::atomic<int> other_steps{0};
  auto other = kyoto::spawn(kyoto::test::count_steps(other_steps));
  int steps_seen_at_end = 0;
  for (int i = 1; i <= 1000; ++i) {
    tx.send(i).expect("send");
    KYOTO_ASSERT_TRUE((co_await rx.changed()).has_value());
  }
  steps_seen_at_end = other_steps.load();
  EXPECT_GT(steps_seen_at_end, 0);  // it ran meanwhile
  EXPECT_EQ(*rx.borrow(), 1000);
  co_await other;
}

// A changed() that yields for the budget has marked nothing seen:
// cancelled there, the change is still unseen.
KYOTO_CT_TEST(Watch, ChangedCancelledInItsBudgetYieldMarksNothingSeen) {
  auto [tx, rx] = watch::channel(0);
  std::atomic<int> done{0};
  auto spinning = kyoto::spawn(
      [](watch::sender<int>* out, watch::receiver<int>* in, std::atomic<int>& n) -> kyoto::task<> {
        for (int i = 1;; ++i) {
          out->send(i).expect("send");
          (co_await in->changed()).expect("changed");
          ++n;
        }
      },
      &tx, &rx, std::ref(done));
  co_await kyoto::yield_now();  // it completes a budget's worth, then yields
  EXPECT_EQ(done.load(), static_cast<int>(kyoto::detail::coop_budget));
  spinning.abort();
  EXPECT_TRUE(co_await was_cancelled(spinning));
  EXPECT_TRUE(rx.has_changed().value());  // the yielded changed() took nothing
  EXPECT_EQ(*rx.borrow_and_update(), static_cast<int>(kyoto::detail::coop_budget) + 1);
}

// ---- misuse ----

KYOTO_CT_TEST(Watch, SecondChangedOnOneReceiverWhileOneWaitsThrowsLogicError) {
  auto [tx, rx] = watch::channel(0);
  auto t = co_await pending_changed(&rx);
  co_await kyoto::test::expect_throws_async<std::logic_error>([&] { return rx.changed(); },
                                                              "changed");
  tx.send(1).expect("send");
  EXPECT_TRUE(co_await completes_ok(t));  // the first one is unharmed
}

KYOTO_CT_TEST(Watch, AwaitingAChangedAwaiterTwiceThrowsLogicError) {
  auto [tx, rx] = watch::channel(0);
  tx.send(1).expect("send");
  auto awaiter = rx.changed();
  EXPECT_TRUE((co_await awaiter).has_value());
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return awaiter; },
                                                              "already awaited");
}

TEST(Watch, MovedFromHandlesThrowLogicErrorNamingTheOperation) {
  auto [tx, rx] = watch::channel(0);
  watch::sender<int> tx2 = std::move(tx);
  watch::receiver<int> rx2 = std::move(rx);
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.send(1); }, "sender::send");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.borrow(); }, "sender::borrow");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.subscribe(); }, "sender::subscribe");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.receiver_count(); },
                                               "sender::receiver_count");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.is_closed(); }, "sender::is_closed");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)tx.closed(); }, "sender::closed");
  kyoto::test::expect_throws<std::logic_error>([&] { tx.send_modify([](int&) {}); },
                                               "sender::send_if_modified");
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.borrow(); }, "receiver::borrow");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.borrow_and_update(); },
                                               "receiver::borrow_and_update");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.has_changed(); },
                                               "receiver::has_changed");
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.changed(); }, "receiver::changed");
  EXPECT_EQ(tx2.receiver_count(), 1u);
  EXPECT_TRUE(rx2.same_channel(tx2.subscribe()));
}

KYOTO_CT_TEST(Watch, MoveAssigningASenderClosesItsOldChannel) {
  auto [tx1, rx1] = watch::channel(1);
  auto [tx2, rx2] = watch::channel(2);
  tx1 = std::move(tx2);
  EXPECT_FALSE(rx1.has_changed().has_value());  // closed
  EXPECT_FALSE((co_await rx1.changed()).has_value());
  tx1.send(3).expect("send");
  EXPECT_EQ(*rx2.borrow(), 3);
}

// ---- values ----

using counted = std::unique_ptr<kyoto::test::drop_counter>;

counted make_counted(std::atomic<int>& drops) {
  return std::make_unique<kyoto::test::drop_counter>(drops);
}

TEST(Watch, EveryValueIsDestroyedExactlyOnce) {
  std::atomic<int> drops{0};
  {
    auto [tx, rx] = watch::channel(make_counted(drops));
    tx.send(make_counted(drops)).expect("send");  // the initial value goes
    EXPECT_EQ(drops.load(), 1);
    counted old = tx.send_replace(make_counted(drops));
    EXPECT_EQ(drops.load(), 1);  // handed back, alive
    old.reset();
    EXPECT_EQ(drops.load(), 2);
    drop(rx);
    auto refused = tx.send(make_counted(drops));
    EXPECT_FALSE(refused.has_value());
    EXPECT_EQ(drops.load(), 2);  // the refused value lives in the error
  }
  EXPECT_EQ(drops.load(), 4);  // the refused one, and the last held value
}

TEST(Watch, TheLastHandleToGoDestroysTheValue) {
  std::atomic<int> drops{0};
  auto [tx, rx] = watch::channel(make_counted(drops));
  watch::receiver<counted> copy = rx;
  drop(tx);
  drop(rx);
  EXPECT_EQ(drops.load(), 0);
  drop(copy);
  EXPECT_EQ(drops.load(), 1);
}

/// A value whose destructor borrows its channel from another thread: it
/// would block there if destroyed under the write lock.
class borrows_on_destruction {
 public:
  borrows_on_destruction(watch::receiver<borrows_on_destruction>* rx, std::atomic<int>* blocked)
      : rx_(rx), blocked_(blocked) {}
  borrows_on_destruction(borrows_on_destruction&& o) noexcept
      : rx_(std::exchange(o.rx_, nullptr)), blocked_(o.blocked_) {}
  borrows_on_destruction& operator=(borrows_on_destruction&& o) noexcept {
    rx_ = std::exchange(o.rx_, nullptr);
    blocked_ = o.blocked_;
    return *this;
  }
  ~borrows_on_destruction() {
    if (rx_ == nullptr) return;
    std::promise<void> borrowed;
    std::future<void> done = borrowed.get_future();
    std::thread probe([this, &borrowed] {
      (void)rx_->borrow();
      borrowed.set_value();
    });
    // A watchdog, not synchronisation: the passing path returns at once.
    if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) ++*blocked_;
    probe.join();  // a blocked probe finishes once the lock is released
  }

 private:
  watch::receiver<borrows_on_destruction>* rx_;
  std::atomic<int>* blocked_;
};

TEST(Watch, OldValueOfASendIsDestroyedAfterTheLockIsReleased) {
  std::atomic<int> blocked{0};
  auto [tx, rx] = watch::channel(borrows_on_destruction(nullptr, &blocked));
  watch::receiver<borrows_on_destruction> probe_rx = rx;
  tx.send(borrows_on_destruction(&probe_rx, &blocked)).expect("send");
  // The value the next send replaces borrows from its destructor.
  tx.send(borrows_on_destruction(nullptr, &blocked)).expect("send");
  EXPECT_EQ(blocked.load(), 0);
}

// ---- stress: 2 workers and plain threads ----

struct observation {
  bool monotonic = true;
  long last = -1;
  long changes = 0;
};

kyoto::task<observation> observe(watch::receiver<long> rx) {
  observation o;
  o.last = *rx.borrow_and_update();
  for (;;) {
    const changed_result r = co_await rx.changed();
    if (!r.has_value()) break;
    const long v = *rx.borrow_and_update();
    if (v < o.last) o.monotonic = false;
    o.last = v;
    ++o.changes;
  }
  // The end comes only after the last version was seen.
  if (*rx.borrow() != o.last) o.monotonic = false;
  co_return o;
}

// A plain thread sends increasing versions; receivers on two workers see
// non-decreasing values, and every one sees the final value before the end.
KYOTO_TEST_WITH(WatchStress, ReceiversOnTwoWorkersSeeNonDecreasingValuesAndTheLast,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  constexpr long last = 20'000;
  constexpr int receivers = 6;
  auto [tx, rx] = watch::channel<long>(0);
  std::vector<kyoto::join_handle<observation>> readers;
  for (int i = 0; i < receivers; ++i)
    readers.push_back(kyoto::spawn(observe(rx)));
  // A plain thread polls too, without awaiting.
  std::atomic<bool> thread_monotonic{true};
  std::thread poller([in = rx, &thread_monotonic]() mutable {
    long prev = 0;
    for (;;) {
      const long v = *in.borrow_and_update();
      if (v < prev) thread_monotonic = false;
      prev = v;
      if (v == last) break;
      std::this_thread::yield();
    }
  });
  drop(rx);
  std::thread sending([out = std::move(tx)]() mutable {
    for (long i = 1; i <= last; ++i) {
      if (!out.send(i).has_value()) return;
    }
  });  // the sender is dropped as the thread ends: the receivers see the end
  for (auto& h : readers) {
    const observation o = co_await h;
    EXPECT_TRUE(o.monotonic);
    EXPECT_EQ(o.last, last);
    // watch may skip versions, and a reader that starts after the last send
    // sees it in its first borrow and no change at all (a count of 0 is
    // correct): what must hold is no version reported twice.
    EXPECT_LE(o.changes, last);
  }
  sending.join();
  poller.join();
  EXPECT_TRUE(thread_monotonic.load());
}

// Waiting changed()s are cancelled while a plain thread keeps sending: the
// ones left all complete, nothing is lost or left behind (TSan, ASan).
KYOTO_TEST_WITH(WatchStress, CancellingWaitersWhileAThreadSendsLosesNoWake,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  auto [tx, rx] = watch::channel<long>(0);
  std::atomic<bool> stop{false};
  std::thread sending([out = &tx, &stop] {
    for (long i = 1; !stop.load(); ++i) {
      out->send_replace(i);
      if (i % 64 == 0) std::this_thread::yield();
    }
  });
  for (int round = 0; round < 200; ++round) {
    std::vector<kyoto::join_handle<changed_result>> waiting;
    for (int i = 0; i < 8; ++i) {
      waiting.push_back(kyoto::spawn(
          [](watch::receiver<long> in) -> kyoto::task<changed_result> {
            (void)in.borrow_and_update();
            co_return co_await in.changed();
          },
          rx));
    }
    for (int i = 0; i < 8; i += 2)
      waiting[i].abort();
    for (int i = 0; i < 8; ++i) {
      try {
        EXPECT_TRUE((co_await waiting[i]).has_value());
      } catch (const kyoto::join_error&) {
        EXPECT_EQ(i % 2, 0);  // only the aborted ones may be cancelled
      }
    }
  }
  stop = true;
  sending.join();
}

// The last receivers are dropped on other threads and tasks while the
// sender awaits closed(): it always completes.
KYOTO_TEST_WITH(WatchStress, ClosedCompletesWhenReceiversAreDroppedOnOtherThreads,
                kyoto::runtime::builder::multi_thread().worker_threads(2)) {
  for (int round = 0; round < 300; ++round) {
    auto [tx, rx] = watch::channel(round);
    watch::receiver<int> in_task = rx;
    watch::receiver<int> in_thread = rx;
    drop(rx);
    auto dropper = kyoto::spawn(
        [](watch::receiver<int> r) -> kyoto::task<> {
          co_await kyoto::yield_now();
          drop(r);
        },
        std::move(in_task));
    std::thread t([r = std::move(in_thread)]() mutable { drop(r); });
    co_await tx.closed();
    EXPECT_EQ(tx.receiver_count(), 0u);
    co_await dropper;
    t.join();
  }
}

}  // namespace
