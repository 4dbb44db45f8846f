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
// Left out of tokio's file (not in kyoto yet):
// reserve_disarm: needs reserve() and permits (not in kyoto yet)
// send_recv_stream_with_buffer: needs a Stream adapter over the receiver (poll_recv; not in kyoto)
// send_recv_stream_unbounded: needs a Stream adapter over the receiver (poll_recv; not in kyoto)
// try_reserve_fails: needs try_reserve() (not in kyoto yet)
// drop_permit_releases_permit: needs reserve() and permits (not in kyoto yet)
// ready_close_cancel_bounded: needs reserve(); its subject is an outstanding permit after close
// permit_available_not_acquired_close: needs reserve() and permits (not in kyoto yet)
// recv_timeout: needs send_timeout() (not in kyoto yet)
// recv_timeout_panic: needs send_timeout() (not in kyoto yet)
// test_tx_capacity: needs capacity()/max_capacity() and reserve() (not in kyoto yet)
// The is_debug() checks of no_t_bounds_*: Rust's Debug trait has no C++ counterpart.
#include "ct_test.hpp"
#include "drop_counter.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
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

/// Lets every other ready task run `rounds` times over.
kyoto::task<> let_others_run(int rounds = 5) {
  for (int i = 0; i < rounds; ++i)
    co_await kyoto::yield_now();
}

/// Whether `h` finishes while the other tasks run at most 100 times over.
template <class T>
kyoto::task<bool> finishes_soon(const kyoto::join_handle<T>& h) {
  for (int i = 0; i < 100 && !h.is_finished(); ++i)
    co_await kyoto::yield_now();
  co_return h.is_finished();
}

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

// ==== ported from tokio's sync_mpsc.rs ====

// send_recv_with_buffer (its reserve().await + permit.send(1) is a send()).
KYOTO_CT_TEST(Mpsc, SendAndTrySendAreReceivedInOrderThenNulloptAfterTheSenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(16);

  (co_await tx.send(1)).expect("send 1");
  tx.try_send(2).expect("try_send 2");

  {
    auto dropped = std::move(tx);
  }

  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

kyoto::task<> send_1_2(mpsc::sender<int> tx) {
  (co_await tx.send(1)).expect("send 1");
  (co_await tx.send(2)).expect("send 2");
}

// async_send_recv_with_buffer
KYOTO_CT_TEST(Mpsc, ValuesSentFromASpawnedTaskAreReceivedInOrder) {
  auto [tx, rx] = mpsc::channel<int>(16);

  auto sending = kyoto::spawn(send_1_2(std::move(tx)));

  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
  co_await sending;
}

// start_send_past_cap (its two reserve() futures are sends waiting in
// spawned tasks; the first is dropped (aborted) before a slot frees).
KYOTO_CT_TEST(Mpsc, AbortedWaitingSendDoesNotTakeTheSlotARecvFrees) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  tx1.try_send(0).expect("try_send");

  auto r1 = kyoto::spawn(send_one<int>(tx1, 1));
  co_await let_others_run();
  auto r2 = kyoto::spawn(send_one<int>(tx2, 2));
  co_await let_others_run();
  EXPECT_FALSE(r1.is_finished());
  EXPECT_FALSE(r2.is_finished());

  r1.abort();
  try {
    co_await r1;
    ADD_FAILURE() << "the aborted send completed";
  } catch (const kyoto::join_error& e) {
    EXPECT_TRUE(e.is_cancelled());
  }

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
  try {
    auto ch = mpsc::channel<int>(0);
    ADD_FAILURE() << "channel(0) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos) << e.what();
  }
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

  auto sending = kyoto::spawn(send_1_2_unbounded(std::move(tx)));

  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
  co_await sending;
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

// send_recv_buffer_limited (reserve() + permit.send() are send()s; the
// pending reserve is a send waiting in a spawned task).
KYOTO_CT_TEST(Mpsc, SendOnAFullChannelWaitsAndTakesTheSlotTheNextRecvFrees) {
  auto [tx, rx] = mpsc::channel<int>(1);

  (co_await tx.send(1)).expect("send 1");

  auto p2 = kyoto::spawn(send_one<int>(tx, 2));
  co_await let_others_run();
  EXPECT_FALSE(p2.is_finished());  // not ready

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

// recv_close_gets_none_reserved (adapted: with no reserve(), the reserved
// slot is a buffered value and the pending reserve a waiting send; the
// close fails the waiting send, and the buffered value is still received).
KYOTO_CT_TEST(Mpsc, CloseFailsAWaitingSendAndKeepsBufferedValuesReceivable) {
  auto [tx1, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx1;

  (co_await tx1.send(123)).expect("send 123");

  auto permit2 = kyoto::spawn(send_result<int>(tx2, 456));
  co_await let_others_run();
  EXPECT_FALSE(permit2.is_finished());

  rx.close();

  KYOTO_ASSERT_TRUE(co_await finishes_soon(permit2));
  auto r = co_await permit2;
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, 456);

  EXPECT_EQ(co_await rx.recv(), 123);
  EXPECT_FALSE((co_await rx.recv()).has_value());
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
  auto [tx, rx] = mpsc::channel<std::string>(1);

  tx.try_send("hello").expect("try_send hello");

  auto r = tx.try_send("fail");
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_full());
  EXPECT_FALSE(r.error().is_closed());

  EXPECT_EQ(co_await rx.recv(), "hello");

  EXPECT_TRUE(tx.try_send("goodbye").has_value());
  {
    auto dropped = std::move(tx);
  }

  EXPECT_EQ(co_await rx.recv(), "goodbye");
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

// try_send_fail_with_try_recv
TEST(Mpsc, TrySendOnAFullChannelFailsAndTryRecvDrainsIt) {
  auto [tx, rx] = mpsc::channel<std::string>(1);

  tx.try_send("hello").expect("try_send hello");

  auto r = tx.try_send("fail");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_full());

  EXPECT_TRUE(received(rx.try_recv(), "hello"));

  EXPECT_TRUE(tx.try_send("goodbye").has_value());
  {
    auto dropped = std::move(tx);
  }

  EXPECT_TRUE(received(rx.try_recv(), "goodbye"));
  EXPECT_TRUE(is_disconnected(rx.try_recv()));
}

// dropping_rx_closes_channel (its reserve().await is a send()).
KYOTO_CT_TEST(Mpsc, DroppingTheReceiverFailsSendAndDestroysBufferedValues) {
  auto [tx, rx] = mpsc::channel<std::shared_ptr<int>>(100);

  auto msg = std::make_shared<int>(7);
  EXPECT_TRUE(tx.try_send(msg).has_value());
  EXPECT_EQ(msg.use_count(), 2);

  {
    auto dropped = std::move(rx);
  }
  EXPECT_EQ(msg.use_count(), 1);  // the buffered copy is gone

  auto r = co_await tx.send(msg);
  KYOTO_ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, msg);  // handed back, not kept
  EXPECT_EQ(msg.use_count(), 2);
}

// dropping_rx_closes_channel_for_try (its try_reserve() and
// try_reserve_owned() checks need reserve; not in kyoto yet).
TEST(Mpsc, DroppingTheReceiverFailsTrySendWithIsClosed) {
  auto [tx, rx] = mpsc::channel<std::shared_ptr<int>>(100);

  auto msg = std::make_shared<int>(7);
  tx.try_send(msg).expect("try_send");

  {
    auto dropped = std::move(rx);
  }

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
  try {
    (void)rx.blocking_recv();
    ADD_FAILURE() << "blocking_recv returned on a runtime thread";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("blocking_recv"), std::string::npos) << e.what();
  }
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
  try {
    tx.send(1).expect("receiver gone");
    ADD_FAILURE() << "expect did not throw";
  } catch (const kyoto::bad_result_access& e) {
    EXPECT_STREQ(e.what(), "receiver gone: channel closed");
  }
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

  auto waiting = kyoto::spawn(recv_one<int>(&rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

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
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

KYOTO_CT_TEST(Mpsc, RecvAfterCloseStillGivesTheBufferedValuesFirst) {
  auto [tx, rx] = mpsc::channel<int>(4);
  tx.try_send(1).expect("try_send 1");
  tx.try_send(2).expect("try_send 2");
  rx.close();
  EXPECT_TRUE(tx.is_closed());
  EXPECT_TRUE(failed_closed(tx.try_send(3)));
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());  // a sender lives, but closed
}

// -- capacity --

TEST(Mpsc, ChannelAboveMaxCapacityThrowsInvalidArgumentAndMaxCapacityIsAccepted) {
  try {
    auto ch = mpsc::channel<int>(mpsc::max_capacity + 1);
    ADD_FAILURE() << "channel(max_capacity + 1) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos) << e.what();
  }
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

  try {
    co_await first;
    ADD_FAILURE() << "the aborted send completed";
  } catch (const kyoto::join_error& e) {
    EXPECT_TRUE(e.is_cancelled());
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

  auto waiting = kyoto::spawn(send_one<int>(tx, 1));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  EXPECT_EQ(co_await rx.recv(), 0);  // grants the slot to `waiting`
  waiting.abort();
  try {
    co_await waiting;
    ADD_FAILURE() << "the aborted send completed";
  } catch (const kyoto::join_error&) {
  }

  EXPECT_TRUE(is_empty(rx.try_recv()));      // it sent nothing
  EXPECT_TRUE(tx.try_send(2).has_value());   // the slot is free
  EXPECT_TRUE(failed_full(tx.try_send(3)));  // and only one
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

KYOTO_CT_TEST(Mpsc, CancelledRecvLeavesLaterValuesReceivable) {
  auto [tx, rx] = mpsc::channel<int>(4);

  auto waiting = kyoto::spawn(recv_one<int>(&rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  waiting.abort();
  try {
    co_await waiting;
    ADD_FAILURE() << "the aborted recv completed";
  } catch (const kyoto::join_error& e) {
    EXPECT_TRUE(e.is_cancelled());
  }

  // A new recv can wait (the cancelled one left the receiver slot free),
  // and is woken by the next send.
  auto sending = kyoto::spawn(send_1_2(tx));
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), 2);
  co_await sending;
}

KYOTO_CT_TEST(Mpsc, ValueArrivingForACancelledRecvStaysFirstInTheChannel) {
  auto [tx, rx] = mpsc::channel<int>(4);

  auto waiting = kyoto::spawn(recv_one<int>(&rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  tx.try_send(7).expect("try_send 7");  // wakes `waiting`...
  waiting.abort();                      // ...which is cancelled before it runs
  try {
    auto got = co_await waiting;
    ADD_FAILURE() << "the aborted recv completed with " << (got ? *got : -1);
  } catch (const kyoto::join_error&) {
  }

  tx.try_send(8).expect("try_send 8");
  EXPECT_TRUE(received(rx.try_recv(), 7));
  EXPECT_TRUE(received(rx.try_recv(), 8));
}

KYOTO_CT_TEST(Mpsc, SecondRecvWaitingOnOneReceiverThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(1);

  auto first = kyoto::spawn(recv_one<int>(&rx));
  co_await let_others_run();
  EXPECT_FALSE(first.is_finished());

  auto second = kyoto::spawn(recv_one<int>(&rx));
  KYOTO_ASSERT_TRUE(co_await finishes_soon(second));
  try {
    co_await second;
    ADD_FAILURE() << "a second concurrent recv completed";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("another recv() is in progress"), std::string::npos)
        << e.what();
  }

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
  bool threw = false;
  try {
    (void)co_await kyoto::join(rx.recv(), steal(tx, rx));
  } catch (const std::logic_error& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find("another recv() is in progress"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(threw);
  EXPECT_TRUE(received(rx.try_recv(), 1));  // the value stayed in the channel
}

KYOTO_CT_TEST(Mpsc, AwaitingACompletedReceiveAgainThrowsLogicError) {
  auto [tx, rx] = mpsc::channel<int>(4);
  tx.try_send(7).expect("try_send");
  auto r = rx.recv();
  EXPECT_EQ(co_await std::move(r), std::optional<int>(7));
  EXPECT_THROW((void)co_await std::move(r), std::logic_error);
  auto s = tx.send(8);
  EXPECT_TRUE((co_await std::move(s)).has_value());
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
  try {
    // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
    (void)tx.try_send(1);
    ADD_FAILURE() << "try_send on a moved-from sender returned";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("try_send"), std::string::npos) << e.what();
  }
  try {
    // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
    (void)rx.try_recv();
    ADD_FAILURE() << "try_recv on a moved-from receiver returned";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("try_recv"), std::string::npos) << e.what();
  }
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

  auto waiting = kyoto::spawn(send_one<drop_counter>(tx, drop_counter(dropped)));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
  EXPECT_EQ(dropped.load(), 0);

  waiting.abort();
  try {
    co_await waiting;
  } catch (const kyoto::join_error&) {
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
  bool threw = false;
  try {
    std::optional<fragile> v = co_await rx.recv();
    ADD_FAILURE() << "the failing move did not throw; got a value: " << v.has_value();
  } catch (const std::runtime_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);

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
  bool threw = false;
  try {
    auto r = co_await tx.send(fragile(2, &budget));
    ADD_FAILURE() << "the failing move did not throw; sent: " << r.has_value();
  } catch (const std::runtime_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);

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
  auto waiting = kyoto::spawn(send_fragile(tx, 1, &failing, moves_per_send - 1));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

  EXPECT_TRUE(received(rx.try_recv(), 0));  // grants the slot to `waiting`
  KYOTO_ASSERT_TRUE(co_await finishes_soon(waiting));
  EXPECT_THROW(co_await waiting, std::runtime_error);

  EXPECT_TRUE(is_empty(rx.try_recv()));  // nothing was sent
  // So the one slot is free again.
  EXPECT_TRUE(tx.try_send(fragile(2, &budget)).has_value());
  EXPECT_TRUE(received(rx.try_recv(), 2));
}

// tokio's recv_close_gets_none_reserved, for the case kyoto has without
// reserve(): a send granted a slot before close() still delivers (a grant
// outlives close, as a tokio permit does), and recv() waits for it rather
// than reporting the end while it is outstanding.
KYOTO_CT_TEST(Mpsc, ASendGrantedBeforeCloseStillDeliversAndRecvWaitsForIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  tx.try_send(1).expect("try_send");
  auto waiting = kyoto::spawn(send_one<int>(tx, 2));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());

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
  auto waiting = kyoto::spawn(send_one<int>(std::move(tx), 1));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
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
  auto waiting = kyoto::spawn(recv_one<int>(rx));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
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
  auto waiting = kyoto::spawn(send_one<int>(std::move(tx), 1));
  co_await let_others_run();
  EXPECT_FALSE(waiting.is_finished());
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

}  // namespace
