// kyoto::sync::mpsc, ported from tokio 1.24 tests/sync_mpsc.rs, plus the
// kyoto-specific contracts (values handed back, cancellation, blocking
// calls across threads, destruction of undelivered values).
//
// tokio_test's mock polling (task::spawn + assert_pending!/is_woken) is
// ported with real tasks: a task still unfinished after the others have run
// a few times over (let_others_run) is waiting; a woken one finishes within
// a bounded number of yields (finishes_soon), so a broken wake fails the
// test instead of hanging it.
//
// Every test of tokio's file is ported (its reserve()-based tests also have
// a send()-based kyoto twin, which says so), except:
// send_recv_stream_with_buffer: needs a Stream adapter over the receiver (poll_recv; not in kyoto)
// send_recv_stream_unbounded: needs a Stream adapter over the receiver (poll_recv; not in kyoto)
// The is_debug() checks of no_t_bounds_*: Rust's Debug trait has no C++ counterpart.
// tests/sync/mpsc_weak_test.cpp ports sync_mpsc_weak.rs; tests/stress/
// cross_thread_test.cpp races permits, weak upgrades and closed() across
// threads.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// These conformance tests check "not finished yet" by letting the other
// tasks run for a few yields: they run on a current_thread runtime
// (support/ct_test.hpp). tests/stress/ tests the channels across threads.

namespace {

using kyoto::test::finishes_soon;
using kyoto::test::let_others_run;
using kyoto::test::spawn_waiting;

namespace mpsc = kyoto::sync::mpsc;
using kyoto::test::drop_counter;

// tokio's `trait AssertSend` impls, and the handles' ownership model: a
// sender is copied (tokio's clone), a receiver only moved.
static_assert(std::is_copy_constructible_v<mpsc::sender<int>>);
static_assert(std::is_nothrow_move_constructible_v<mpsc::sender<int>>);
static_assert(std::is_copy_constructible_v<mpsc::unbounded_sender<int>>);
static_assert(!std::is_copy_constructible_v<mpsc::receiver<int>>);
static_assert(std::is_nothrow_move_constructible_v<mpsc::receiver<int>>);

// ---- helpers ----

/// Sends `value`; whether it was sent.
template <class T>
kyoto::task<bool> send_one(mpsc::sender<T> tx, T value) {
  auto r = co_await tx.send(std::move(value));
  co_return r.has_value();
}

/// Sends `value`; the result as it is.
template <class T>
kyoto::task<kyoto::result<void, mpsc::send_error<T>>> send_result(mpsc::sender<T> tx, T value) {
  co_return co_await tx.send(std::move(value));
}

/// Receives 1, then 2, then the end of the channel (bounded or unbounded).
template <class Receiver>
kyoto::task<> expect_1_2_then_the_end(Receiver& rx) {
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  const auto end = co_await rx.recv();  // (GCC 12 rejects `(co_await ...).` in a template)
  EXPECT_FALSE(end.has_value());
}

/// Spawns `sending` (it sends 1 and 2, then drops its sender) and
/// receives 1, 2 and the end from `rx`.
template <class Receiver>
kyoto::task<> receive_1_2_from_a_task(kyoto::task<> sending, Receiver& rx) {
  auto h = kyoto::spawn(std::move(sending));
  co_await expect_1_2_then_the_end(rx);
  co_await h;
}

/// Aborts `h` and waits for it; whether it ended cancelled.
template <class T>
kyoto::task<bool> abort_and_wait(kyoto::join_handle<T>& h) {
  h.abort();
  co_return co_await kyoto::test::ended_cancelled(h);
}

/// One recv() on a receiver the caller keeps.
template <class T>
kyoto::task<std::optional<T>> recv_one(mpsc::receiver<T>* rx) {
  co_return co_await rx->recv();
}

// tokio's assert_eq!(rx.try_recv(), Ok(v)) / Err(TryRecvError::Empty) /
// Err(TryRecvError::Disconnected).
template <class T, class U>
testing::AssertionResult received(const kyoto::result<T, mpsc::try_recv_error>& r,
                                  const U& expected) {
  if (!r.has_value()) return testing::AssertionFailure() << "try_recv failed: " << r.error().what();
  if (!(*r == expected)) return testing::AssertionFailure() << "try_recv gave " << *r;
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult is_empty(const kyoto::result<T, mpsc::try_recv_error>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_recv gave a value";
  if (!r.error().is_empty()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult is_disconnected(const kyoto::result<T, mpsc::try_recv_error>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_recv gave a value";
  if (!r.error().is_disconnected()) {
    return testing::AssertionFailure() << "error: " << r.error().what();
  }
  return testing::AssertionSuccess();
}

// A failed try_send: TrySendError::Full / TrySendError::Closed.
template <class T>
testing::AssertionResult failed_full(const kyoto::result<void, mpsc::try_send_error<T>>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_send succeeded";
  if (!r.error().is_full()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

template <class T>
testing::AssertionResult failed_closed(const kyoto::result<void, mpsc::try_send_error<T>>& r) {
  if (r.has_value()) return testing::AssertionFailure() << "try_send succeeded";
  if (!r.error().is_closed()) return testing::AssertionFailure() << "error: " << r.error().what();
  return testing::AssertionSuccess();
}

/// Counts the moves of `fragile` values and makes a chosen one throw: a
/// value whose move can fail (as one that allocates, or like any push that
/// needs a new buffer block and meets bad_alloc).
struct move_budget {
  int moves = 0;
  int fail_at = -1;
  void fail_next_move() noexcept { fail_at = moves; }
  void on_move() {
    if (moves == fail_at) {
      fail_at = -1;
      throw std::runtime_error("fragile: move failed");
    }
    ++moves;
  }
};

class fragile {
 public:
  fragile(int value, move_budget* budget) noexcept : value_(value), budget_(budget) {}
  // NOLINTNEXTLINE(performance-noexcept-move-constructor): it throws on purpose
  fragile(fragile&& o) : value_(o.value_), budget_(o.budget_) { budget_->on_move(); }
  fragile& operator=(fragile&&) = delete;
  int value() const noexcept { return value_; }
  friend bool operator==(const fragile& a, int b) noexcept { return a.value_ == b; }
  friend std::ostream& operator<<(std::ostream& os, const fragile& f) { return os << f.value_; }

 private:
  int value_;
  move_budget* budget_;
};

/// Whether `probe(handles)`, an operation that takes the channel's lock,
/// returns on another thread within 5 s. A watchdog, not synchronisation:
/// the passing path returns as soon as the probe does. A lock left held
/// would block the probe (and the handles' destructors) forever, so on
/// timeout the handles are abandoned, reachable from a static, and the
/// thread detached: the test fails instead of hanging.
template <class Handles, class Probe>
bool channel_lock_is_free(std::unique_ptr<Handles>& handles, Probe probe) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  Handles* h = handles.get();
  std::thread t([h, probe, done = std::move(done)]() mutable {
    probe(*h);
    done.set_value();
  });
  if (finished.wait_for(std::chrono::seconds(5)) == std::future_status::ready) {
    t.join();
    return true;
  }
  t.detach();
  static auto* abandoned = new std::vector<Handles*>;
  abandoned->push_back(handles.release());
  return false;
}

/// A value holding a sender of its own channel (a channel of requests that
/// carry their reply sender, looped back). Its destructor uses the channel.
class carries_sender {
 public:
  carries_sender(mpsc::sender<carries_sender> tx, std::atomic<int>* closed_seen)
      : tx_(std::move(tx)), closed_seen_(closed_seen) {}
  carries_sender(carries_sender&& o) noexcept
      : tx_(std::move(o.tx_)), closed_seen_(std::exchange(o.closed_seen_, nullptr)) {}
  carries_sender& operator=(carries_sender&&) = delete;
  ~carries_sender() {
    if (closed_seen_ != nullptr && tx_.is_closed()) closed_seen_->fetch_add(1);
  }

 private:
  mpsc::sender<carries_sender> tx_;
  std::atomic<int>* closed_seen_;
};

/// A type with none of the optional capabilities: not copyable, not
/// default-constructible, not comparable, not printable; only movable.
class no_impls {
 public:
  explicit no_impls(int) {}
  no_impls(no_impls&&) = default;
  no_impls& operator=(no_impls&&) = default;
  no_impls(const no_impls&) = delete;
  no_impls& operator=(const no_impls&) = delete;
};

/// tokio's dropping_rx_closes_channel setup: a channel (capacity 100)
/// buffers `msg`, then its receiver is dropped. Gives the sender.
mpsc::sender<std::shared_ptr<int>> sender_of_a_dropped_receiver(const std::shared_ptr<int>& msg) {
  auto channel = mpsc::channel<std::shared_ptr<int>>(100);
  channel.first.try_send(msg).expect("try_send");
  EXPECT_EQ(msg.use_count(), 2);
  {
    auto dropped = std::move(channel.second);
  }
  return std::move(channel.first);
}

// ==== ported from tokio's sync_mpsc.rs ====

// The send() twin of tokio's send_recv_with_buffer (ported below as
// AReservedPermitsSendAndATrySendAreReceivedInOrderThenNullopt).
KYOTO_CT_TEST(Mpsc, SendAndTrySendAreReceivedInOrderThenNulloptAfterTheSenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(16);

  (co_await tx.send(1)).expect("send 1");
  tx.try_send(2).expect("try_send 2");

  {
    auto dropped = std::move(tx);
  }

  co_await expect_1_2_then_the_end(rx);
}

kyoto::task<> send_1_2(mpsc::sender<int> tx) {
  (co_await tx.send(1)).expect("send 1");
  (co_await tx.send(2)).expect("send 2");
}

// async_send_recv_with_buffer
KYOTO_CT_TEST(Mpsc, ValuesSentFromASpawnedTaskAreReceivedInOrder) {
  auto [tx, rx] = mpsc::channel<int>(16);

  co_await receive_1_2_from_a_task(send_1_2(std::move(tx)), rx);
}

// The send() twin of tokio's start_send_past_cap (ported below as
// AbortedWaitingReserveDoesNotTakeTheSlotARecvFrees): the first of two
// waiting sends is aborted before a slot frees.
KYOTO_CT_TEST(Mpsc, AbortedWaitingSendDoesNotTakeTheSlotARecvFrees) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  tx1.try_send(0).expect("try_send");

  auto r1 = co_await spawn_waiting(send_one<int>(tx1, 1));
  auto r2 = co_await spawn_waiting(send_one<int>(tx2, 2));

  EXPECT_TRUE(co_await abort_and_wait(r1));

  EXPECT_EQ(co_await rx.recv(), 0);  // frees the slot: it goes to r2

  KYOTO_ASSERT_TRUE(co_await finishes_soon(r2));
  EXPECT_TRUE(co_await r2);

  {
    auto dropped = std::move(tx1);
  }
  {
    auto dropped = std::move(tx2);
  }

  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());  // nothing from r1
}

// buffer_gteq_one
TEST(Mpsc, ChannelWithZeroCapacityThrowsInvalidArgumentNamingTheCapacity) {
  kyoto::test::expect_throws<std::invalid_argument>([&] { auto ch = mpsc::channel<int>(0); },
                                                    "capacity");
}

// send_recv_unbounded
KYOTO_CT_TEST(Mpsc, UnboundedSendsAreReceivedInOrderThenNulloptAfterTheSenderIsDropped) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();

  EXPECT_TRUE(tx.send(1).has_value());
  EXPECT_TRUE(tx.send(2).has_value());

  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);

  {
    auto dropped = std::move(tx);
  }

  EXPECT_FALSE((co_await rx.recv()).has_value());
}

kyoto::task<> send_1_2_unbounded(mpsc::unbounded_sender<int> tx) {
  tx.send(1).expect("send 1");
  tx.send(2).expect("send 2");
  co_return;
}

// async_send_recv_unbounded
KYOTO_CT_TEST(Mpsc, UnboundedValuesSentFromASpawnedTaskAreReceivedInOrder) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();

  co_await receive_1_2_from_a_task(send_1_2_unbounded(std::move(tx)), rx);
}

// no_t_bounds_buffer
KYOTO_CT_TEST(Mpsc, BoundedChannelNeedsOnlyAMovableValueType) {
  auto [tx, rx] = mpsc::channel<no_impls>(100);

  // A sender copies even though the value type does not.
  mpsc::sender<no_impls> copy = tx;
  EXPECT_TRUE(copy.try_send(no_impls(0)).has_value());

  EXPECT_TRUE((co_await rx.recv()).has_value());
}

// no_t_bounds_unbounded
KYOTO_CT_TEST(Mpsc, UnboundedChannelNeedsOnlyAMovableValueType) {
  auto [tx, rx] = mpsc::unbounded_channel<no_impls>();

  mpsc::unbounded_sender<no_impls> copy = tx;
  EXPECT_TRUE(copy.send(no_impls(0)).has_value());

  EXPECT_TRUE((co_await rx.recv()).has_value());
}

// The send() twin of tokio's send_recv_buffer_limited (ported below as
// ReserveOnAFullChannelWaitsAndTakesTheSlotTheNextRecvFrees).
KYOTO_CT_TEST(Mpsc, SendOnAFullChannelWaitsAndTakesTheSlotTheNextRecvFrees) {
  auto [tx, rx] = mpsc::channel<int>(1);

  (co_await tx.send(1)).expect("send 1");

  auto p2 = co_await spawn_waiting(send_one<int>(tx, 2));  // not ready

  EXPECT_EQ(co_await rx.recv(), 1);

  // The freed slot belongs to the waiting send: trying to send fails.
  auto r = tx.try_send(1337);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_full());
  EXPECT_EQ(r.error().value, 1337);

  KYOTO_ASSERT_TRUE(co_await finishes_soon(p2));
  EXPECT_TRUE(co_await p2);

  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// recv_close_gets_none_idle
KYOTO_CT_TEST(Mpsc, RecvAfterCloseGivesNulloptAndSendFails) {
  auto [tx, rx] = mpsc::channel<int>(10);

  rx.close();

  EXPECT_FALSE((co_await rx.recv()).has_value());

  auto r = co_await tx.send(1);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, 1);
}

// The send() twin of tokio's recv_close_gets_none_reserved (ported below
// as APermitTakenBeforeCloseStillDeliversAndAWaitingReserveFails): the
// close fails a waiting send, and the buffered value is still received.
KYOTO_CT_TEST(Mpsc, CloseFailsAWaitingSendAndKeepsBufferedValuesReceivable) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  (co_await tx1.send(123)).expect("send 123");

  auto permit2 = co_await spawn_waiting(send_result<int>(tx2, 456));

  rx.close();

  KYOTO_ASSERT_TRUE(co_await finishes_soon(permit2));
  auto r = co_await permit2;
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, 456);

  EXPECT_EQ(co_await rx.recv(), 123);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

/// tokio's try_send_fail setup: a channel of one slot holds "hello", so a
/// try_send of "fail" fails with is_full (not is_closed).
std::pair<mpsc::sender<std::string>, mpsc::receiver<std::string>> full_of_hello() {
  auto channel = mpsc::channel<std::string>(1);
  channel.first.try_send("hello").expect("try_send hello");
  auto r = channel.first.try_send("fail");
  EXPECT_TRUE(failed_full(r));
  if (!r.has_value()) {
    EXPECT_FALSE(r.error().is_closed());
  }
  return channel;
}

/// Sends "goodbye" (there is room again), then drops the sender.
void send_goodbye_and_drop(mpsc::sender<std::string>& tx) {
  EXPECT_TRUE(tx.try_send("goodbye").has_value());
  auto dropped = std::move(tx);
}

// tx_close_gets_none
KYOTO_CT_TEST(Mpsc, RecvGivesNulloptWhenTheOnlySenderIsDroppedUnused) {
  auto [tx, rx] = mpsc::channel<int>(10);
  {
    auto dropped = std::move(tx);
  }
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// try_send_fail
KYOTO_CT_TEST(Mpsc, TrySendOnAFullChannelFailsWithIsFull) {
  auto [tx, rx] = full_of_hello();

  EXPECT_EQ(co_await rx.recv(), "hello");

  send_goodbye_and_drop(tx);

  EXPECT_EQ(co_await rx.recv(), "goodbye");
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// try_send_fail_with_try_recv
TEST(Mpsc, TrySendOnAFullChannelFailsAndTryRecvDrainsIt) {
  auto [tx, rx] = full_of_hello();

  EXPECT_TRUE(received(rx.try_recv(), "hello"));

  send_goodbye_and_drop(tx);

  EXPECT_TRUE(received(rx.try_recv(), "goodbye"));
  EXPECT_TRUE(is_disconnected(rx.try_recv()));
}

// The send() twin of tokio's dropping_rx_closes_channel (ported below as
// DroppingTheReceiverFailsReserveAndDestroysBufferedValues).
KYOTO_CT_TEST(Mpsc, DroppingTheReceiverFailsSendAndDestroysBufferedValues) {
  auto msg = std::make_shared<int>(7);
  auto tx = sender_of_a_dropped_receiver(msg);
  EXPECT_EQ(msg.use_count(), 1);  // the buffered copy is gone

  auto r = co_await tx.send(msg);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, msg);  // handed back, not kept
  EXPECT_EQ(msg.use_count(), 2);
}

// dropping_rx_closes_channel_for_try, its try_send() check (the others are
// DroppingTheReceiverFailsTryReserveAndTryReserveOwnedWithIsClosed).
TEST(Mpsc, DroppingTheReceiverFailsTrySendWithIsClosed) {
  auto msg = std::make_shared<int>(7);
  auto tx = sender_of_a_dropped_receiver(msg);

  {
    auto r = tx.try_send(msg);
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is_closed());
    EXPECT_FALSE(r.error().is_full());
    EXPECT_EQ(r.error().value, msg);  // handed back
  }
  EXPECT_EQ(msg.use_count(), 1);  // the buffered copy is gone
}

// unconsumed_messages_are_dropped
TEST(Mpsc, UnconsumedValuesAreDestroyedWithTheChannel) {
  auto msg = std::make_shared<int>(7);
  {
    auto [tx, rx] = mpsc::channel<std::shared_ptr<int>>(100);
    tx.try_send(msg).expect("try_send");
    EXPECT_EQ(msg.use_count(), 2);
  }
  EXPECT_EQ(msg.use_count(), 1);
}

kyoto::task<> send_and_drop(mpsc::sender<int> tx, int value) {
  auto r = co_await tx.send(value);  // tokio: let _ = tx.send(10).await;
  (void)r;
}

// blocking_recv
TEST(Mpsc, BlockingRecvOnAThreadGetsWhatARuntimeTaskSends) {
  auto [tx, rx] = mpsc::channel<int>(1);

  std::optional<int> got;
  std::thread sync_code(
      [receiver = std::move(rx), &got]() mutable { got = receiver.blocking_recv(); });

  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  rt.block_on(send_and_drop(std::move(tx), 10));
  sync_code.join();
  EXPECT_EQ(got, 10);
}

// blocking_recv_async (tokio panics; kyoto throws std::logic_error).
KYOTO_CT_TEST(Mpsc, BlockingRecvInsideARuntimeTaskThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(1).expect("try_send");  // even a value ready to take is refused
  kyoto::test::expect_throws<std::logic_error>([&] { (void)rx.blocking_recv(); }, "blocking_recv");
  EXPECT_TRUE(received(rx.try_recv(), 1));  // and it took nothing
  co_return;
}

// blocking_send
TEST(Mpsc, BlockingSendOnAThreadIsReceivedByARuntimeTask) {
  auto [tx, rx] = mpsc::channel<int>(1);

  bool sent = false;
  std::thread sync_code(
      [sender = std::move(tx), &sent]() mutable { sent = sender.blocking_send(10).has_value(); });

  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  EXPECT_EQ(rt.block_on(recv_one<int>(&rx)), 10);
  sync_code.join();
  EXPECT_TRUE(sent);
}

// blocking_send_async (tokio panics; kyoto throws std::logic_error).
KYOTO_CT_TEST(Mpsc, BlockingSendInsideARuntimeTaskThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  try {
    (void)tx.blocking_send(1);  // there is room: it would not even block
    ADD_FAILURE() << "blocking_send returned on a runtime thread";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("blocking_send"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(is_empty(rx.try_recv()));  // and it sent nothing
  co_return;
}

// try_recv_bounded
TEST(Mpsc, TryRecvOnABoundedChannelTakesValuesInOrderThenReportsEmptyThenDisconnected) {
  auto [tx, rx] = mpsc::channel<std::string>(5);

  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(tx.try_send("hello").has_value()) << i;
  EXPECT_FALSE(tx.try_send("hello").has_value());

  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(received(rx.try_recv(), "hello")) << i;
  EXPECT_TRUE(is_empty(rx.try_recv()));

  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(tx.try_send("hello").has_value()) << i;
  EXPECT_TRUE(received(rx.try_recv(), "hello"));
  EXPECT_TRUE(tx.try_send("hello").has_value());
  EXPECT_TRUE(tx.try_send("hello").has_value());
  EXPECT_FALSE(tx.try_send("hello").has_value());
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(received(rx.try_recv(), "hello")) << i;
  EXPECT_TRUE(is_empty(rx.try_recv()));

  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(tx.try_send("hello").has_value()) << i;
  {
    auto dropped = std::move(tx);
  }
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(received(rx.try_recv(), "hello")) << i;
  EXPECT_TRUE(is_disconnected(rx.try_recv()));
}

// try_recv_unbounded
TEST(Mpsc, TryRecvOnAnUnboundedChannelTakesValuesInOrderThenReportsEmptyThenDisconnected) {
  for (int num = 0; num < 100; ++num) {
    auto [tx, rx] = mpsc::unbounded_channel<int>();

    for (int i = 0; i < num; ++i)
      EXPECT_TRUE(tx.send(i).has_value());
    for (int i = 0; i < num; ++i)
      EXPECT_TRUE(received(rx.try_recv(), i)) << num << ' ' << i;

    EXPECT_TRUE(is_empty(rx.try_recv())) << num;
    {
      auto dropped = std::move(tx);
    }
    EXPECT_TRUE(is_disconnected(rx.try_recv())) << num;
  }
}

// try_recv_close_while_empty_bounded
TEST(Mpsc, TryRecvOnAnEmptyBoundedChannelIsEmptyThenDisconnectedOnceTheSenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(5);

  EXPECT_TRUE(is_empty(rx.try_recv()));
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(is_disconnected(rx.try_recv()));
}

// try_recv_close_while_empty_unbounded
TEST(Mpsc, TryRecvOnAnEmptyUnboundedChannelIsEmptyThenDisconnectedOnceTheSenderIsDropped) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();

  EXPECT_TRUE(is_empty(rx.try_recv()));
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(is_disconnected(rx.try_recv()));
}

// ---- reserve() and permits (tokio's Permit) ----

/// Reserves a slot with a sender the caller keeps alive (a permit borrows
/// its channel, as tokio's Permit<'_> borrows its Sender).
kyoto::task<kyoto::result<mpsc::permit<int>, mpsc::send_error<>>> reserve_one(
    mpsc::sender<int>* tx) {
  co_return co_await tx->reserve();
}

// send_recv_with_buffer
KYOTO_CT_TEST(Mpsc, AReservedPermitsSendAndATrySendAreReceivedInOrderThenNullopt) {
  auto [tx, rx] = mpsc::channel<int>(16);

  auto permit = co_await tx.reserve();
  KYOTO_ASSERT_TRUE(permit.has_value());
  permit->send(1);

  tx.try_send(2).expect("try_send 2");

  {
    auto dropped = std::move(tx);
  }

  co_await expect_1_2_then_the_end(rx);
}

// reserve_disarm
KYOTO_CT_TEST(Mpsc, UsingOrDroppingAPermitGivesItsSlotToTheWaitingReservesInOrder) {
  auto [tx, rx] = mpsc::channel<int>(2);
  mpsc::sender<int> tx1 = tx;
  mpsc::sender<int> tx2 = tx;
  mpsc::sender<int> tx3 = tx;
  mpsc::sender<int> tx4 = std::move(tx);

  // Two handles reserve without waiting.
  auto permit1 = co_await tx1.reserve();
  KYOTO_ASSERT_TRUE(permit1.has_value());
  auto permit2 = co_await tx2.reserve();
  KYOTO_ASSERT_TRUE(permit2.has_value());

  // A third and a fourth wait.
  auto r3 = co_await spawn_waiting(reserve_one(&tx3));
  auto r4 = kyoto::spawn(reserve_one(&tx4));
  co_await let_others_run();
  EXPECT_FALSE(r4.is_finished());

  // Using a permit fills its slot: nobody is woken until a receive frees it.
  permit1->send(1);
  co_await let_others_run();
  EXPECT_FALSE(r3.is_finished());
  EXPECT_EQ(co_await rx.recv(), 1);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(r3));  // the freed slot went to r3...
  co_await let_others_run();
  EXPECT_FALSE(r4.is_finished());  // ...not to r4

  // Dropping a permit frees its slot too.
  {
    auto dropped = std::move(*permit2);
  }
  KYOTO_ASSERT_TRUE(co_await finishes_soon(r4));

  auto r1 = co_await spawn_waiting(reserve_one(&tx1));  // r3 and r4 hold both slots

  EXPECT_TRUE(co_await abort_and_wait(r1));
  EXPECT_TRUE((co_await r3).has_value());
  EXPECT_TRUE((co_await r4).has_value());
}

// start_send_past_cap (the reserve future dropped after one poll is a
// waiting reserve aborted).
KYOTO_CT_TEST(Mpsc, AbortedWaitingReserveDoesNotTakeTheSlotARecvFrees) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  tx1.try_send(0).expect("try_send");

  auto r1 = co_await spawn_waiting(reserve_one(&tx1));
  {
    auto r2 = co_await spawn_waiting(reserve_one(&tx2));

    EXPECT_TRUE(co_await abort_and_wait(r1));

    EXPECT_TRUE((co_await rx.recv()).has_value());

    KYOTO_ASSERT_TRUE(co_await finishes_soon(r2));  // r2 is woken, not r1
    auto permit = co_await r2;
    EXPECT_TRUE(permit.has_value());
  }  // r2's permit is dropped unused

  {
    auto dropped = std::move(tx1);
  }
  {
    auto dropped = std::move(tx2);
  }

  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// send_recv_buffer_limited
KYOTO_CT_TEST(Mpsc, ReserveOnAFullChannelWaitsAndTakesTheSlotTheNextRecvFrees) {
  auto [tx, rx] = mpsc::channel<int>(1);

  auto p1 = co_await tx.reserve();
  KYOTO_ASSERT_TRUE(p1.has_value());
  p1->send(1);

  auto p2 = co_await spawn_waiting(reserve_one(&tx));  // not ready

  EXPECT_TRUE((co_await rx.recv()).has_value());  // take the value

  // The freed slot belongs to the waiting reserve: trying to send fails.
  EXPECT_TRUE(failed_full(tx.try_send(1337)));

  KYOTO_ASSERT_TRUE(co_await finishes_soon(p2));
  auto permit = co_await p2;
  KYOTO_ASSERT_TRUE(permit.has_value());
  permit->send(2);

  EXPECT_EQ(co_await rx.recv(), 2);
}

using reserve_result = kyoto::result<mpsc::permit<int>, mpsc::send_error<>>;

/// tx1 reserves the only slot of its channel, then a reserve() on tx2 is
/// spawned and waits for it. Gives tx1's reserve result (the caller asserts
/// it holds the permit) and the waiting task.
kyoto::task<std::pair<reserve_result, kyoto::join_handle<reserve_result>>>
hold_the_slot_and_queue_a_reserve(mpsc::sender<int>& tx1, mpsc::sender<int>& tx2) {
  auto held = co_await tx1.reserve();
  auto waiting = co_await spawn_waiting(reserve_one(&tx2));
  co_return std::pair{std::move(held), std::move(waiting)};
}

// recv_close_gets_none_reserved
KYOTO_CT_TEST(Mpsc, APermitTakenBeforeCloseStillDeliversAndAWaitingReserveFails) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  auto [permit1, permit2] = co_await hold_the_slot_and_queue_a_reserve(tx1, tx2);
  KYOTO_ASSERT_TRUE(permit1.has_value());

  rx.close();

  KYOTO_ASSERT_TRUE(co_await finishes_soon(permit2));  // woken...
  auto failed = co_await permit2;
  EXPECT_FALSE(failed.has_value());  // ...with the error
  {
    auto recv = co_await spawn_waiting(recv_one<int>(&rx));  // permit1 is outstanding

    permit1->send(123);
    KYOTO_ASSERT_TRUE(co_await finishes_soon(recv));
    EXPECT_EQ(co_await recv, 123);
  }

  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// try_reserve_fails
KYOTO_CT_TEST(Mpsc, TryReserveOnAFullChannelFailsWithIsFullAndADroppedPermitFreesItsSlot) {
  auto [tx, rx] = mpsc::channel<const char*>(1);

  auto permit = tx.try_reserve();
  KYOTO_ASSERT_TRUE(permit.has_value());

  auto full = tx.try_reserve();
  KYOTO_ASSERT_FALSE(full.has_value());
  EXPECT_TRUE(full.error().is_full());
  EXPECT_FALSE(full.error().is_closed());

  permit->send("foo");

  EXPECT_STREQ(*co_await rx.recv(), "foo");

  // Dropping a permit releases the slot.
  {
    auto dropped = tx.try_reserve();
    KYOTO_ASSERT_TRUE(dropped.has_value());
  }
  auto again = tx.try_reserve();
  EXPECT_TRUE(again.has_value());
}

// drop_permit_releases_permit
KYOTO_CT_TEST(Mpsc, DroppingAPermitWakesAWaitingReserve) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  auto [permit, reserve2] = co_await hold_the_slot_and_queue_a_reserve(tx1, tx2);
  KYOTO_ASSERT_TRUE(permit.has_value());

  {
    auto dropped = std::move(*permit);
  }

  KYOTO_ASSERT_TRUE(co_await finishes_soon(reserve2));
  EXPECT_TRUE((co_await reserve2).has_value());
}

// dropping_rx_closes_channel (with reserve(), as in tokio)
KYOTO_CT_TEST(Mpsc, DroppingTheReceiverFailsReserveAndDestroysBufferedValues) {
  auto msg = std::make_shared<int>(7);
  auto tx = sender_of_a_dropped_receiver(msg);
  auto r = co_await tx.reserve();
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(msg.use_count(), 1);
}

// dropping_rx_closes_channel_for_try (the try_reserve() and
// try_reserve_owned() checks; the try_send one is
// DroppingTheReceiverFailsTrySendWithIsClosed)
TEST(Mpsc, DroppingTheReceiverFailsTryReserveAndTryReserveOwnedWithIsClosed) {
  auto msg = std::make_shared<int>(7);
  auto tx = sender_of_a_dropped_receiver(msg);

  EXPECT_TRUE(failed_closed(tx.try_send(msg)));
  auto reserved = tx.try_reserve();
  ASSERT_FALSE(reserved.has_value());
  EXPECT_TRUE(reserved.error().is_closed());
  auto owned = tx.try_reserve_owned();
  ASSERT_FALSE(owned.has_value());
  EXPECT_TRUE(owned.error().is_closed());
  EXPECT_TRUE(owned.error().value.same_channel(tx));  // the sender comes back

  EXPECT_EQ(msg.use_count(), 1);
}

// ready_close_cancel_bounded
KYOTO_CT_TEST(Mpsc, RecvAfterCloseWaitsForAnOutstandingPermitAndEndsWhenItIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(100);
  mpsc::sender<int> tx2 = tx;

  auto permit = co_await tx.reserve();
  KYOTO_ASSERT_TRUE(permit.has_value());

  rx.close();

  auto recv = co_await spawn_waiting(recv_one<int>(&rx));

  {
    auto dropped = std::move(*permit);
  }

  KYOTO_ASSERT_TRUE(co_await finishes_soon(recv));
  EXPECT_FALSE((co_await recv).has_value());
}

// permit_available_not_acquired_close
KYOTO_CT_TEST(Mpsc, ASlotPassedToAReserveFailedByCloseDoesNotKeepRecvWaiting) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  auto [permit1, permit2] = co_await hold_the_slot_and_queue_a_reserve(tx1, tx2);
  KYOTO_ASSERT_TRUE(permit1.has_value());

  rx.close();

  {
    auto dropped = std::move(*permit1);
  }
  KYOTO_ASSERT_TRUE(co_await finishes_soon(permit2));  // woken by the close
  EXPECT_FALSE((co_await permit2).has_value());

  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// recv_timeout (tokio runs it on paused time; here the deadlines are real
// but short, and the outcome does not depend on timing: the channel is
// full with nobody receiving, or its receiver is gone).
KYOTO_CT_TEST(Mpsc, SendTimeoutSendsWhileThereIsRoomThenTimesOutThenFailsClosed) {
  using namespace std::chrono_literals;
  auto [tx, rx] = mpsc::channel<int>(5);

  for (int v = 10; v <= 50; v += 10)
    EXPECT_TRUE((co_await tx.send_timeout(v, 1s)).has_value()) << v;

  const auto start = std::chrono::steady_clock::now();
  auto timed_out = co_await tx.send_timeout(60, 20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  KYOTO_ASSERT_FALSE(timed_out.has_value());
  EXPECT_TRUE(timed_out.error().is_timeout());
  EXPECT_EQ(timed_out.error().value, 60);

  {
    auto dropped = std::move(rx);
  }
  auto closed = co_await tx.send_timeout(70, 1s);
  KYOTO_ASSERT_FALSE(closed.has_value());
  EXPECT_TRUE(closed.error().is_closed());
  EXPECT_EQ(closed.error().value, 70);
}

/// A coroutine run eagerly on the calling thread, outside any runtime
/// (tokio's now_or_never): records the exception that escapes it.
struct outside_runtime {
  struct promise_type {
    outside_runtime get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { escaped = std::current_exception(); }
  };
  static inline std::exception_ptr escaped;
};

outside_runtime send_timeout_outside_a_runtime(mpsc::sender<int>& tx) {
  auto r = co_await tx.send_timeout(10, std::chrono::seconds(1));
  ADD_FAILURE() << "send_timeout completed outside a runtime: " << r.has_value();
}

// recv_timeout_panic (tokio panics at once, needing its timer; kyoto needs
// one only to wait, so the channel is full: awaiting it outside a runtime
// task throws std::logic_error).
TEST(Mpsc, SendTimeoutThatMustWaitOutsideARuntimeTaskThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  outside_runtime::escaped = nullptr;
  send_timeout_outside_a_runtime(tx);
  ASSERT_TRUE(outside_runtime::escaped != nullptr);
  try {
    std::rethrow_exception(outside_runtime::escaped);
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("runtime"), std::string::npos) << e.what();
  }
  outside_runtime::escaped = nullptr;
  EXPECT_TRUE(received(rx.try_recv(), 0));  // and nothing was queued
  EXPECT_TRUE(is_empty(rx.try_recv()));
  EXPECT_TRUE(tx.try_send(1).has_value());  // the lock is free, the slot too
}

// test_tx_capacity
KYOTO_CT_TEST(Mpsc, CapacityDropsWithEachReserveAndSendWhileMaxCapacityStays) {
  auto [tx, rx] = mpsc::channel<int>(10);
  // both capacities are the same before
  EXPECT_EQ(tx.capacity(), 10u);
  EXPECT_EQ(tx.max_capacity(), 10u);

  auto permit = co_await tx.reserve();
  KYOTO_ASSERT_TRUE(permit.has_value());
  // after reserve, only capacity drops by one
  EXPECT_EQ(tx.capacity(), 9u);
  EXPECT_EQ(tx.max_capacity(), 10u);

  (co_await tx.send(0)).expect("send");
  // after send, capacity drops by one again
  EXPECT_EQ(tx.capacity(), 8u);
  EXPECT_EQ(tx.max_capacity(), 10u);
}

// ==== kyoto-specific contracts ====

// -- a failed send hands the value back --

KYOTO_CT_TEST(Mpsc, FailedSendHandsTheValueBack) {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  {
    auto dropped = std::move(rx);
  }

  auto value = std::make_unique<int>(5);
  int* const address = value.get();
  auto r = co_await tx.send(std::move(value));
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value.get(), address);  // the very object
  EXPECT_STREQ(r.error().what(), "channel closed");
}

TEST(Mpsc, FailedTrySendHandsTheValueBackWhenFullAndWhenClosed) {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  tx.try_send(std::make_unique<int>(0)).expect("try_send");

  auto full_value = std::make_unique<int>(1);
  int* const full_address = full_value.get();
  auto full = tx.try_send(std::move(full_value));
  ASSERT_FALSE(full.has_value());
  EXPECT_TRUE(full.error().is_full());
  EXPECT_STREQ(full.error().what(), "no available capacity");
  EXPECT_EQ(full.error().value.get(), full_address);
  std::unique_ptr<int> back = std::move(full).error().into_inner();
  EXPECT_EQ(back.get(), full_address);

  {
    auto dropped = std::move(rx);
  }

  auto closed = tx.try_send(std::move(back));
  ASSERT_FALSE(closed.has_value());
  EXPECT_TRUE(closed.error().is_closed());
  EXPECT_STREQ(closed.error().what(), "channel closed");
  EXPECT_EQ(closed.error().value.get(), full_address);
}

TEST(Mpsc, FailedBlockingSendHandsTheValueBack) {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  {
    auto dropped = std::move(rx);
  }

  auto value = std::make_unique<int>(5);
  int* const address = value.get();
  auto r = tx.blocking_send(std::move(value));  // not a runtime thread: allowed
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value.get(), address);
}

TEST(Mpsc, FailedUnboundedSendHandsTheValueBack) {
  auto [tx, rx] = mpsc::unbounded_channel<std::unique_ptr<int>>();
  rx.close();

  auto value = std::make_unique<int>(5);
  int* const address = value.get();
  auto r = tx.send(std::move(value));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value.get(), address);
}

KYOTO_CT_TEST(Mpsc, SendWaitingForCapacityHandsTheValueBackWhenTheReceiverIsDropped) {
  auto [tx, rx] = mpsc::channel<std::shared_ptr<int>>(1);
  tx.try_send(std::make_shared<int>(0)).expect("try_send");

  auto value = std::make_shared<int>(1);
  auto waiting = kyoto::spawn(send_result<std::shared_ptr<int>>(tx, value));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  {
    auto dropped = std::move(rx);
  }

  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  auto r = co_await waiting;
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, value);
}

TEST(Mpsc, ResultExpectOnAFailedSendThrowsWithTheMessageAndTheError) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  {
    auto dropped = std::move(rx);
  }
  kyoto::test::expect_throws<kyoto::bad_result_access>(
      [&] { tx.send(1).expect("receiver gone"); },
      kyoto::test::whole_message("receiver gone: channel closed"));
}

TEST(Mpsc, TryRecvErrorsDescribeThemselves) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto empty = rx.try_recv();
  ASSERT_FALSE(empty.has_value());
  EXPECT_STREQ(empty.error().what(), "receiving on an empty channel");
  EXPECT_EQ(empty.error(), mpsc::try_recv_error(mpsc::try_recv_error::kind::empty));

  {
    auto dropped = std::move(tx);
  }
  auto disconnected = rx.try_recv();
  ASSERT_FALSE(disconnected.has_value());
  EXPECT_STREQ(disconnected.error().what(), "receiving on a closed channel");
  EXPECT_NE(disconnected.error(), empty.error());
}

// -- when recv() gives std::nullopt --

KYOTO_CT_TEST(Mpsc, RecvGivesNulloptOnlyOnceEverySenderIsGoneAndTheBufferIsDrained) {
  auto [tx, rx] = mpsc::channel<int>(4);
  mpsc::sender<int> tx2 = tx;

  tx.try_send(1).expect("try_send 1");
  tx2.try_send(2).expect("try_send 2");
  {
    auto dropped = std::move(tx);
  }
  EXPECT_EQ(co_await rx.recv(), 1);  // one sender left
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_TRUE(is_empty(rx.try_recv()));  // drained, but a sender lives

  tx2.try_send(3).expect("try_send 3");
  tx2.try_send(4).expect("try_send 4");
  {
    auto dropped = std::move(tx2);
  }  // none left, but 3 and 4 are buffered
  EXPECT_EQ(co_await rx.recv(), 3);
  EXPECT_EQ(co_await rx.recv(), 4);
  EXPECT_FALSE((co_await rx.recv()).has_value());
  EXPECT_FALSE((co_await rx.recv()).has_value());  // and stays so
}

KYOTO_CT_TEST(Mpsc, WaitingRecvWakesWithNulloptOnlyWhenTheLastSenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::optional<mpsc::sender<int>> tx2(tx);
  std::optional<mpsc::sender<int>> tx1(std::move(tx));

  auto waiting = co_await spawn_waiting(recv_one<int>(&rx));

  tx1.reset();
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());  // tx2 still lives

  tx2.reset();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_FALSE((co_await waiting).has_value());
}

KYOTO_CT_TEST(Mpsc, UnboundedRecvGivesNulloptOnlyOnceEverySenderIsGoneAndTheBufferIsDrained) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  tx.send(1).expect("send 1");
  tx.send(2).expect("send 2");
  {
    auto dropped = std::move(tx);
  }
  co_await expect_1_2_then_the_end(rx);
}

KYOTO_CT_TEST(Mpsc, RecvAfterCloseStillGivesTheBufferedValuesFirst) {
  auto [tx, rx] = mpsc::channel<int>(4);
  tx.try_send(1).expect("try_send 1");
  tx.try_send(2).expect("try_send 2");
  rx.close();
  EXPECT_TRUE(tx.is_closed());
  EXPECT_TRUE(failed_closed(tx.try_send(3)));
  co_await expect_1_2_then_the_end(rx);  // a sender lives, but closed
}

// -- capacity --

TEST(Mpsc, ChannelAboveMaxCapacityThrowsInvalidArgumentAndMaxCapacityIsAccepted) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [&] { auto ch = mpsc::channel<int>(mpsc::max_capacity + 1); }, "capacity");
  auto [tx, rx] = mpsc::channel<int>(mpsc::max_capacity);  // allocates nothing up front
  EXPECT_TRUE(tx.try_send(1).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 1));
}

KYOTO_CT_TEST(Mpsc, WaitingSendersAreServedInTheOrderTheyStartedWaiting) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send 0");

  std::vector<kyoto::join_handle<bool>> senders;
  for (int i = 1; i <= 4; ++i) {
    senders.push_back(kyoto::spawn(send_one<int>(tx, i)));
    co_await let_others_run();  // it starts waiting before the next one
  }
  for (auto& s : senders)
    EXPECT_FALSE(s.is_finished());

  for (int i = 0; i <= 4; ++i)
    EXPECT_EQ(co_await rx.recv(), i);
  for (auto& s : senders)
    EXPECT_TRUE(co_await s);
}

// -- cancellation --

KYOTO_CT_TEST(Mpsc, CancelledSendThatWasGrantedASlotSendsNothingAndPassesTheSlotOn) {
  auto [tx, rx] = mpsc::channel<std::shared_ptr<int>>(1);
  tx.try_send(std::make_shared<int>(0)).expect("try_send");

  auto first_value = std::make_shared<int>(1);
  auto first = kyoto::spawn(send_one<std::shared_ptr<int>>(tx, first_value));
  co_await let_others_run();
  auto second = kyoto::spawn(send_one<std::shared_ptr<int>>(tx, std::make_shared<int>(2)));
  co_await let_others_run();
  EXPECT_FALSE(first.is_finished());
  EXPECT_FALSE(second.is_finished());
  EXPECT_EQ(first_value.use_count(), 2);  // the waiting send holds it

  // The buffered value is taken without waiting, which grants the freed
  // slot to `first` and wakes it; it is aborted before it gets to run.
  auto zero = co_await rx.recv();
  KYOTO_ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(**zero, 0);
  first.abort();

  if (const auto e = co_await kyoto::test::expect_throws_async<kyoto::join_error>(
          [&]() -> auto& { return first; })) {
    EXPECT_TRUE(e->is_cancelled());
  }
  EXPECT_EQ(first_value.use_count(), 1);  // destroyed with the send, not sent

  // The slot went on to `second`.
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  EXPECT_TRUE(co_await second);
  auto two = rx.try_recv();
  KYOTO_ASSERT_TRUE(two.has_value());
  EXPECT_EQ(**two, 2);
  EXPECT_TRUE(is_empty(rx.try_recv()));

  // And the channel's capacity is intact: one slot, free again.
  EXPECT_TRUE(tx.try_send(std::make_shared<int>(3)).has_value());
  EXPECT_TRUE(failed_full(tx.try_send(std::make_shared<int>(4))));
}

KYOTO_CT_TEST(Mpsc, CancelledSendThatWasGrantedTheLastWaitingSlotReturnsItToTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");

  auto waiting = co_await spawn_waiting(send_one<int>(tx, 1));

  EXPECT_EQ(co_await rx.recv(), 0);  // grants the slot to `waiting`
  waiting.abort();
  co_await kyoto::test::expect_throws_async<kyoto::join_error>([&]() -> auto& { return waiting; });

  EXPECT_TRUE(is_empty(rx.try_recv()));      // it sent nothing
  EXPECT_TRUE(tx.try_send(2).has_value());   // the slot is free
  EXPECT_TRUE(failed_full(tx.try_send(3)));  // and only one
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

KYOTO_CT_TEST(Mpsc, CancelledRecvLeavesLaterValuesReceivable) {
  auto [tx, rx] = mpsc::channel<int>(4);

  auto waiting = co_await spawn_waiting(recv_one<int>(&rx));

  EXPECT_TRUE(co_await abort_and_wait(waiting));

  // A new recv can wait (the cancelled one left the receiver slot free),
  // and is woken by the next send.
  auto sending = kyoto::spawn(send_1_2(tx));
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  co_await sending;
}

KYOTO_CT_TEST(Mpsc, ValueArrivingForACancelledRecvStaysFirstInTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(4);

  auto waiting = co_await spawn_waiting(recv_one<int>(&rx));

  tx.try_send(7).expect("try_send 7");  // wakes `waiting`...
  waiting.abort();                      // ...which is cancelled before it runs
  co_await kyoto::test::expect_throws_async<kyoto::join_error>([&]() -> auto& { return waiting; });

  tx.try_send(8).expect("try_send 8");
  EXPECT_TRUE(received(rx.try_recv(), 7));
  EXPECT_TRUE(received(rx.try_recv(), 8));
}

KYOTO_CT_TEST(Mpsc, SecondRecvWaitingOnOneReceiverThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(1);

  auto first = co_await spawn_waiting(recv_one<int>(&rx));

  auto second = kyoto::spawn(recv_one<int>(&rx));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return second; },
                                                              "another recv() is in progress");

  tx.try_send(5).expect("try_send");  // the first is still waiting, unharmed
  KYOTO_ASSERT_TRUE(co_await finishes_soon(first));
  EXPECT_EQ(co_await first, 5);
}

// A recv() woken by a send keeps the receive in progress until it resumes:
// a try_recv() in between (here from another branch of the same task) is a
// misuse and throws, instead of taking the value from under the woken recv.
KYOTO_CT_TEST(Mpsc, TryRecvWhileAWokenRecvHasNotResumedThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto steal = [](mpsc::sender<int>& out, mpsc::receiver<int>& in) -> kyoto::task<int> {
    out.try_send(1).expect("try_send");  // wakes the parked recv (not resumed yet)
    co_return in.try_recv().value();
  };
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return kyoto::join(rx.recv(), steal(tx, rx)); }, "another recv() is in progress");
  EXPECT_TRUE(received(rx.try_recv(), 1));  // the value stayed in the channel
}

KYOTO_CT_TEST(Mpsc, AwaitingACompletedReceiveAgainThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(4);
  tx.try_send(7).expect("try_send");
  auto r = rx.recv();
  EXPECT_EQ(co_await std::move(r), std::optional<int>(7));
  // NOLINTNEXTLINE(bugprone-use-after-move): awaiting again is the misuse under test
  EXPECT_THROW((void)co_await std::move(r), std::logic_error);
  auto s = tx.send(8);
  EXPECT_TRUE((co_await std::move(s)).has_value());
  // NOLINTNEXTLINE(bugprone-use-after-move): awaiting again is the misuse under test
  EXPECT_THROW((void)co_await std::move(s), std::logic_error);
  EXPECT_TRUE(received(rx.try_recv(), 8));  // sent once, not twice
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// -- handles --

TEST(Mpsc, CopiedSendersSendToTheSameChannel) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto [other_tx, other_rx] = mpsc::channel<int>(4);
  mpsc::sender<int> copy = tx;
  EXPECT_TRUE(copy.same_channel(tx));
  EXPECT_FALSE(copy.same_channel(other_tx));

  tx.try_send(1).expect("try_send 1");
  copy.try_send(2).expect("try_send 2");
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_empty(rx.try_recv()));  // the copy keeps the channel open

  auto [utx, urx] = mpsc::unbounded_channel<int>();
  mpsc::unbounded_sender<int> ucopy = utx;
  EXPECT_TRUE(ucopy.same_channel(utx));
}

// Assigning a sender drops the one it replaced (the channel it sent to may
// end) and takes a count on the new one.
TEST(Mpsc, AssigningSendersCountsTheSendersOfBothChannels) {
  auto [tx_a, rx_a] = mpsc::channel<int>(1);
  auto [tx_b, rx_b] = mpsc::channel<int>(1);
  mpsc::sender<int> s = tx_a;
  {
    auto dropped = std::move(tx_a);
  }
  s = tx_b;  // copy-assigned: a's last sender is gone
  EXPECT_TRUE(is_disconnected(rx_a.try_recv()));
  const mpsc::sender<int>& same = s;
  s = same;  // self-assignment keeps it
  s.try_send(1).expect("try_send");
  {
    auto dropped = std::move(tx_b);
  }
  EXPECT_TRUE(received(rx_b.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx_b.try_recv()));  // s still counts
  mpsc::sender<int> t = s;
  s = std::move(t);  // move-assigned: one count moves over
  EXPECT_TRUE(is_empty(rx_b.try_recv()));
  {
    auto dropped = std::move(s);
  }
  EXPECT_TRUE(is_disconnected(rx_b.try_recv()));

  auto [utx, urx] = mpsc::unbounded_channel<int>();
  mpsc::unbounded_sender<int> u = utx;
  u = std::move(utx);
  u.send(2).expect("send");
  EXPECT_TRUE(received(urx.try_recv(), 2));
}

TEST(Mpsc, SenderIsClosedOnceTheReceiverClosesOrIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(4);
  EXPECT_FALSE(tx.is_closed());
  rx.close();
  EXPECT_TRUE(tx.is_closed());

  auto [utx, urx] = mpsc::unbounded_channel<int>();
  EXPECT_FALSE(utx.is_closed());
  {
    auto dropped = std::move(urx);
  }
  EXPECT_TRUE(utx.is_closed());
}

TEST(Mpsc, UsingAMovedFromHandleThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&] { (void)tx.try_send(1); }, "try_send");
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&] { (void)rx.try_recv(); }, "try_recv");
  EXPECT_TRUE(tx2.try_send(1).has_value());
  EXPECT_TRUE(received(rx2.try_recv(), 1));
}

// -- destruction of undelivered values --

TEST(Mpsc, DroppingTheReceiverDestroysUndeliveredValues) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = mpsc::channel<drop_counter>(8);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(tx.try_send(drop_counter(dropped)).has_value());
  EXPECT_EQ(dropped.load(), 0);

  {
    auto one = rx.try_recv();
  }
  EXPECT_EQ(dropped.load(), 1);

  {
    auto gone = std::move(rx);
  }
  EXPECT_EQ(dropped.load(), 3);  // both undelivered values, while a sender lives

  {
    auto r = tx.try_send(drop_counter(dropped));
    EXPECT_TRUE(failed_closed(r));
    EXPECT_EQ(dropped.load(), 3);  // held by the error
  }
  EXPECT_EQ(dropped.load(), 4);
  {
    auto gone = std::move(tx);
  }
  EXPECT_EQ(dropped.load(), 4);  // nothing destroyed twice
}

TEST(Mpsc, DroppingTheUnboundedReceiverDestroysUndeliveredValues) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = mpsc::unbounded_channel<drop_counter>();
  constexpr int n = 5000;  // several buffer blocks
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(tx.send(drop_counter(dropped)).has_value());
  {
    auto gone = std::move(rx);
  }
  EXPECT_EQ(dropped.load(), n);
  {
    auto gone = std::move(tx);
  }
  EXPECT_EQ(dropped.load(), n);
}

TEST(Mpsc, DroppingTheLastSenderKeepsUndeliveredValuesForTheReceiver) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = mpsc::channel<drop_counter>(8);
  EXPECT_TRUE(tx.try_send(drop_counter(dropped)).has_value());
  EXPECT_TRUE(tx.try_send(drop_counter(dropped)).has_value());
  {
    auto gone = std::move(tx);
  }
  EXPECT_EQ(dropped.load(), 0);
  {
    auto one = rx.try_recv();
    EXPECT_TRUE(one.has_value());
  }
  EXPECT_EQ(dropped.load(), 1);
  {
    auto gone = std::move(rx);
  }
  EXPECT_EQ(dropped.load(), 2);
}

KYOTO_CT_TEST(Mpsc, AbortedWaitingSendDestroysItsValueOnce) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = mpsc::channel<drop_counter>(1);
  tx.try_send(drop_counter(dropped)).expect("try_send");

  auto waiting = co_await spawn_waiting(send_one<drop_counter>(tx, drop_counter(dropped)));
  EXPECT_EQ(dropped.load(), 0);

  waiting.abort();
  try {
    co_await waiting;
  } catch (const kyoto::join_error&) {  // NOLINT(bugprone-empty-catch): aborted on purpose
  }
  EXPECT_EQ(dropped.load(), 1);
  {
    auto one = rx.try_recv();
    EXPECT_TRUE(one.has_value());
  }
  EXPECT_EQ(dropped.load(), 2);
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// -- values whose move throws (exception safety) --

// try_send's push is the first move of a prvalue argument (the parameter is
// built in place). If it throws, nothing was sent: the slot must stay free.
TEST(Mpsc, TrySendWhoseValueFailsToMoveInThrowsAndKeepsTheSlotFree) {
  move_budget budget;
  auto [tx, rx] = mpsc::channel<fragile>(1);

  budget.fail_next_move();
  EXPECT_THROW((void)tx.try_send(fragile(1, &budget)), std::runtime_error);

  EXPECT_TRUE(is_empty(rx.try_recv()));  // nothing was sent
  // So the one slot is free (the failed push must not keep its permit).
  EXPECT_TRUE(tx.try_send(fragile(2, &budget)).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

// recv's await_ready takes the value out under the channel lock. If the
// value's move throws there, the exception propagates and the channel must
// stay usable: lock released, the value still first.
KYOTO_CT_TEST(Mpsc, RecvOfAValueThatFailsToMoveOutThrowsAndLeavesTheChannelUsable) {
  move_budget budget;
  auto [tx0, rx0] = mpsc::channel<fragile>(4);
  auto handles = std::make_unique<std::pair<mpsc::sender<fragile>, mpsc::receiver<fragile>>>(
      std::move(tx0), std::move(rx0));
  auto& [tx, rx] = *handles;
  tx.try_send(fragile(1, &budget)).expect("try_send");

  budget.fail_next_move();
  co_await kyoto::test::expect_throws_async<std::runtime_error>([&] { return rx.recv(); });

  KYOTO_ASSERT_TRUE(channel_lock_is_free(handles, [](auto& h) { (void)h.first.is_closed(); }))
      << "the exception left the channel's lock held: every later operation on the channel, "
         "and dropping its handles, blocks forever";
  EXPECT_TRUE(received(rx.try_recv(), 1));  // the value was not lost
}

// send's await_ready pushes under the channel lock. If the push's move
// throws there, the exception propagates and the channel must stay usable.
KYOTO_CT_TEST(Mpsc, SendOfAValueThatFailsToMoveInThrowsAndLeavesTheChannelUsable) {
  move_budget budget;
  auto [tx0, rx0] = mpsc::channel<fragile>(4);
  auto handles = std::make_unique<std::pair<mpsc::sender<fragile>, mpsc::receiver<fragile>>>(
      std::move(tx0), std::move(rx0));
  auto& [tx, rx] = *handles;

  // Count the moves of a successful send: the last one is the push into
  // the channel (the value is not moved again until received).
  budget.moves = 0;
  (co_await tx.send(fragile(1, &budget))).expect("send 1");
  const int moves_per_send = budget.moves;
  KYOTO_ASSERT_GE(moves_per_send, 1);
  EXPECT_TRUE(received(rx.try_recv(), 1));

  budget.moves = 0;
  budget.fail_at = moves_per_send - 1;  // the push
  co_await kyoto::test::expect_throws_async<std::runtime_error>(
      [&] { return tx.send(fragile(2, &budget)); });

  KYOTO_ASSERT_TRUE(channel_lock_is_free(handles, [](auto& h) { (void)h.first.is_closed(); }))
      << "the exception left the channel's lock held: every later operation on the channel, "
         "and dropping its handles, blocks forever";
  EXPECT_TRUE(is_empty(rx.try_recv()));  // nothing was sent
  EXPECT_TRUE(tx.try_send(fragile(3, &budget)).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 3));
}

kyoto::task<> send_fragile(mpsc::sender<fragile> tx, int value, move_budget* budget, int fail_at) {
  budget->moves = 0;
  budget->fail_at = fail_at;
  auto r = co_await tx.send(fragile(value, budget));
  r.expect("send");
}

// A send that waited is granted a slot by the recv that frees it, and
// pushes when it resumes. If that push throws, nothing was sent: the slot
// must not be lost with it.
KYOTO_CT_TEST(Mpsc, GrantedSendWhoseValueFailsToMoveInThrowsAndFreesTheSlot) {
  move_budget budget;
  auto [tx, rx] = mpsc::channel<fragile>(1);

  // Count the moves of a successful send; the last one is the push.
  budget.moves = 0;
  (co_await tx.send(fragile(0, &budget))).expect("send 0");
  const int moves_per_send = budget.moves;
  KYOTO_ASSERT_GE(moves_per_send, 1);
  // The channel is full now: the next send waits, then is granted a slot.

  move_budget failing;  // its own count: the other values' moves do not touch it
  auto waiting = co_await spawn_waiting(send_fragile(tx, 1, &failing, moves_per_send - 1));

  EXPECT_TRUE(received(rx.try_recv(), 0));  // grants the slot to `waiting`
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_THROW(co_await waiting, std::runtime_error);

  EXPECT_TRUE(is_empty(rx.try_recv()));  // nothing was sent
  // So the one slot is free again.
  EXPECT_TRUE(tx.try_send(fragile(2, &budget)).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

// tokio's recv_close_gets_none_reserved, for a waiting send: a send granted
// a slot before close() still delivers (a grant outlives close, as a tokio
// permit does), and recv() waits for it rather than reporting the end
// while it is outstanding.
KYOTO_CT_TEST(Mpsc, ASendGrantedBeforeCloseStillDeliversAndRecvWaitsForIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(1).expect("try_send");
  auto waiting = co_await spawn_waiting(send_one<int>(tx, 2));

  EXPECT_TRUE(received(rx.try_recv(), 1));  // grants the slot to `waiting`
  rx.close();
  EXPECT_TRUE(is_empty(rx.try_recv()));  // not the end: a grant is outstanding
  EXPECT_EQ(co_await rx.recv(), std::optional<int>(2));
  EXPECT_EQ(co_await rx.recv(), std::nullopt);
  EXPECT_TRUE(co_await waiting);
  EXPECT_FALSE(tx.try_send(3).has_value());  // closed for new sends
}

// A grant given up (its send cancelled) after close() ends the channel.
KYOTO_CT_TEST(Mpsc, AGrantCancelledAfterCloseEndsTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(1).expect("try_send");
  auto waiting = kyoto::spawn(send_one<int>(tx, 2));
  co_await let_others_run();
  EXPECT_TRUE(received(rx.try_recv(), 1));  // grants the slot to `waiting`
  rx.close();
  waiting.abort();
  EXPECT_THROW(co_await waiting, kyoto::join_error);
  EXPECT_EQ(co_await rx.recv(), std::nullopt);
}

// -- one task on both ends --

// A task's recv grants the freed slot to the same task's waiting send (one
// task, two woken awaiters), inside a join.
KYOTO_CT_TEST(Mpsc, JoinedSendAndRecvInOneTaskHandTheSlotOver) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");

  auto [sent, got] = co_await kyoto::join(send_one<int>(tx, 1), recv_one<int>(&rx));
  EXPECT_TRUE(sent);
  EXPECT_EQ(got, 0);
  EXPECT_TRUE(received(rx.try_recv(), 1));
}

// -- values that use the channel --

TEST(Mpsc, ValuesHoldingSendersOfTheirOwnChannelAreDestroyedWhenTheReceiverIsDropped) {
  std::atomic<int> closed_seen{0};
  {
    auto [tx, rx] = mpsc::channel<carries_sender>(4);
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(tx.try_send(carries_sender(tx, &closed_seen)).has_value());
    }
    {
      auto dropped = std::move(tx);
    }  // the buffered values' senders keep the channel open

    {
      auto first = rx.try_recv();
      EXPECT_TRUE(first.has_value());
    }
    EXPECT_EQ(closed_seen.load(), 0);  // destroyed while the receiver lives

    // Dropping the receiver destroys the other two; their destructors take
    // the channel's lock (is_closed) and drop the channel's last senders.
  }
  EXPECT_EQ(closed_seen.load(), 2);
}

// -- runtime shutdown --

kyoto::task<> grant_a_waiting_send_then_return(mpsc::sender<int> tx, mpsc::receiver<int>* rx) {
  auto waiting = co_await spawn_waiting(send_one<int>(std::move(tx), 1));
  EXPECT_EQ(co_await rx->recv(), 0);  // grants the freed slot to `waiting`, waking it
}  // and ends before `waiting` runs: the runtime shuts down with it woken

TEST(Mpsc, RuntimeShutdownCancelsASendThatWasGrantedASlotAndFreesTheSlot) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
    rt.block_on(grant_a_waiting_send_then_return(tx, &rx));
  }
  EXPECT_TRUE(is_empty(rx.try_recv()));  // the cancelled send sent nothing
  EXPECT_TRUE(tx.try_send(2).has_value());
  EXPECT_TRUE(failed_full(tx.try_send(3)));
}

kyoto::task<> wake_a_waiting_recv_then_return(mpsc::sender<int> tx, mpsc::receiver<int>* rx) {
  auto waiting = co_await spawn_waiting(recv_one<int>(rx));
  tx.try_send(7).expect("try_send");  // wakes `waiting`
}  // and ends before `waiting` runs

TEST(Mpsc, RuntimeShutdownCancelsAWokenRecvAndTheValueStaysInTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(1);
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
    rt.block_on(wake_a_waiting_recv_then_return(tx, &rx));
  }
  EXPECT_TRUE(received(rx.try_recv(), 7));
}

kyoto::task<> leave_a_send_waiting(mpsc::sender<int> tx) {
  auto waiting = co_await spawn_waiting(send_one<int>(std::move(tx), 1));
}

TEST(Mpsc, RuntimeShutdownCancelsAWaitingSendWhichLeavesTheQueueOfWaitingSenders) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
    rt.block_on(leave_a_send_waiting(tx));
  }
  // The freed slot is not granted to the cancelled send: it is free.
  EXPECT_TRUE(received(rx.try_recv(), 0));
  EXPECT_TRUE(tx.try_send(2).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// -- across threads --

// A plain thread's blocking_send wakes the runtime parked (in io_uring)
// waiting in recv; the small capacity makes both sides wait many times.
KYOTO_CT_TEST(Mpsc, ValuesFromAThreadsBlockingSendArriveInOrderAtAWaitingRuntimeTask) {
  constexpr int n = 2000;
  std::atomic<int> failed_sends{0};
  std::jthread producer;  // joined after the channel is gone, even on failure
  auto [tx, rx] = mpsc::channel<int>(2);
  producer = std::jthread([sender = std::move(tx), &failed_sends]() mutable {
    for (int i = 0; i < n; ++i) {
      if (!sender.blocking_send(i).has_value()) failed_sends.fetch_add(1);
    }
  });

  int expected = 0;
  while (std::optional<int> v = co_await rx.recv()) {
    KYOTO_ASSERT_EQ(*v, expected);
    ++expected;
  }
  EXPECT_EQ(expected, n);
  EXPECT_EQ(failed_sends.load(), 0);
}

// The reverse: the runtime task waits in send for the thread's
// blocking_recv to free a slot.
KYOTO_CT_TEST(Mpsc, ValuesFromARuntimeTaskArriveInOrderAtAThreadsBlockingRecv) {
  constexpr int n = 2000;
  std::vector<int> got;
  std::jthread consumer;  // declared first: joined after the sender is gone
  auto [tx, rx] = mpsc::channel<int>(2);
  consumer = std::jthread([receiver = std::move(rx), &got]() mutable {
    while (std::optional<int> v = receiver.blocking_recv())
      got.push_back(*v);
  });

  for (int i = 0; i < n; ++i) {
    auto r = co_await tx.send(i);
    KYOTO_ASSERT_TRUE(r.has_value());
  }
  {
    auto dropped = std::move(tx);
  }
  consumer.join();  // ends on the thread's std::nullopt

  KYOTO_ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(got[i], i);
}

// Mostly the thread is parked in blocking_send when the receiver goes (it
// says it is about to send first); either way the value must come back.
KYOTO_CT_TEST(Mpsc, BlockingSendWaitingOnAThreadHandsTheValueBackWhenTheReceiverIsDropped) {
  std::optional<int> handed_back;
  bool sent = false;
  std::jthread producer;  // joined after the channel is gone, even on failure
  auto [started_tx, started_rx] = mpsc::unbounded_channel<int>();
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");  // full: the thread's send waits

  producer = std::jthread(
      [sender = std::move(tx), started = std::move(started_tx), &handed_back, &sent]() mutable {
        started.send(0).expect("started");
        auto r = sender.blocking_send(1);
        sent = r.has_value();
        if (!sent) handed_back = r.error().value;
      });

  EXPECT_EQ(co_await started_rx.recv(), 0);
  {
    auto dropped = std::move(rx);
  }
  producer.join();
  EXPECT_FALSE(sent);
  EXPECT_EQ(handed_back, 1);
}

KYOTO_CT_TEST(Mpsc, ManyThreadsBlockingSendingLoseNothingAndKeepEachSendersOrder) {
  constexpr int threads = 4;
  constexpr int per_thread = 1000;
  std::atomic<int> failed_sends{0};
  std::vector<std::jthread> producers;  // joined after the channel is gone
  auto [tx, rx] = mpsc::channel<int>(3);
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([sender = tx, t, &failed_sends]() mutable {
      for (int i = 0; i < per_thread; ++i) {
        if (!sender.blocking_send(t * per_thread + i).has_value()) failed_sends.fetch_add(1);
      }
    });
  }
  {
    auto dropped = std::move(tx);
  }

  std::vector<int> next(threads, 0);
  int total = 0;
  while (std::optional<int> v = co_await rx.recv()) {
    const int t = *v / per_thread;
    KYOTO_ASSERT_GE(t, 0);
    KYOTO_ASSERT_LT(t, threads);
    KYOTO_ASSERT_EQ(*v % per_thread, next[t]);
    ++next[t];
    ++total;
  }
  EXPECT_EQ(total, threads * per_thread);
  EXPECT_EQ(failed_sends.load(), 0);
}

KYOTO_CT_TEST(Mpsc, UnboundedSendFromAThreadWakesAWaitingRuntimeTask) {
  constexpr int n = 2000;
  std::jthread producer;
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  producer = std::jthread([sender = std::move(tx)]() mutable {
    for (int i = 0; i < n; ++i) {
      if (!sender.send(i).has_value()) return;
    }
  });

  int expected = 0;
  while (std::optional<int> v = co_await rx.recv()) {
    KYOTO_ASSERT_EQ(*v, expected);
    ++expected;
  }
  EXPECT_EQ(expected, n);
}

// ==== kyoto's contracts for permits, closed(), recv_many, send_timeout ====

// -- permits --

TEST(Mpsc, APermitSendsOnceAndASecondSendThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(2);
  auto permit = tx.try_reserve();
  ASSERT_TRUE(permit.has_value());
  permit->send(1);
  kyoto::test::expect_throws<std::logic_error>([&] { permit->send(2); },
                                               "kyoto::sync::mpsc::permit::send");
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_TRUE(is_empty(rx.try_recv()));
  EXPECT_EQ(tx.capacity(), 2u);  // the used permit's slot came back with the receive
}

TEST(Mpsc, AMovedPermitCarriesItsSlotAndTheMovedFromOneIsEmpty) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto reserved = tx.try_reserve();
  ASSERT_TRUE(reserved.has_value());
  mpsc::permit<int> moved = std::move(*reserved);
  EXPECT_THROW(reserved->send(0), std::logic_error);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(tx.capacity(), 0u);
  moved.send(1);
  EXPECT_TRUE(received(rx.try_recv(), 1));
}

TEST(Mpsc, APermitUsedAfterTheReceiverIsDroppedDestroysItsValue) {
  std::atomic<int> dropped{0};
  auto [tx, rx] = mpsc::channel<drop_counter>(1);
  auto permit = tx.try_reserve();
  ASSERT_TRUE(permit.has_value());
  {
    auto gone = std::move(rx);
  }
  permit->send(drop_counter(dropped));  // never fails: the value is destroyed
  EXPECT_EQ(dropped.load(), 1);
}

TEST(Mpsc, APermitDroppedAfterTheReceiverIsDroppedIsHarmless) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto permit = tx.try_reserve();
  ASSERT_TRUE(permit.has_value());
  {
    auto gone = std::move(rx);
  }
  {
    auto unused = std::move(*permit);
  }
  EXPECT_TRUE(tx.is_closed());
}

// If moving the value in throws, the permit keeps its slot (strong
// guarantee): nothing was sent, and the permit can still be used.
TEST(Mpsc, APermitWhoseValueFailsToMoveInThrowsAndKeepsItsSlot) {
  move_budget budget;
  auto [tx, rx] = mpsc::channel<fragile>(1);
  auto permit = tx.try_reserve();
  ASSERT_TRUE(permit.has_value());

  // Count the moves of one send: the last one is the push. (Read before
  // the channel is destroyed, which moves what it still holds.)
  int moves_per_send = 0;
  {
    auto [tx2, rx2] = mpsc::channel<fragile>(1);
    auto p = tx2.try_reserve();
    ASSERT_TRUE(p.has_value());
    budget.moves = 0;
    p->send(fragile(0, &budget));
    moves_per_send = budget.moves;
  }
  ASSERT_GE(moves_per_send, 1);

  budget.moves = 0;
  budget.fail_at = moves_per_send - 1;
  EXPECT_THROW(permit->send(fragile(1, &budget)), std::runtime_error);
  EXPECT_TRUE(is_empty(rx.try_recv()));
  EXPECT_EQ(tx.capacity(), 0u);  // still reserved
  permit->send(fragile(2, &budget));
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

TEST(Mpsc, TryReserveOnAMovedFromSenderThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto tx2 = std::move(tx);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&] { (void)tx.try_reserve(); }, "try_reserve");
  EXPECT_TRUE(tx2.try_reserve().has_value());
}

KYOTO_CT_TEST(Mpsc, CancelledWaitingReserveLeavesTheQueueOfWaitingSenders) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");

  auto waiting = co_await spawn_waiting(reserve_one(&tx));
  EXPECT_TRUE(co_await abort_and_wait(waiting));

  EXPECT_TRUE(received(rx.try_recv(), 0));  // the slot is not granted to the cancelled reserve
  EXPECT_EQ(tx.capacity(), 1u);
  EXPECT_TRUE(tx.try_send(1).has_value());
}

KYOTO_CT_TEST(Mpsc, CancelledReserveThatWasGrantedASlotPassesItToTheNextWaitingSender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");

  auto first = co_await spawn_waiting(reserve_one(&tx));
  auto second = co_await spawn_waiting(send_one<int>(tx, 2));

  EXPECT_TRUE(received(rx.try_recv(), 0));      // grants the slot to `first`, waking it
  EXPECT_TRUE(co_await abort_and_wait(first));  // cancelled before it runs

  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));  // the slot went on
  EXPECT_TRUE(co_await second);
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_EQ(tx.capacity(), 1u);  // and none was lost
}

KYOTO_CT_TEST(Mpsc, AwaitingACompletedReserveAgainThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(2);
  auto r = tx.reserve();
  auto permit = co_await std::move(r);
  EXPECT_TRUE(permit.has_value());
  // NOLINTNEXTLINE(bugprone-use-after-move): awaiting again is the misuse under test
  EXPECT_THROW((void)co_await std::move(r), std::logic_error);
  EXPECT_EQ(tx.capacity(), 1u);  // reserved once, not twice
}

// -- reserve_many --

kyoto::task<kyoto::result<mpsc::permit_iterator<int>, mpsc::send_error<>>> reserve_n(
    mpsc::sender<int>* tx, std::size_t n) {
  co_return co_await tx->reserve_many(n);
}

KYOTO_CT_TEST(Mpsc, ReserveManyHandsOutItsPermitsAndGivesBackTheUnusedOnesWhenDropped) {
  auto [tx, rx] = mpsc::channel<int>(4);
  {
    auto permits = co_await tx.reserve_many(3);
    KYOTO_ASSERT_TRUE(permits.has_value());
    EXPECT_EQ(permits->size(), 3u);
    EXPECT_EQ(tx.capacity(), 1u);
    auto p1 = permits->next();
    KYOTO_ASSERT_TRUE(p1.has_value());
    p1->send(1);
    auto p2 = permits->next();
    KYOTO_ASSERT_TRUE(p2.has_value());
    p2->send(2);
    EXPECT_EQ(permits->size(), 1u);
    EXPECT_FALSE(permits->empty());
  }  // the third is given back
  EXPECT_EQ(tx.capacity(), 2u);
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_EQ(tx.capacity(), 4u);

  auto none = co_await tx.reserve_many(0);
  KYOTO_ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->next().has_value());
}

KYOTO_CT_TEST(Mpsc, ReserveManyAboveMaxCapacityFailsAtOnceAsTokioDoes) {
  auto [tx, rx] = mpsc::channel<int>(2);
  auto r = co_await tx.reserve_many(3);
  EXPECT_FALSE(r.has_value());
  auto t = tx.try_reserve_many(3);
  KYOTO_ASSERT_FALSE(t.has_value());
  EXPECT_TRUE(t.error().is_full());
  EXPECT_EQ(tx.capacity(), 2u);
}

TEST(Mpsc, TryReserveManyTakesAllOrNothing) {
  auto [tx, rx] = mpsc::channel<int>(3);
  tx.try_send(0).expect("try_send");
  auto three = tx.try_reserve_many(3);
  ASSERT_FALSE(three.has_value());
  EXPECT_TRUE(three.error().is_full());
  EXPECT_STREQ(three.error().what(), "no available capacity");
  EXPECT_EQ(tx.capacity(), 2u);  // nothing taken
  auto two = tx.try_reserve_many(2);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(tx.capacity(), 0u);
  rx.close();
  auto closed = tx.try_reserve_many(0);
  ASSERT_FALSE(closed.has_value());
  EXPECT_TRUE(closed.error().is_closed());
  EXPECT_STREQ(closed.error().what(), "channel closed");
}

/// Fills tx's channel (of 3 slots) with 0, 1 and 2.
void fill_with_0_1_2(mpsc::sender<int>& tx) {
  for (int i = 0; i < 3; ++i)
    tx.try_send(i).expect("try_send");
}

// A waiting reserve_many(n) first in line keeps the slots that free for it
// until it has n; the senders behind it wait (FIFO, tokio's semaphore).
KYOTO_CT_TEST(Mpsc, AWaitingReserveManyCollectsFreedSlotsAndTheSendersBehindItWait) {
  auto [tx, rx] = mpsc::channel<int>(3);
  fill_with_0_1_2(tx);

  auto many = co_await spawn_waiting(reserve_n(&tx, 2));
  auto behind = co_await spawn_waiting(send_one<int>(tx, 10));

  EXPECT_TRUE(received(rx.try_recv(), 0));  // one slot: set aside for `many`
  co_await let_others_run();
  EXPECT_FALSE(many.is_finished());
  EXPECT_FALSE(behind.is_finished());
  EXPECT_EQ(tx.capacity(), 0u);
  EXPECT_TRUE(failed_full(tx.try_send(99)));

  EXPECT_TRUE(received(rx.try_recv(), 1));  // the second: `many` has both
  KYOTO_ASSERT_TRUE(co_await finishes_soon(many));
  co_await let_others_run();
  EXPECT_FALSE(behind.is_finished());

  EXPECT_TRUE(received(rx.try_recv(), 2));  // the third goes to `behind`
  KYOTO_ASSERT_TRUE(co_await finishes_soon(behind));
  EXPECT_TRUE(co_await behind);

  auto permits = co_await many;
  KYOTO_ASSERT_TRUE(permits.has_value());
  EXPECT_EQ(permits->size(), 2u);
  permits->next()->send(20);
  EXPECT_TRUE(received(rx.try_recv(), 10));
  EXPECT_TRUE(received(rx.try_recv(), 20));
}

KYOTO_CT_TEST(Mpsc, CancelledReserveManyPassesTheSlotsSetAsideForItToTheSendersBehind) {
  auto [tx, rx] = mpsc::channel<int>(3);
  fill_with_0_1_2(tx);

  auto many = co_await spawn_waiting(reserve_n(&tx, 3));
  auto behind1 = co_await spawn_waiting(send_one<int>(tx, 10));
  auto behind2 = co_await spawn_waiting(send_one<int>(tx, 11));

  EXPECT_TRUE(received(rx.try_recv(), 0));
  EXPECT_TRUE(received(rx.try_recv(), 1));  // two set aside for `many`
  co_await let_others_run();
  EXPECT_FALSE(behind1.is_finished());
  EXPECT_FALSE(behind2.is_finished());

  EXPECT_TRUE(co_await abort_and_wait(many));  // hands both on
  KYOTO_ASSERT_TRUE(co_await finishes_soon(behind1));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(behind2));
  EXPECT_TRUE(co_await behind1);
  EXPECT_TRUE(co_await behind2);
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(received(rx.try_recv(), 10));
  EXPECT_TRUE(received(rx.try_recv(), 11));
  EXPECT_EQ(tx.capacity(), 3u);
}

KYOTO_CT_TEST(Mpsc, CloseFailsAWaitingReserveManyAndReturnsTheSlotsSetAsideForIt) {
  auto [tx, rx] = mpsc::channel<int>(2);
  tx.try_send(0).expect("try_send 0");
  tx.try_send(1).expect("try_send 1");

  auto many = kyoto::spawn(reserve_n(&tx, 2));
  co_await let_others_run();
  EXPECT_TRUE(received(rx.try_recv(), 0));  // one set aside
  EXPECT_EQ(tx.capacity(), 0u);

  rx.close();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(many));
  EXPECT_FALSE((co_await many).has_value());
  EXPECT_EQ(tx.capacity(), 1u);  // returned
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), std::nullopt);  // nothing outstanding
}

// -- reserve_owned --

KYOTO_CT_TEST(Mpsc, AnOwnedPermitKeepsTheChannelOpenAndItsSendGivesTheSenderBack) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto owned = co_await std::move(tx).reserve_owned();
  KYOTO_ASSERT_TRUE(owned.has_value());

  // The permit holds the only sender: the channel stays open.
  EXPECT_TRUE(is_empty(rx.try_recv()));

  mpsc::sender<int> back = owned->send(5);
  EXPECT_THROW((void)owned->send(6), std::logic_error);
  EXPECT_EQ(co_await rx.recv(), 5);
  {
    auto dropped = std::move(back);
  }
  EXPECT_EQ(co_await rx.recv(), std::nullopt);
}

KYOTO_CT_TEST(Mpsc, ReserveOwnedOnAnLvalueCopiesTheSender) {
  auto [tx, rx] = mpsc::channel<int>(2);
  auto owned = co_await tx.reserve_owned();
  KYOTO_ASSERT_TRUE(owned.has_value());
  EXPECT_EQ(tx.capacity(), 1u);
  tx.try_send(1).expect("tx is still usable");
  mpsc::sender<int> released = owned->release();  // gives the slot back
  EXPECT_TRUE(released.same_channel(tx));
  EXPECT_EQ(tx.capacity(), 1u);
  EXPECT_THROW((void)owned->release(), std::logic_error);
  EXPECT_EQ(co_await rx.recv(), 1);
}

TEST(Mpsc, ADroppedOwnedPermitGivesItsSlotBackThenDropsItsSender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  {
    auto owned = std::move(tx).try_reserve_owned();
    ASSERT_TRUE(owned.has_value());
    EXPECT_TRUE(is_empty(rx.try_recv()));  // held open by the permit
  }
  EXPECT_TRUE(is_disconnected(rx.try_recv()));  // its sender was the last
}

TEST(Mpsc, TryReserveOwnedOnAFullChannelGivesTheSenderBack) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  auto owned = std::move(tx).try_reserve_owned();
  ASSERT_FALSE(owned.has_value());
  EXPECT_TRUE(owned.error().is_full());
  mpsc::sender<int> back = std::move(owned).error().into_inner();
  EXPECT_TRUE(received(rx.try_recv(), 0));
  EXPECT_TRUE(back.try_send(1).has_value());
}

KYOTO_CT_TEST(Mpsc, CancelledWaitingReserveOwnedDropsItsSender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  auto waiting = kyoto::spawn(
      [](mpsc::sender<int> s) -> kyoto::task<bool> {
        auto r = co_await std::move(s).reserve_owned();
        co_return r.has_value();
      },
      std::move(tx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
  EXPECT_TRUE(received(rx.try_recv(), 0));  // grants the slot; then cancelled
  EXPECT_TRUE(co_await abort_and_wait(waiting));
  // The slot came back and the awaiter's sender, the last one, is gone.
  EXPECT_EQ(co_await rx.recv(), std::nullopt);
}

// -- closed() --

/// Waits in closed() on its own copy of a sender (so a failing test that
/// returns early leaves the channel alive for the task's cancellation).
kyoto::task<> wait_closed(mpsc::sender<int> tx) {
  co_await tx.closed();
}

kyoto::task<> wait_closed_unbounded(mpsc::unbounded_sender<int> tx) {
  co_await tx.closed();
}

// tokio's Sender::closed doc example: every sender's closed() completes
// once the receiver is dropped.
KYOTO_CT_TEST(Mpsc, ClosedCompletesForEveryWaitingSenderWhenTheReceiverIsDropped) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;
  mpsc::sender<int> tx3 = tx1;

  std::vector<kyoto::join_handle<void>> waiting;
  waiting.push_back(kyoto::spawn(wait_closed(tx1)));
  waiting.push_back(kyoto::spawn(wait_closed(tx2)));
  waiting.push_back(kyoto::spawn(wait_closed(tx3)));
  co_await let_others_run();
  for (auto& w : waiting)
    EXPECT_FALSE(w.is_finished());

  {
    auto dropped = std::move(rx);
  }
  for (auto& w : waiting) {
    KYOTO_ASSERT_TRUE(co_await finishes_soon(w));
    co_await w;
  }
  co_await tx1.closed();  // and at once from now on
}

KYOTO_CT_TEST(Mpsc, ClosedCompletesWhenTheReceiverCloses) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(1).expect("try_send");
  auto waiting = co_await spawn_waiting(wait_closed(tx));
  EXPECT_TRUE(received(rx.try_recv(), 1));  // receiving is not closing
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  rx.close();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  co_await waiting;
  EXPECT_TRUE(tx.is_closed());
}

KYOTO_CT_TEST(Mpsc, ClosedDoesNotCompleteWhenSendersComeAndGo) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto waiting = kyoto::spawn(wait_closed(tx));
  co_await let_others_run();
  {
    mpsc::sender<int> other = tx;
  }
  auto weak = tx.downgrade();
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
  EXPECT_TRUE(co_await abort_and_wait(waiting));
}

KYOTO_CT_TEST(Mpsc, UnboundedClosedCompletesWhenTheReceiverIsDropped) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto waiting = co_await spawn_waiting(wait_closed_unbounded(tx));
  {
    auto dropped = std::move(rx);
  }
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  co_await waiting;
  EXPECT_TRUE(tx.is_closed());
  co_await tx.closed();
}

KYOTO_CT_TEST(Mpsc, CancelledWaitingClosedLeavesTheOthersWaiting) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto first = kyoto::spawn(wait_closed(tx));
  auto second = kyoto::spawn(wait_closed(tx));
  co_await let_others_run();
  EXPECT_TRUE(co_await abort_and_wait(first));  // unlinks itself
  rx.close();
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  co_await second;
}

KYOTO_CT_TEST(Mpsc, ClosedWokenThenCancelledBeforeItRunsIsHarmless) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto waiting = kyoto::spawn(wait_closed(tx));
  co_await let_others_run();
  rx.close();                                     // wakes it...
  EXPECT_TRUE(co_await abort_and_wait(waiting));  // ...cancelled before it runs
  co_await tx.closed();
}

// -- recv_many --

kyoto::task<std::size_t> recv_many_into(mpsc::receiver<int>* rx, std::vector<int>* buffer,
                                        std::size_t limit) {
  co_return co_await rx->recv_many(*buffer, limit);
}

KYOTO_CT_TEST(Mpsc, RecvManyAppendsUpToTheLimitInOrder) {
  auto [tx, rx] = mpsc::channel<int>(8);
  for (int i = 0; i < 5; ++i)
    tx.try_send(i).expect("try_send");

  std::vector<int> buffer{-1};
  EXPECT_EQ(co_await rx.recv_many(buffer, 3), 3u);
  EXPECT_EQ(buffer, (std::vector<int>{-1, 0, 1, 2}));  // appended, not replaced
  EXPECT_EQ(co_await rx.recv_many(buffer, 10), 2u);
  EXPECT_EQ(buffer, (std::vector<int>{-1, 0, 1, 2, 3, 4}));
  EXPECT_EQ(tx.capacity(), 8u);  // every slot came back
}

KYOTO_CT_TEST(Mpsc, RecvManyWithLimitZeroGivesZeroAtOnce) {
  auto [tx, rx] = mpsc::channel<int>(1);
  std::vector<int> buffer;
  EXPECT_EQ(co_await rx.recv_many(buffer, 0), 0u);  // though nothing is buffered
  tx.try_send(1).expect("try_send");
  EXPECT_EQ(co_await rx.recv_many(buffer, 0), 0u);
  EXPECT_TRUE(buffer.empty());
  EXPECT_TRUE(received(rx.try_recv(), 1));
}

KYOTO_CT_TEST(Mpsc, RecvManyGivesZeroOnlyOnceTheChannelIsClosedAndDrained) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  tx.send(1).expect("send");
  {
    auto dropped = std::move(tx);
  }
  std::vector<int> buffer;
  EXPECT_EQ(co_await rx.recv_many(buffer, 4), 1u);
  EXPECT_EQ(co_await rx.recv_many(buffer, 4), 0u);
  EXPECT_EQ(buffer, std::vector<int>{1});
}

KYOTO_CT_TEST(Mpsc, WaitingRecvManyWakesWithTheFirstValues) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::vector<int> buffer;
  auto waiting = co_await spawn_waiting(recv_many_into(&rx, &buffer, 4));
  tx.try_send(1).expect("try_send 1");
  tx.try_send(2).expect("try_send 2");  // before the woken task runs
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_EQ(co_await waiting, 2u);
  EXPECT_EQ(buffer, (std::vector<int>{1, 2}));
}

KYOTO_CT_TEST(Mpsc, WaitingRecvManyWakesWithZeroWhenTheLastSenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::vector<int> buffer;
  auto waiting = kyoto::spawn(recv_many_into(&rx, &buffer, 4));
  co_await let_others_run();
  {
    auto dropped = std::move(tx);
  }
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_EQ(co_await waiting, 0u);
}

KYOTO_CT_TEST(Mpsc, RecvManyGrantsTheSlotsItFreesToWaitingSendersInOrder) {
  auto [tx, rx] = mpsc::channel<int>(2);
  tx.try_send(0).expect("try_send 0");
  tx.try_send(1).expect("try_send 1");
  auto s2 = kyoto::spawn(send_one<int>(tx, 2));
  co_await let_others_run();
  auto s3 = kyoto::spawn(send_one<int>(tx, 3));
  co_await let_others_run();

  std::vector<int> buffer;
  EXPECT_EQ(co_await rx.recv_many(buffer, 8), 2u);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(s2));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(s3));
  EXPECT_EQ(co_await rx.recv_many(buffer, 8), 2u);
  EXPECT_EQ(buffer, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(co_await s2);
  EXPECT_TRUE(co_await s3);
}

KYOTO_CT_TEST(Mpsc, CancelledWaitingRecvManyLeavesTheReceiverFree) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::vector<int> buffer;
  auto waiting = kyoto::spawn(recv_many_into(&rx, &buffer, 4));
  co_await let_others_run();
  EXPECT_TRUE(co_await abort_and_wait(waiting));
  tx.try_send(7).expect("try_send");
  EXPECT_EQ(co_await rx.recv(), 7);
  EXPECT_TRUE(buffer.empty());
}

KYOTO_CT_TEST(Mpsc, ValuesArrivingForACancelledRecvManyStayInTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::vector<int> buffer;
  auto waiting = kyoto::spawn(recv_many_into(&rx, &buffer, 4));
  co_await let_others_run();
  tx.try_send(7).expect("try_send 7");  // wakes it...
  tx.try_send(8).expect("try_send 8");
  EXPECT_TRUE(co_await abort_and_wait(waiting));  // ...cancelled before it runs
  EXPECT_TRUE(buffer.empty());
  EXPECT_TRUE(received(rx.try_recv(), 7));
  EXPECT_TRUE(received(rx.try_recv(), 8));
}

KYOTO_CT_TEST(Mpsc, RecvManyWhileARecvIsWaitingThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto first = kyoto::spawn(recv_one<int>(&rx));
  co_await let_others_run();
  std::vector<int> buffer;
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      [&] { return rx.recv_many(buffer, 4); }, "another recv() is in progress");
  tx.try_send(1).expect("try_send");
  KYOTO_ASSERT_TRUE(co_await finishes_soon(first));
  EXPECT_EQ(co_await first, 1);
}

// -- send_timeout --

kyoto::task<kyoto::result<void, mpsc::send_timeout_error<int>>> send_within(
    mpsc::sender<int>* tx, int value, std::chrono::milliseconds timeout) {
  co_return co_await tx->send_timeout(value, timeout);
}

/// Fills tx's channel (one slot) with 0, then spawns a send_timeout(1,
/// 60s): it waits for the slot.
kyoto::task<kyoto::join_handle<kyoto::result<void, mpsc::send_timeout_error<int>>>>
send_timeout_waiting_for_the_slot(mpsc::sender<int>& tx) {
  tx.try_send(0).expect("try_send");
  co_return co_await spawn_waiting(send_within(&tx, 1, std::chrono::seconds(60)));
}

KYOTO_CT_TEST(Mpsc, SendTimeoutWaitingForASlotSendsWhenOneFreesInTime) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto waiting = co_await send_timeout_waiting_for_the_slot(tx);
  EXPECT_EQ(co_await rx.recv(), 0);
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_TRUE((co_await waiting).has_value());
  EXPECT_EQ(co_await rx.recv(), 1);
}

KYOTO_CT_TEST(Mpsc, SendTimeoutWaitingForASlotFailsClosedWhenTheReceiverIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto waiting = co_await send_timeout_waiting_for_the_slot(tx);
  {
    auto dropped = std::move(rx);
  }
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  auto r = co_await waiting;
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_closed());
  EXPECT_EQ(r.error().value, 1);
  EXPECT_STREQ(r.error().what(), "channel closed");
}

KYOTO_CT_TEST(Mpsc, SendTimeoutThatTimedOutLeavesTheQueueAndHandsTheValueBack) {
  using namespace std::chrono_literals;
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  tx.try_send(std::make_unique<int>(0)).expect("try_send");
  auto value = std::make_unique<int>(1);
  int* const address = value.get();
  auto r = co_await tx.send_timeout(std::move(value), 5ms);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_timeout());
  EXPECT_FALSE(r.error().is_closed());
  EXPECT_STREQ(r.error().what(), "timed out waiting on send operation");
  EXPECT_EQ(r.error().value.get(), address);  // the very object
  // It left the queue: the slot the next receive frees stays free.
  EXPECT_TRUE(rx.try_recv().has_value());
  EXPECT_EQ(tx.capacity(), 1u);
}

KYOTO_CT_TEST(Mpsc, SendTimeoutWithAZeroTimeoutSendsIfThereIsRoomAndTimesOutIfNot) {
  using namespace std::chrono_literals;
  auto [tx, rx] = mpsc::channel<int>(1);
  EXPECT_TRUE((co_await tx.send_timeout(1, 0ms)).has_value());
  auto r = co_await tx.send_timeout(2, 0ms);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_timeout());
  EXPECT_TRUE(received(rx.try_recv(), 1));
  EXPECT_EQ(tx.capacity(), 1u);
}

// A slot granted after the deadline passed, before the send resumed, still
// wins (tokio's timeout polls the reserve first). The deadline passes
// while this task blocks its thread (a timeout, not synchronisation: the
// outcome is the same whether or not the timer fired meanwhile).
KYOTO_CT_TEST(Mpsc, SendTimeoutGrantedASlotAfterItsDeadlinePassedStillSends) {
  using namespace std::chrono_literals;
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(0).expect("try_send");
  auto waiting = kyoto::spawn(send_within(&tx, 1, 2ms));
  co_await let_others_run(1);
  EXPECT_FALSE(waiting.is_finished());
  std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(received(rx.try_recv(), 0));  // grants the slot before `waiting` runs
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_TRUE((co_await waiting).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 1));
}

KYOTO_CT_TEST(Mpsc, CancelledWaitingSendTimeoutLeavesTheQueueAndItsTimer) {
  using namespace std::chrono_literals;
  auto [tx, rx] = mpsc::channel<int>(1);
  auto waiting = co_await send_timeout_waiting_for_the_slot(tx);
  EXPECT_TRUE(co_await abort_and_wait(waiting));
  EXPECT_TRUE(received(rx.try_recv(), 0));
  EXPECT_EQ(tx.capacity(), 1u);  // not granted to the cancelled send
  // A sleep past the cancelled timer's would-be tick runs fine (its entry
  // is out of the wheel; ASan would see a stale one).
  co_await kyoto::time::sleep(2ms);
}

KYOTO_CT_TEST(Mpsc, CancelledSendTimeoutThatWasGrantedASlotPassesItOnAndSendsNothing) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto first = co_await send_timeout_waiting_for_the_slot(tx);
  auto second = kyoto::spawn(send_one<int>(tx, 2));
  co_await let_others_run();
  EXPECT_TRUE(received(rx.try_recv(), 0));      // grants the slot to `first`
  EXPECT_TRUE(co_await abort_and_wait(first));  // cancelled before it runs
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  EXPECT_TRUE(co_await second);
  EXPECT_TRUE(received(rx.try_recv(), 2));
  EXPECT_TRUE(is_empty(rx.try_recv()));
}

// -- the cooperative budget --

// Operations that complete at once spend the task's budget, then yield:
// a loop of them cannot starve a neighbour (runtime/detail/coop.hpp).
KYOTO_CT_TEST(Mpsc, AlwaysReadyReserveRecvManyAndClosedLoopsYieldToOtherTasks) {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::atomic<bool> neighbour_ran{false};
  auto neighbour = kyoto::spawn(
      [](std::atomic<bool>* ran) -> kyoto::task<> {
        ran->store(true);
        co_return;
      },
      &neighbour_ran);
  std::vector<int> buffer;
  for (int i = 0; i < 1000 && !neighbour_ran.load(); ++i) {
    auto permit = co_await tx.reserve();
    KYOTO_ASSERT_TRUE(permit.has_value());
    permit->send(i);
    buffer.clear();
    EXPECT_EQ(co_await rx.recv_many(buffer, 4), 1u);
  }
  EXPECT_TRUE(neighbour_ran.load()) << "reserve/recv_many never yielded";

  rx.close();
  neighbour_ran.store(false);
  auto neighbour2 = kyoto::spawn(
      [](std::atomic<bool>* ran) -> kyoto::task<> {
        ran->store(true);
        co_return;
      },
      &neighbour_ran);
  for (int i = 0; i < 1000 && !neighbour_ran.load(); ++i)
    co_await tx.closed();
  EXPECT_TRUE(neighbour_ran.load()) << "closed() never yielded";
  co_await neighbour;
  co_await neighbour2;
}

// -- across threads: the new operations from plain threads and workers --

KYOTO_CT_TEST(Mpsc, ClosedWaitingInATaskIsWokenByAReceiverDroppedOnAThread) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto [started_tx, started_rx] = mpsc::unbounded_channel<int>();
  std::jthread dropper([receiver = std::move(rx), started = std::move(started_rx)]() mutable {
    (void)started.blocking_recv();  // the task is about to wait (or waits)
    auto dropped = std::move(receiver);
  });
  started_tx.send(0).expect("started");
  co_await tx.closed();
  EXPECT_TRUE(tx.is_closed());
}

}  // namespace
