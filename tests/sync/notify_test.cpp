// kyoto::sync::notify, ported from tokio 1.24 tests/sync_notify.rs, with the
// cases of tokio's src/sync/tests/notify.rs and loom_notify.rs that apply,
// then kyoto's own contracts: cancel safety (a notification picked for a
// destroyed notified is passed on, never lost or doubled), enable() across
// moves, the cooperative budget, misuse errors, and stress across workers
// and foreign threads.
//
// tokio_test's mock polling (task::spawn + assert_pending!/is_woken) is
// ported with real tasks: a task still unfinished after the others have run
// a few times over (let_others_run) is waiting; a woken one finishes within
// a bounded number of yields (finishes_soon), so a lost wake fails the test
// instead of hanging it. The multi-thread tests bound their waits with a
// wall-clock watchdog (finishes_within) that returns as soon as the task
// finishes; none sleeps to synchronise.
//
// Left out:
// notify_in_drop_after_wake: its Waker's drop calls notify_waiters(); kyoto wakes run no user code
// notify_clones_waker_before_lock (src/sync/tests/notify.rs): the same, for a Waker's clone
// watch_test (src/sync/tests/notify.rs): it tests watch, not Notify
// trait AssertSend: Rust's Send/Sync; the C++ copy/move traits are static_asserted instead
#include "ct_test.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/config.hpp>  // spin_pause

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;
using kyoto::test::spawn_waiting;
using kyoto::test::was_cancelled;

using kyoto::sync::notified;
using kyoto::sync::notify;

static_assert(!std::is_copy_constructible_v<notify>);
static_assert(!std::is_move_constructible_v<notify>);
static_assert(!std::is_copy_constructible_v<notified>);
static_assert(std::is_nothrow_move_constructible_v<notified>);
static_assert(std::is_nothrow_move_assignable_v<notified>);

// ---- helpers ----

/// tokio's Arc<Notify>: tasks share the notify, so it outlives them even
/// when a failed assertion ends the test body early.
using notify_ptr = std::shared_ptr<notify>;

notify_ptr make_notify() {
  return std::make_shared<notify>();
}

/// Whether `h` finishes within `limit`. A watchdog for the multi-thread
/// tests, not synchronisation: it returns as soon as `h` finishes.
template <class T>
kyoto::task<bool> finishes_within(const kyoto::join_handle<T>& h,
                                  std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!h.is_finished()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await kyoto::yield_now();
  }
  co_return true;
}

/// Whether every task of `handles` finishes within the watchdog's limit.
template <class T>
kyoto::task<bool> all_finish_within(std::vector<kyoto::join_handle<T>>& handles) {
  for (auto& h : handles) {
    const bool finished = co_await finishes_within(h);
    if (!finished) co_return false;
  }
  co_return true;
}

/// tokio's `notify.notified().await` in a task.
kyoto::task<> wait_notified(notify_ptr n) {
  co_await n->notified();
}

/// Awaits a notified that outlives the task: a cancelled await leaves it
/// to the test.
kyoto::task<> await_borrowed(notified* n) {
  co_await *n;
}

/// Awaits a notified it owns.
kyoto::task<> await_owned(notified n) {
  co_await n;
}

/// Awaits a notified that outlives the task as an rvalue (`co_await
/// std::move(n)`: the awaiter takes it).
kyoto::task<> await_moved(notified* n) {
  co_await std::move(*n);
}

/// Whether an await of `*n` completes at once, with nobody notifying: it is
/// awaited (in place, or as an rvalue) in a task, cancelled if it does not
/// finish soon, so a missed notification fails the test instead of hanging
/// it.
kyoto::task<bool> completes_at_once(notified* n, bool as_rvalue = false) {
  auto h = kyoto::spawn(as_rvalue ? await_moved(n) : await_borrowed(n));
  const bool finished = co_await finishes_soon(h);
  if (!finished) h.abort();
  (void)co_await was_cancelled(h);
  co_return finished;
}

/// Whether a fresh notified completes at once, i.e. a permit was stored
/// (taking it).
bool take_permit(notify& n) {
  notified probe = n.notified();
  return probe.enable();
}

/// notify_one() on `n` wakes the waiting `h`, which then finishes.
kyoto::task<> notify_one_wakes(notify& n, kyoto::join_handle<void>& h) {
  n.notify_one();
  const bool finished = co_await finishes_soon(h);
  EXPECT_TRUE(finished) << "notify_one() did not wake it";
  if (finished) co_await h;
}

/// With one permit stored in `n`, of two awaits the first takes it and
/// completes and the second waits, until the next notify_one().
kyoto::task<> one_permit_completes_one_of_two_awaits(notify_ptr n) {
  auto h1 = kyoto::spawn(wait_notified(n));
  auto h2 = kyoto::spawn(wait_notified(n));
  co_await let_others_run();
  EXPECT_TRUE(h1.is_finished());
  EXPECT_FALSE(h2.is_finished());
  co_await notify_one_wakes(*n, h2);
}

/// Awaits one notification, then records `id`.
kyoto::task<> wait_and_record(notify_ptr n, std::vector<int>* order, int id) {
  co_await n->notified();
  order->push_back(id);
}

// ==== ported from tokio's tests/sync_notify.rs ====

// notify_notified_one
KYOTO_CT_TEST(Notify, NotifyOneBeforeTheAwaitStoresAPermitTheAwaitTakes) {
  auto n = make_notify();
  n->notify_one();
  auto h = kyoto::spawn(wait_notified(n));
  EXPECT_TRUE(co_await finishes_soon(h));
  co_await h;
}

// notified_one_notify
KYOTO_CT_TEST(Notify, NotifyOneWakesAWaitingTask) {
  auto n = make_notify();
  auto h = co_await spawn_waiting(wait_notified(n));  // pending

  co_await notify_one_wakes(*n, h);
}

// notified_multi_notify
KYOTO_CT_TEST(Notify, NotifyOneWakesOnlyTheFirstOfTwoWaiters) {
  auto n = make_notify();
  auto h1 = co_await spawn_waiting(wait_notified(n));
  auto h2 = co_await spawn_waiting(wait_notified(n));

  co_await notify_one_wakes(*n, h1);
  co_await let_others_run();
  EXPECT_FALSE(h2.is_finished());  // still pending

  co_await notify_one_wakes(*n, h2);  // let it finish
}

// notify_notified_multi
KYOTO_CT_TEST(Notify, OneStoredPermitCompletesOnlyOneOfTwoAwaits) {
  auto n = make_notify();
  n->notify_one();

  co_await one_permit_completes_one_of_two_awaits(n);
}

// notified_drop_notified_notify
KYOTO_CT_TEST(Notify, DestroyedWaiterLeavesTheQueueSoTheNextOneIsWoken) {
  auto n = make_notify();
  auto h1 = co_await spawn_waiting(wait_notified(n));

  h1.abort();
  EXPECT_TRUE(co_await was_cancelled(h1));

  auto h2 = co_await spawn_waiting(wait_notified(n));

  co_await notify_one_wakes(*n, h2);
}

// notified_multi_notify_drop_one: notify_one() picks the first waiter, which
// is destroyed before it resumes; the notification goes to the second.
KYOTO_CT_TEST(Notify, WaiterPickedByNotifyOneThenDestroyedPassesTheNotificationOn) {
  auto n = make_notify();
  auto h1 = co_await spawn_waiting(wait_notified(n));
  auto h2 = co_await spawn_waiting(wait_notified(n));

  n->notify_one();  // wakes h1: queued, not yet run
  h1.abort();       // cancelled before it runs
  EXPECT_TRUE(co_await was_cancelled(h1));

  EXPECT_TRUE(co_await finishes_soon(h2));
  EXPECT_FALSE(take_permit(*n));  // passed on once, not also stored
}

// notify_one_after_dropped_all
KYOTO_CT_TEST(Notify,
              NotifyOneAfterNotifyWaitersStoresAPermitThatOutlivesTheWokenWaitersCancellation) {
  auto n = make_notify();
  auto h1 = co_await spawn_waiting(wait_notified(n));

  n->notify_waiters();  // wakes h1
  n->notify_one();      // nobody waits any more: stores the permit
  h1.abort();           // h1's ALL is not forwarded, and the permit stays
  co_await was_cancelled(h1);

  auto h2 = kyoto::spawn(wait_notified(n));
  co_await let_others_run();
  EXPECT_TRUE(h2.is_finished());
}

// test_notify_one_not_enabled
KYOTO_CT_TEST(Notify, NotifiedThatWasNeverEnabledTakesAPermitStoredAfterItsCreation) {
  notify n;
  notified future = n.notified();
  n.notify_one();
  EXPECT_TRUE(co_await completes_at_once(&future));
}

// test_notify_one_after_enable
KYOTO_CT_TEST(Notify, EnabledNotifiedIsPickedByNotifyOneAndThenStaysComplete) {
  notify n;
  notified future = n.notified();
  EXPECT_FALSE(future.enable());

  n.notify_one();
  EXPECT_TRUE(co_await completes_at_once(&future));
  EXPECT_TRUE(future.enable());
  EXPECT_FALSE(take_permit(n));  // it went to the enabled notified, not to a permit
}

// test_poll_after_enable
KYOTO_CT_TEST(Notify, AwaitAfterEnableWaits) {
  notify n;
  notified future = n.notified();
  EXPECT_FALSE(future.enable());

  auto h = co_await spawn_waiting(await_borrowed(&future));  // pending

  co_await notify_one_wakes(n, h);
}

// test_enable_after_poll
KYOTO_CT_TEST(Notify, EnableWhileTheAwaitWaitsReturnsFalse) {
  notify n;
  notified future = n.notified();

  auto h = co_await spawn_waiting(await_borrowed(&future));
  EXPECT_FALSE(future.enable());

  co_await notify_one_wakes(n, h);
}

// test_enable_consumes_permit
TEST(Notify, EnableTakesTheStoredPermit) {
  notify n;
  n.notify_one();

  notified future1 = n.notified();
  EXPECT_TRUE(future1.enable());

  notified future2 = n.notified();
  EXPECT_FALSE(future2.enable());
}

// test_waker_update (the waker changes: the first await is cancelled, the
// notified is awaited again from another task, which is the one woken).
KYOTO_CT_TEST(Notify, NotifiedAwaitedAgainFromAnotherTaskAfterACancelledAwaitWakesThatTask) {
  notify n;
  notified future = n.notified();

  auto first = co_await spawn_waiting(await_borrowed(&future));
  first.abort();
  EXPECT_TRUE(co_await was_cancelled(first));

  auto second = co_await spawn_waiting(await_borrowed(&future));

  co_await notify_one_wakes(n, second);
}

// ==== ported from tokio's src/sync/tests/notify.rs ====

// notify_simple
KYOTO_CT_TEST(Notify, NotifyWaitersWakesEveryWaitingTask) {
  auto n = make_notify();
  auto h1 = kyoto::spawn(wait_notified(n));
  auto h2 = kyoto::spawn(wait_notified(n));
  co_await let_others_run();
  EXPECT_FALSE(h1.is_finished());
  EXPECT_FALSE(h2.is_finished());

  n->notify_waiters();
  EXPECT_TRUE(co_await finishes_soon(h1));
  EXPECT_TRUE(co_await finishes_soon(h2));
  EXPECT_FALSE(take_permit(*n));  // stores nothing
}

// ==== kyoto's contracts (tokio's documentation) ====

KYOTO_CT_TEST(Notify, NotifyOneWakesWaitersInTheOrderTheyStartedWaiting) {
  auto n = make_notify();
  std::vector<int> order;
  std::vector<kyoto::join_handle<void>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.push_back(kyoto::spawn(wait_and_record(n, &order, i)));
    co_await let_others_run();
  }
  for (int i = 0; i < 4; ++i) {
    n->notify_one();
    co_await let_others_run();
    EXPECT_EQ(order.size(), static_cast<std::size_t>(i) + 1);
  }
  for (auto& h : waiters)
    co_await h;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

KYOTO_CT_TEST(Notify, ManyNotifyOneCallsWithNobodyWaitingStoreASinglePermit) {
  auto n = make_notify();
  n->notify_one();
  n->notify_one();
  n->notify_one();

  co_await one_permit_completes_one_of_two_awaits(n);
}

TEST(Notify, NotifyWaitersWithNobodyWaitingStoresNoPermit) {
  notify n;
  n.notify_waiters();
  EXPECT_FALSE(take_permit(n));
}

KYOTO_CT_TEST(Notify, NotifiedCreatedBeforeNotifyWaitersCompletesEvenWhenFirstAwaitedAfter) {
  notify n;
  notified early = n.notified();
  n.notify_waiters();
  EXPECT_TRUE(co_await completes_at_once(&early));
  EXPECT_TRUE(early.enable());
}

TEST(Notify, NotifiedCreatedBeforeNotifyWaitersIsCompleteAtItsFirstEnable) {
  notify n;
  notified early = n.notified();
  n.notify_waiters();
  EXPECT_TRUE(early.enable());
}

TEST(Notify, NotifiedCreatedAfterNotifyWaitersIsNotCompletedByIt) {
  notify n;
  n.notify_waiters();
  notified late = n.notified();
  EXPECT_FALSE(late.enable());
}

KYOTO_CT_TEST(Notify, NotifyWaitersCompletesAnEnabledNotifiedThatNobodyAwaits) {
  notify n;
  notified enabled = n.notified();
  EXPECT_FALSE(enabled.enable());
  n.notify_waiters();
  EXPECT_TRUE(enabled.enable());
  EXPECT_TRUE(co_await completes_at_once(&enabled));
}

// kyoto takes no permit for a notified that notify_waiters() completes: the
// permit stays for the next waiter (tokio 1.24 lets such a notified take a
// stored permit first).
TEST(Notify, NotifiedCompletedByNotifyWaitersLeavesAStoredPermitAlone) {
  notify n;
  notified early = n.notified();
  n.notify_one();  // stored
  n.notify_waiters();
  EXPECT_TRUE(early.enable());
  EXPECT_TRUE(take_permit(n));
}

KYOTO_CT_TEST(Notify, CompletedNotifiedCompletesAgainAtOnce) {
  notify n;
  notified future = n.notified();
  n.notify_one();
  EXPECT_TRUE(co_await completes_at_once(&future));
  EXPECT_TRUE(co_await completes_at_once(&future));  // fused, as tokio's
  EXPECT_TRUE(future.enable());
  EXPECT_FALSE(take_permit(n));
}

// ---- cancel safety ----

KYOTO_CT_TEST(Notify, WaiterPickedByNotifyOneThenDestroyedWithNobodyElseWaitingStoresThePermit) {
  auto n = make_notify();
  auto h = co_await spawn_waiting(wait_notified(n));

  n->notify_one();
  h.abort();
  EXPECT_TRUE(co_await was_cancelled(h));  // on one thread, before it ran
  EXPECT_TRUE(take_permit(*n));
}

KYOTO_CT_TEST(Notify, WaiterWokenByNotifyWaitersThenDestroyedPassesNothingOn) {
  auto n = make_notify();
  auto h1 = kyoto::spawn(wait_notified(n));
  co_await let_others_run();
  n->notify_waiters();
  auto h2 = kyoto::spawn(wait_notified(n));  // created after the call
  h1.abort();
  co_await was_cancelled(h1);
  co_await let_others_run();
  EXPECT_FALSE(h2.is_finished());
  EXPECT_FALSE(take_permit(*n));

  co_await notify_one_wakes(*n, h2);
}

KYOTO_CT_TEST(Notify, EnabledNotifiedPickedByNotifyOneThenDestroyedPassesTheNotificationOn) {
  auto n = make_notify();
  auto enabled = std::make_unique<notified>(n->notified());
  EXPECT_FALSE(enabled->enable());  // first in the queue
  auto h = kyoto::spawn(wait_notified(n));
  co_await let_others_run();

  n->notify_one();  // picks `enabled`, which nobody awaits
  co_await let_others_run();
  EXPECT_FALSE(h.is_finished());

  enabled.reset();  // did not complete with it: passes it on
  EXPECT_TRUE(co_await finishes_soon(h));
  EXPECT_FALSE(take_permit(*n));
}

TEST(Notify, EnabledNotifiedPickedByNotifyOneThenDestroyedWithNobodyWaitingStoresThePermit) {
  notify n;
  {
    notified enabled = n.notified();
    EXPECT_FALSE(enabled.enable());
    n.notify_one();
  }
  EXPECT_TRUE(take_permit(n));
  EXPECT_FALSE(take_permit(n));
}

TEST(Notify, EnableThatReturnedTrueKeepsTheNotificationFromBeingPassedOn) {
  notify n;
  {
    notified enabled = n.notified();
    EXPECT_FALSE(enabled.enable());
    n.notify_one();
    EXPECT_TRUE(enabled.enable());  // observed: it is this one's
  }
  EXPECT_FALSE(take_permit(n));
}

TEST(Notify, DestroyedEnabledNotifiedLeavesTheQueue) {
  notify n;
  {
    notified enabled = n.notified();
    EXPECT_FALSE(enabled.enable());
  }
  n.notify_one();  // nobody waits: stored
  EXPECT_TRUE(take_permit(n));
}

KYOTO_CT_TEST(Notify, CancelledAwaitOfALiveNotifiedKeepsItsPlaceInTheQueue) {
  notify n;
  notified first = n.notified();
  auto h = kyoto::spawn(await_borrowed(&first));
  co_await let_others_run();  // `first` is queued by its await
  notified second = n.notified();
  EXPECT_FALSE(second.enable());

  h.abort();
  EXPECT_TRUE(co_await was_cancelled(h));

  n.notify_one();
  EXPECT_TRUE(first.enable());  // still first in line
  EXPECT_FALSE(second.enable());
}

KYOTO_CT_TEST(Notify, AwaitCancelledAfterItsNotifiedWasPickedLeavesTheNotificationWithIt) {
  notify n;
  notified future = n.notified();
  auto h = kyoto::spawn(await_borrowed(&future));
  co_await let_others_run();

  n.notify_one();  // wakes h
  h.abort();       // before it runs
  const bool cancelled = co_await was_cancelled(h);
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(take_permit(n));  // not passed on: `future` still has it
  EXPECT_TRUE(future.enable());
  EXPECT_TRUE(co_await completes_at_once(&future));
}

// Picked but not observed: an await cancelled after a notify_one() picked
// its notified hands the notified the notification; destroying that
// notified passes it on.
KYOTO_CT_TEST(Notify, NotifiedHoldingANotificationFromACancelledAwaitPassesItOnWhenDestroyed) {
  auto n = make_notify();
  auto future = std::make_unique<notified>(n->notified());
  auto h1 = kyoto::spawn(await_borrowed(future.get()));
  co_await let_others_run();
  auto h2 = kyoto::spawn(wait_notified(n));
  co_await let_others_run();

  n->notify_one();
  h1.abort();
  EXPECT_TRUE(co_await was_cancelled(h1));
  co_await let_others_run();
  EXPECT_FALSE(h2.is_finished());

  future.reset();
  EXPECT_TRUE(co_await finishes_soon(h2));
}

// ---- moves ----

TEST(Notify, MovingAnEnabledNotifiedKeepsItsPlaceInTheQueue) {
  notify n;
  notified first = n.notified();
  EXPECT_FALSE(first.enable());
  notified second = n.notified();
  EXPECT_FALSE(second.enable());

  notified moved = std::move(first);
  n.notify_one();
  EXPECT_TRUE(moved.enable());
  EXPECT_FALSE(second.enable());
}

TEST(Notify, MovingAPickedNotifiedMovesItsNotification) {
  notify n;
  {
    notified first = n.notified();
    EXPECT_FALSE(first.enable());
    n.notify_one();
    notified moved = std::move(first);
  }  // `moved` goes without completing: passes it on
  EXPECT_TRUE(take_permit(n));
}

// tokio's mpmc example: `future.set(notify.notified())` each round.
TEST(Notify, AssigningAFreshNotifiedOverAPickedOnePassesItsNotificationOn) {
  notify n;
  notified future = n.notified();
  EXPECT_FALSE(future.enable());
  notified other = n.notified();
  EXPECT_FALSE(other.enable());

  n.notify_one();  // picks `future`
  future = n.notified();
  EXPECT_TRUE(other.enable());    // it was passed on
  EXPECT_FALSE(future.enable());  // the fresh one queues
}

KYOTO_CT_TEST(Notify, EnabledNotifiedAwaitedAsAnRvalueKeepsItsPlace) {
  auto n = make_notify();
  notified first = n->notified();
  EXPECT_FALSE(first.enable());
  auto h = kyoto::spawn(wait_notified(n));
  co_await let_others_run();

  n->notify_one();  // picks `first`
  EXPECT_TRUE(co_await completes_at_once(&first, /*as_rvalue=*/true));
  co_await let_others_run();
  EXPECT_FALSE(h.is_finished());

  co_await notify_one_wakes(*n, h);
}

// ---- misuse ----

KYOTO_CT_TEST(Notify, AwaitingAMovedFromNotifiedThrowsLogicError) {
  notify n;
  notified future = n.notified();
  notified moved = std::move(future);
  std::string message;
  if (const auto e = co_await kyoto::test::expect_throws_async<std::logic_error>(
          // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
          [&]() -> auto& { return future; })) {
    message = e->what();
  }
  EXPECT_NE(message.find("kyoto::sync::notified"), std::string::npos) << message;
  EXPECT_NE(message.find("moved-from"), std::string::npos) << message;
}

TEST(Notify, EnablingAMovedFromNotifiedThrowsLogicErrorNamingEnable) {
  notify n;
  notified future = n.notified();
  notified moved = std::move(future);
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  kyoto::test::expect_throws<std::logic_error>([&] { (void)future.enable(); },
                                               "kyoto::sync::notified::enable");
}

KYOTO_CT_TEST(Notify, AwaitingOneNotifiedFromTwoCoroutinesAtOnceThrowsLogicError) {
  notify n;
  notified future = n.notified();
  std::string message;
  if (const auto e = co_await kyoto::test::expect_throws_async<std::logic_error>(
          [&] { return kyoto::join(future, future); })) {
    message = e->what();
  }
  EXPECT_NE(message.find("two coroutines"), std::string::npos) << message;
  // The first await was cancelled by the join; `future` keeps its place.
  n.notify_one();
  EXPECT_TRUE(future.enable());
}

// ---- the cooperative budget ----

/// Notifies itself and awaits, until stopped: every await finds the permit.
kyoto::task<long> notify_self_until(notify_ptr n, std::atomic<bool>* stop) {
  long rounds = 0;
  while (!stop->load()) {
    n->notify_one();
    co_await n->notified();
    ++rounds;
  }
  co_return rounds;
}

// Without the budget the hot task would never give the only thread back:
// the test body would not run again and the test would hang.
KYOTO_CT_TEST(Notify, AwaitsThatAlwaysFindThePermitStillYieldToOtherTasks) {
  auto n = make_notify();
  std::atomic<bool> stop{false};
  auto hot = kyoto::spawn(notify_self_until(n, &stop));
  co_await kyoto::yield_now();
  stop = true;
  EXPECT_GT(co_await hot, 0);
}

/// Notifies itself and awaits forever, counting rounds.
kyoto::task<> notify_self_forever(notify_ptr n, std::atomic<long>* rounds) {
  for (;;) {
    n->notify_one();
    co_await n->notified();
    rounds->fetch_add(1);
  }
}

// The hot task suspends only to yield for its budget, each time holding the
// permit its await just took; cancelled there, it gives the permit back.
KYOTO_CT_TEST(Notify, PermitTakenByAnAwaitThatYieldsForTheBudgetReturnsIfTheAwaitIsCancelled) {
  auto n = make_notify();
  std::atomic<long> rounds{0};
  auto hot = kyoto::spawn(notify_self_forever(n, &rounds));
  co_await kyoto::yield_now();  // the hot task runs until its budget is spent
  EXPECT_GT(rounds.load(), 0);
  EXPECT_FALSE(hot.is_finished());

  hot.abort();
  EXPECT_TRUE(co_await was_cancelled(hot));
  EXPECT_TRUE(take_permit(*n));
}

// ==== across threads: tokio's loom_notify.rs as repeated races, and stress ====

kyoto::runtime::builder two_workers() {
  return kyoto::runtime::builder::multi_thread().worker_threads(2);
}

/// One round of a loom-style race: spawns `first` and `second`, runs
/// `notify` on a plain thread meanwhile, and gives whether both tasks
/// finished within finishes_within's limit. If they did not, `release`
/// frees them; both are awaited before it returns.
template <class Notify, class Release>
kyoto::task<bool> both_finish(kyoto::task<> first, kyoto::task<> second, Notify notify,
                              Release release) {
  auto h1 = kyoto::spawn(std::move(first));
  auto h2 = kyoto::spawn(std::move(second));
  std::thread notifier(notify);
  bool finished = co_await finishes_within(h1);
  if (finished) finished = co_await finishes_within(h2);
  notifier.join();
  if (!finished) release();
  co_await h1;
  co_await h2;
  co_return finished;
}

// loom notify_one
KYOTO_TEST_WITH(Notify, NotifyOneFromAForeignThreadWakesATaskOnAWorker, two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    auto h = kyoto::spawn(wait_notified(n));
    std::thread notifier([n] { n->notify_one(); });
    const bool finished = co_await finishes_within(h);
    notifier.join();
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) {
      n->notify_waiters();  // release it
      co_await h;
      break;
    }
    co_await h;
  }
}

// loom notify_waiters
KYOTO_TEST_WITH(Notify, NotifyWaitersFromAForeignThreadCompletesNotifiedsCreatedBefore,
                two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    const bool finished = co_await both_finish(
        await_owned(n->notified()), await_owned(n->notified()), [n] { n->notify_waiters(); },
        [] {});
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) break;
  }
}

// loom notify_waiters_and_one
KYOTO_TEST_WITH(Notify, ConcurrentNotifyWaitersAndNotifyOneStillCompleteAWaiter, two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    std::thread all([n] { n->notify_waiters(); });
    std::thread one([n] { n->notify_one(); });
    auto h = kyoto::spawn(wait_notified(n));
    const bool finished = co_await finishes_within(h);
    all.join();
    one.join();
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) {
      n->notify_one();
      co_await h;
      break;
    }
    co_await h;
  }
}

/// Awaits, then notifies the next one (loom notify_multi's threads).
kyoto::task<> wait_then_pass_on(notify_ptr n) {
  co_await n->notified();
  n->notify_one();
}

// loom notify_multi
KYOTO_TEST_WITH(Notify, EachWokenWaiterNotifyingTheNextCompletesTheChain, two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    const bool finished = co_await both_finish(
        wait_then_pass_on(n), wait_then_pass_on(n), [n] { n->notify_one(); },
        [n] { n->notify_waiters(); });
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) break;
    EXPECT_TRUE(take_permit(*n)) << "round " << round;  // the last one's notify_one
  }
}

/// loom notify_drop's first thread: enables once, re-notifies if that
/// completed it, then drops the notified (which forwards a notification
/// it got afterwards).
kyoto::task<> enable_once_then_drop(notify_ptr n) {
  notified recv = n->notified();
  if (recv.enable()) n->notify_one();
  co_return;
}

/// loom notify_drop's second thread.
kyoto::task<> wait_notify_wait(notify_ptr n) {
  co_await n->notified();
  n->notify_one();
  co_await n->notified();
}

// loom notify_drop
KYOTO_TEST_WITH(Notify, DroppedNotifiedForwardsSoEveryWaiterCompletes, two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    const bool finished = co_await both_finish(
        enable_once_then_drop(n), wait_notify_wait(n), [n] { n->notify_one(); },
        [n] {
          n->notify_waiters();
          n->notify_waiters();
        });
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) break;
  }
}

/// Awaits one notification, then reads `*payload` (plain memory).
kyoto::task<int> wait_then_read(notify_ptr n, const int* payload) {
  co_await n->notified();
  co_return *payload;
}

/// Waits (with the watchdog) for `h`, joins `notifier`, and checks that
/// `h` read what the thread wrote (round + 1); on a timeout `release` (one
/// more notification) ends `h`. False on a timeout: the caller stops.
template <class Release>
kyoto::task<bool> reads_the_write(kyoto::join_handle<int>& h, std::thread& notifier, int round,
                                  Release release) {
  const bool finished = co_await finishes_within(h);
  if (notifier.joinable()) notifier.join();
  EXPECT_TRUE(finished) << "round " << round;
  if (!finished) release();
  EXPECT_EQ(co_await h, round + 1);
  co_return finished;
}

/// Awaits a notified created by the caller, then reads `*payload`.
kyoto::task<int> await_then_read(notified w, const int* payload) {
  co_await w;
  co_return *payload;
}

// What a thread writes before notify_one() is visible after the await that
// its notification completes, whether the await took the stored permit or
// was woken in the queue (ThreadSanitizer checks the happens-before).
KYOTO_TEST_WITH(Notify, NotifyOneFromAThreadPublishesItsWritesToTheAwaitItCompletes,
                two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    auto payload = std::make_unique<int>(0);
    int* p = payload.get();
    std::thread notifier([n, p, round] {
      *p = round + 1;
      n->notify_one();
    });
    if (round % 2 == 0) notifier.join();  // even rounds: the permit is stored first
    auto h = kyoto::spawn(wait_then_read(n, p));
    const bool finished = co_await reads_the_write(h, notifier, round, [&n] { n->notify_one(); });
    if (!finished) break;
  }
}

// The same for notify_waiters() and the notifieds created before it:
// completed in the queue, or at their first await by the moved counter.
KYOTO_TEST_WITH(Notify, NotifyWaitersFromAThreadPublishesItsWritesToTheNotifiedsItCompletes,
                two_workers()) {
  for (int round = 0; round < 200; ++round) {
    auto n = make_notify();
    auto payload = std::make_unique<int>(0);
    int* p = payload.get();
    notified early = n->notified();
    std::thread notifier([n, p, round] {
      *p = round + 1;
      n->notify_waiters();
    });
    if (round % 2 == 0) notifier.join();  // even rounds: awaited after the call
    auto h = kyoto::spawn(await_then_read(std::move(early), p));
    const bool finished =
        co_await reads_the_write(h, notifier, round, [&n] { n->notify_waiters(); });
    if (!finished) break;
  }
}

/// Enables a notified, counts itself registered, awaits it, counts itself
/// done.
kyoto::task<> enable_register_wait(notify_ptr n, std::atomic<int>* registered,
                                   std::atomic<int>* done) {
  notified waiter = n->notified();
  const bool ready = waiter.enable();
  EXPECT_FALSE(ready);  // nobody stores permits in these tests
  registered->fetch_add(1, std::memory_order_release);
  co_await waiter;
  done->fetch_add(1);
}

// N enabled waiters and N notify_one() calls from two foreign threads, each
// call made only once it has a registered waiter of its own: every waiter
// completes and no permit is left (no notification lost or duplicated).
KYOTO_TEST_WITH(Notify, StressNotifyOneFromTwoThreadsWakesEveryRegisteredWaiter, two_workers()) {
  constexpr int rounds = 20;
  constexpr int waiters = 64;
  for (int round = 0; round < rounds; ++round) {
    auto n = make_notify();
    std::atomic<int> registered{0};
    std::atomic<int> claimed{0};
    std::atomic<int> done{0};
    std::vector<kyoto::join_handle<void>> handles;
    for (int i = 0; i < waiters; ++i)
      handles.push_back(kyoto::spawn(enable_register_wait(n, &registered, &done)));
    auto notifier = [&] {
      for (;;) {
        int c = claimed.load();
        if (c == waiters) return;
        // Acquire: the waiter's enable() happened before, so the call
        // below finds it queued.
        if (c < registered.load(std::memory_order_acquire)) {
          if (claimed.compare_exchange_weak(c, c + 1)) n->notify_one();
        } else {
          std::this_thread::yield();
        }
      }
    };
    std::thread t1(notifier);
    std::thread t2(notifier);
    const bool finished = co_await all_finish_within(handles);
    t1.join();
    t2.join();
    EXPECT_TRUE(finished) << "round " << round << ": " << done.load() << " of " << waiters;
    if (!finished) n->notify_waiters();  // release the stuck ones
    for (auto& h : handles)
      co_await h;
    EXPECT_EQ(done.load(), waiters);
    EXPECT_FALSE(take_permit(*n)) << "round " << round;
    if (!finished) break;
  }
}

/// Counts itself registered (a notified enabled), then awaits it.
kyoto::task<> enable_and_wait(notify_ptr n, std::atomic<int>* registered) {
  notified waiter = n->notified();
  (void)waiter.enable();
  registered->fetch_add(1, std::memory_order_release);
  co_await waiter;
}

// notify_one() races the cancellation of the first of two waiters, in three
// interleavings by turns: the test body notifies right before it aborts (the
// target is woken, then cancelled before it runs); a foreign thread notifies
// just before the abort; or it notifies concurrently with it, after a
// varying spin. Whichever way each round goes, exactly one of the two
// waiters gets the notification, the other still waits, and no permit
// appears.
KYOTO_TEST_WITH(Notify, StressNotifyOneRacingTheCancellationOfItsTargetLosesNothing,
                two_workers()) {
  constexpr int rounds = 600;
  std::atomic<int> ready{-1};   // the round the notifier is spinning for
  std::atomic<int> go{-1};      // the round the notifier may notify in
  std::atomic<int> served{-1};  // the last round it notified in
  notify_ptr target;            // written before `go`, read after it
  std::thread notifier([&] {
    for (int round = 0; round < rounds; ++round) {
      ready.store(round);
      // Acquire: pairs with the release store of `go`; `target` is set.
      // Spins hot (the abort follows the release at once), giving the core
      // back only if the body is slow.
      for (int spin = 0; go.load(std::memory_order_acquire) < round; ++spin) {
        if (spin < 100'000) {
          kyoto::detail::spin_pause();
        } else {
          std::this_thread::yield();
        }
      }
      for (int spin = 0; spin < (round % 128) * 4; ++spin)
        kyoto::detail::spin_pause();
      if (round % 3 != 0) target->notify_one();  // rounds % 3 == 0: the body notifies
      served.store(round, std::memory_order_release);
    }
  });
  int cancelled_rounds = 0;
  int failures = 0;
  for (int round = 0; round < rounds; ++round) {
    auto n = make_notify();
    std::atomic<int> registered{0};
    auto a = kyoto::spawn(enable_and_wait(n, &registered));
    while (registered.load(std::memory_order_acquire) < 1)
      co_await kyoto::yield_now();
    auto b = kyoto::spawn(enable_and_wait(n, &registered));
    while (registered.load(std::memory_order_acquire) < 2)
      co_await kyoto::yield_now();
    while (ready.load() < round)
      co_await kyoto::yield_now();

    target = n;
    go.store(round, std::memory_order_release);  // publishes `target`
    switch (round % 3) {
      case 0:
        n->notify_one();
        break;
      case 1:
        // Acquire: waits (hot, briefly) for the notifier's call.
        while (served.load(std::memory_order_acquire) < round)
          kyoto::detail::spin_pause();
        break;
      default:
        break;  // concurrent
    }
    a.abort();
    const bool a_cancelled = co_await was_cancelled(a);
    // Acquire: the notifier is done with this round's `target`.
    while (served.load(std::memory_order_acquire) < round)
      co_await kyoto::yield_now();
    if (a_cancelled) {
      ++cancelled_rounds;
    } else {
      n->notify_one();  // `a` took the notification: `b` needs its own
    }
    const bool b_finished = co_await finishes_within(b);
    if (!b_finished) {
      ADD_FAILURE() << "round " << round << ": the notification was lost";
      n->notify_waiters();
      ++failures;
    }
    co_await b;
    if (take_permit(*n)) {
      ADD_FAILURE() << "round " << round << ": a notification was doubled";
      ++failures;
    }
    if (failures > 3) {
      target = make_notify();                       // a spare for its last rounds
      go.store(rounds, std::memory_order_release);  // let the notifier run out
      break;
    }
  }
  notifier.join();
  EXPECT_GT(cancelled_rounds, 0);
}

/// Creates a notified, counts it, awaits it.
kyoto::task<> create_then_wait(notify_ptr n, std::atomic<int>* created) {
  notified waiter = n->notified();
  created->fetch_add(1, std::memory_order_release);
  co_await waiter;
}

// notify_waiters() from a foreign thread, once every waiter has created its
// notified, completes them all however far each got (created, enabled,
// suspended); some waiters are cancelled meanwhile, which passes nothing on.
KYOTO_TEST_WITH(Notify, StressNotifyWaitersFromAThreadCompletesEveryNotifiedCreatedBefore,
                two_workers()) {
  constexpr int rounds = 30;
  constexpr int waiters = 32;
  for (int round = 0; round < rounds; ++round) {
    auto n = make_notify();
    std::atomic<int> created{0};
    std::vector<kyoto::join_handle<void>> handles;
    for (int i = 0; i < waiters; ++i)
      handles.push_back(kyoto::spawn(create_then_wait(n, &created)));
    std::thread notifier([n, &created] {
      // Acquire: each notified's creation happened before the call.
      while (created.load(std::memory_order_acquire) < waiters)
        std::this_thread::yield();
      n->notify_waiters();
    });
    while (created.load(std::memory_order_acquire) < waiters)
      co_await kyoto::yield_now();
    for (int i = 0; i < waiters; i += 4)  // racing the notify_waiters()
      handles[static_cast<std::size_t>(i)].abort();
    const bool finished = co_await all_finish_within(handles);
    notifier.join();
    EXPECT_TRUE(finished) << "round " << round;
    if (!finished) n->notify_waiters();
    for (std::size_t i = 0; i < handles.size(); ++i) {
      if (i % 4 == 0) {
        co_await was_cancelled(handles[i]);
      } else {
        co_await handles[i];
      }
    }
    EXPECT_FALSE(take_permit(*n)) << "round " << round;
    if (!finished) break;
  }
}

}  // namespace
