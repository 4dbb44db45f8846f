// kyoto::sync::mpsc weak senders (weak_sender, weak_unbounded_sender),
// ported from tokio 1.24 tests/sync_mpsc_weak.rs (every test), plus
// kyoto's contracts (copies, moved-from handles, a weak sender outliving
// the channel's other handles). tests/stress/cross_thread_test.cpp races
// upgrade() against the last sender's drop.
//
// Left out of tokio's file: nothing.
#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/oneshot.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace {

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;
using kyoto::test::drop_counter;

// tokio's WeakSender is Clone; kyoto's weak senders copy, and move.
static_assert(std::is_copy_constructible_v<mpsc::weak_sender<int>>);
static_assert(std::is_nothrow_move_constructible_v<mpsc::weak_sender<int>>);
static_assert(std::is_copy_constructible_v<mpsc::weak_unbounded_sender<int>>);
static_assert(std::is_nothrow_move_constructible_v<mpsc::weak_unbounded_sender<int>>);

// ---- helpers: tokio's actor, for both channel kinds ----

/// tokio's ActorMessage: GetUniqueId { respond_to } or SelfMessage {}.
/// Constructors, not an aggregate (GCC 12 copies an aggregate temporary in
/// a co_await expression bitwise; docs/architecture.md).
class actor_message {
 public:
  static actor_message get_unique_id(oneshot::sender<std::uint32_t> respond_to) {
    return actor_message(std::move(respond_to));
  }
  static actor_message self_message() { return actor_message(std::nullopt); }

  bool is_self_message() const noexcept { return !respond_to_.has_value(); }
  oneshot::sender<std::uint32_t>& respond_to() { return *respond_to_; }

 private:
  explicit actor_message(std::optional<oneshot::sender<std::uint32_t>> respond_to)
      : respond_to_(std::move(respond_to)) {}

  std::optional<oneshot::sender<std::uint32_t>> respond_to_;
};

/// Sends on either kind of sender; ignores a failure (tokio's `let _ =`).
kyoto::task<> send_ignoring_errors(mpsc::sender<actor_message>& tx, actor_message msg) {
  auto r = co_await tx.send(std::move(msg));
  (void)r;
}
kyoto::task<> send_ignoring_errors(mpsc::unbounded_sender<actor_message>& tx, actor_message msg) {
  auto r = tx.send(std::move(msg));
  (void)r;
  co_return;
}

/// tokio's MyActor: answers GetUniqueId, and after the first message sends
/// itself a SelfMessage through its weak sender.
template <class WeakSender>
class my_actor {
 public:
  my_actor(mpsc::receiver<actor_message> receiver, WeakSender sender)
      : receiver_(std::move(receiver)), sender_(std::move(sender)) {}

  kyoto::task<> run() {
    int i = 0;
    while (std::optional<actor_message> msg = co_await receiver_.recv()) {
      handle_message(*msg);
      if (i == 0) co_await send_message_to_self();
      ++i;
    }
    EXPECT_TRUE(received_self_msg_);
  }

 private:
  void handle_message(actor_message& msg) {
    if (msg.is_self_message()) {
      received_self_msg_ = true;
      return;
    }
    ++next_id_;
    // The `let _ =` ignores any errors when sending (the requester may
    // have stopped waiting).
    auto r = msg.respond_to().send(next_id_);
    (void)r;
  }

  kyoto::task<> send_message_to_self() {
    WeakSender sender = sender_;  // cannot move sender_ here
    if (auto strong = sender.upgrade()) {
      co_await send_ignoring_errors(*strong, actor_message::self_message());
      sender_ = strong->downgrade();
    }
  }

  mpsc::receiver<actor_message> receiver_;
  WeakSender sender_;
  std::uint32_t next_id_ = 0;
  bool received_self_msg_ = false;
};

/// tokio's MyActorHandle::get_unique_id.
template <class Sender>
kyoto::task<std::uint32_t> get_unique_id(Sender& sender) {
  auto [send, recv] = oneshot::channel<std::uint32_t>();
  // Ignore send errors: if this send fails, so does the recv below.
  co_await send_ignoring_errors(sender, actor_message::get_unique_id(std::move(send)));
  auto id = co_await recv;
  co_return id.expect("Actor task has been killed");
}

/// tokio's `tokio::spawn(async move { let _ = handle.get_unique_id().await;
/// drop(handle); })`: the handle (a sender) dies with the task.
template <class Sender>
kyoto::task<> ask_once_then_drop(Sender handle) {
  (void)co_await get_unique_id(handle);
}

template <class WeakSender>
kyoto::task<> run_actor(my_actor<WeakSender> actor) {
  co_await actor.run();
}

// ---- tokio 1.24 tests/sync_mpsc_weak.rs ----

/// weak_sender's checks, bounded or unbounded: `rx` receives what
/// send_ten_then_upgrade sent (the eleventh value is 20), then the end;
/// the weak sender it gave no longer upgrades.
template <class Receiver, class WeakSender>
kyoto::task<> expect_the_sends_then_no_upgrade(Receiver& rx,
                                               const std::optional<WeakSender>& tx_weak) {
  for (int i = 0; i < 12; ++i) {
    std::optional<int> recvd = co_await rx.recv();
    if (recvd) {
      if (i == 10) {
        EXPECT_EQ(*recvd, 20);
      }
    } else {
      EXPECT_EQ(i, 11);
      break;
    }
  }

  KYOTO_ASSERT_TRUE(tx_weak.has_value());
  EXPECT_FALSE(tx_weak->upgrade().has_value());
}

kyoto::task<std::optional<mpsc::weak_sender<int>>> send_ten_then_upgrade(mpsc::sender<int> tx) {
  mpsc::weak_sender<int> tx_weak = mpsc::sender<int>(tx).downgrade();  // tx.clone().downgrade()

  for (int i = 0; i < 10; ++i) {
    auto r = co_await tx.send(i);
    if (!r.has_value()) co_return std::nullopt;
  }

  std::optional<mpsc::sender<int>> tx2 = tx_weak.upgrade();
  if (!tx2) throw std::logic_error("expected to be able to upgrade tx_weak");
  auto r = co_await tx2->send(20);
  (void)r;
  co_return tx2->downgrade();
}

// weak_sender
KYOTO_TEST(MpscWeak, WeakSenderUpgradesWhileASenderLivesAndFailsOnceEveryOneIsGone) {
  auto [tx, rx] = mpsc::channel<int>(11);

  auto sending = kyoto::spawn(send_ten_then_upgrade(std::move(tx)));
  std::optional<mpsc::weak_sender<int>> tx_weak = co_await sending;

  co_await expect_the_sends_then_no_upgrade(rx, tx_weak);
}

// actor_weak_sender (on a current_thread runtime, as tokio's #[tokio::test]:
// the actor upgrades its weak sender right after replying, before the
// asking task can run and drop the last sender; on several workers that
// is a race the actor may lose, and then it never gets its self message).
KYOTO_CT_TEST(MpscWeak, AnActorSendsToItselfThroughAWeakSenderAndEndsWhenItsHandlesAreGone) {
  auto [sender, receiver] = mpsc::channel<actor_message>(8);
  my_actor<mpsc::weak_sender<actor_message>> actor(std::move(receiver),
                                                   mpsc::sender<actor_message>(sender).downgrade());

  auto actor_handle = kyoto::spawn(run_actor(std::move(actor)));
  auto asking = kyoto::spawn(ask_once_then_drop(std::move(sender)));
  co_await asking;
  co_await actor_handle;  // ends: the weak sender does not keep it alive
}

// test_msgs_dropped_on_rx_drop
KYOTO_CT_TEST(MpscWeak, ValuesBufferedWhenTheReceiverIsDroppedAreDestroyedAndLaterSendsFail) {
  std::atomic<int> num_dropped{0};
  auto [tx, rx] = mpsc::channel<drop_counter>(3);

  (co_await tx.send(drop_counter(num_dropped))).expect("send 1");
  (co_await tx.send(drop_counter(num_dropped))).expect("send 2");

  // This value will be pending and must be destroyed when rx is dropped.
  auto sent_fut = tx.send(drop_counter(num_dropped));

  KYOTO_ASSERT_TRUE((co_await rx.recv()).has_value());
  KYOTO_ASSERT_TRUE((co_await rx.recv()).has_value());

  (co_await std::move(sent_fut)).expect("send 3");

  {
    auto dropped = std::move(rx);
  }

  EXPECT_EQ(num_dropped.load(), 3);

  // This value is not put in the channel any more: the receiver is gone.
  EXPECT_FALSE((co_await tx.send(drop_counter(num_dropped))).has_value());

  EXPECT_EQ(num_dropped.load(), 4);
}

// downgrade_upgrade_sender_success
TEST(MpscWeak, WeakSenderUpgradesWhileItsSenderLives) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak_tx = tx.downgrade();
  EXPECT_TRUE(weak_tx.upgrade().has_value());
}

// downgrade_upgrade_sender_failure
TEST(MpscWeak, WeakSenderFailsToUpgradeOnceItsOnlySenderIsDropped) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak_tx = tx.downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_FALSE(weak_tx.upgrade().has_value());
}

// downgrade_drop_upgrade
TEST(MpscWeak, WeakSenderOfADroppedCopyFailsToUpgradeOnceTheOriginalIsDroppedToo) {
  auto [tx, rx] = mpsc::channel<int>(1);
  // the copied sender is dropped right away
  auto weak_tx = mpsc::sender<int>(tx).downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_FALSE(weak_tx.upgrade().has_value());
}

// downgrade_get_permit_upgrade_no_senders
KYOTO_CT_TEST(MpscWeak, WeakSenderUpgradesWhileAnOwnedPermitHoldsTheOnlySender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak_tx = tx.downgrade();
  auto permit = co_await std::move(tx).reserve_owned();
  KYOTO_ASSERT_TRUE(permit.has_value());
  EXPECT_TRUE(weak_tx.upgrade().has_value());
}

// downgrade_upgrade_get_permit_no_senders
KYOTO_CT_TEST(MpscWeak, WeakSenderMadeAfterAnOwnedPermitTookASenderUpgrades) {
  auto [tx, rx] = mpsc::channel<int>(1);
  mpsc::sender<int> tx2 = tx;
  auto permit = co_await std::move(tx).reserve_owned();
  KYOTO_ASSERT_TRUE(permit.has_value());
  auto weak_tx = tx2.downgrade();
  {
    auto dropped = std::move(tx2);
  }
  EXPECT_TRUE(weak_tx.upgrade().has_value());
}

// test_tx_count_weak_sender
TEST(MpscWeak, DowngradingDoesNotCountAsASender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto tx_weak = tx.downgrade();
  auto tx_weak2 = tx.downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(!tx_weak.upgrade().has_value() && !tx_weak2.upgrade().has_value());
}

kyoto::task<std::optional<mpsc::weak_unbounded_sender<int>>> send_ten_then_upgrade_unbounded(
    mpsc::unbounded_sender<int> tx) {
  mpsc::weak_unbounded_sender<int> tx_weak = mpsc::unbounded_sender<int>(tx).downgrade();

  for (int i = 0; i < 10; ++i) {
    if (!tx.send(i).has_value()) co_return std::nullopt;
  }

  std::optional<mpsc::unbounded_sender<int>> tx2 = tx_weak.upgrade();
  if (!tx2) throw std::logic_error("expected to be able to upgrade tx_weak");
  auto r = tx2->send(20);
  (void)r;
  co_return tx2->downgrade();
}

// weak_unbounded_sender
KYOTO_TEST(MpscWeak, WeakUnboundedSenderUpgradesWhileASenderLivesAndFailsOnceEveryOneIsGone) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();

  auto sending = kyoto::spawn(send_ten_then_upgrade_unbounded(std::move(tx)));
  std::optional<mpsc::weak_unbounded_sender<int>> tx_weak = co_await sending;

  co_await expect_the_sends_then_no_upgrade(rx, tx_weak);
}

// actor_weak_unbounded_sender (current_thread: see actor_weak_sender)
KYOTO_CT_TEST(MpscWeak,
              AnActorSendsToItselfThroughAWeakUnboundedSenderAndEndsWhenItsHandlesAreGone) {
  auto [sender, receiver] = mpsc::unbounded_channel<actor_message>();
  my_actor<mpsc::weak_unbounded_sender<actor_message>> actor(
      std::move(receiver), mpsc::unbounded_sender<actor_message>(sender).downgrade());

  auto actor_handle = kyoto::spawn(run_actor(std::move(actor)));
  auto asking = kyoto::spawn(ask_once_then_drop(std::move(sender)));
  co_await asking;
  co_await actor_handle;
}

// test_msgs_dropped_on_unbounded_rx_drop
KYOTO_CT_TEST(MpscWeak,
              UnboundedValuesBufferedWhenTheReceiverIsDroppedAreDestroyedAndLaterSendsFail) {
  std::atomic<int> num_dropped{0};
  auto [tx, rx] = mpsc::unbounded_channel<drop_counter>();

  tx.send(drop_counter(num_dropped)).expect("send 1");
  tx.send(drop_counter(num_dropped)).expect("send 2");

  // This value will be pending and must be destroyed when rx is dropped.
  auto sent = tx.send(drop_counter(num_dropped));

  KYOTO_ASSERT_TRUE((co_await rx.recv()).has_value());
  KYOTO_ASSERT_TRUE((co_await rx.recv()).has_value());

  sent.expect("send 3");

  {
    auto dropped = std::move(rx);
  }

  EXPECT_EQ(num_dropped.load(), 3);

  // This value is not put in the channel any more: the receiver is gone.
  EXPECT_FALSE(tx.send(drop_counter(num_dropped)).has_value());

  EXPECT_EQ(num_dropped.load(), 4);
}

// downgrade_upgrade_unbounded_sender_success
TEST(MpscWeak, WeakUnboundedSenderUpgradesWhileItsSenderLives) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto weak_tx = tx.downgrade();
  EXPECT_TRUE(weak_tx.upgrade().has_value());
}

// downgrade_upgrade_unbounded_sender_failure
TEST(MpscWeak, WeakUnboundedSenderFailsToUpgradeOnceItsOnlySenderIsDropped) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto weak_tx = tx.downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_FALSE(weak_tx.upgrade().has_value());
}

// downgrade_drop_upgrade_unbounded
TEST(MpscWeak, WeakUnboundedSenderOfADroppedCopyFailsToUpgradeOnceTheOriginalIsDroppedToo) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto weak_tx = mpsc::unbounded_sender<int>(tx).downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_FALSE(weak_tx.upgrade().has_value());
}

// test_tx_count_weak_unbounded_sender
TEST(MpscWeak, DowngradingAnUnboundedSenderDoesNotCountAsASender) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto tx_weak = tx.downgrade();
  auto tx_weak2 = tx.downgrade();
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(!tx_weak.upgrade().has_value() && !tx_weak2.upgrade().has_value());
}

// ---- kyoto's contracts ----

KYOTO_CT_TEST(MpscWeak, RecvEndsWhileAWeakSenderLives) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto weak = tx.downgrade();
  tx.try_send(1).expect("try_send");
  {
    auto dropped = std::move(tx);
  }
  EXPECT_EQ(co_await rx.recv(), 1);
  EXPECT_EQ(co_await rx.recv(), std::nullopt);  // the weak sender does not count
  EXPECT_FALSE(weak.upgrade().has_value());
}

KYOTO_CT_TEST(MpscWeak, AnUpgradedSenderKeepsTheChannelOpenAfterTheOriginalIsDropped) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  auto weak = tx.downgrade();
  std::optional<mpsc::unbounded_sender<int>> upgraded = weak.upgrade();
  KYOTO_ASSERT_TRUE(upgraded.has_value());
  EXPECT_TRUE(upgraded->same_channel(tx));
  {
    auto dropped = std::move(tx);
  }
  EXPECT_TRUE(rx.try_recv().error().is_empty());  // still open
  upgraded->send(5).expect("send");
  upgraded.reset();
  EXPECT_EQ(co_await rx.recv(), 5);
  EXPECT_EQ(co_await rx.recv(), std::nullopt);
}

TEST(MpscWeak, ACopiedWeakSenderUpgradesToTheSameChannel) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak = tx.downgrade();
  // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is under test
  mpsc::weak_sender<int> copy = weak;
  auto upgraded = copy.upgrade();
  ASSERT_TRUE(upgraded.has_value());
  EXPECT_TRUE(upgraded->same_channel(tx));
  upgraded->try_send(3).expect("try_send");
  EXPECT_EQ(rx.try_recv().value(), 3);
}

TEST(MpscWeak, AssigningWeakSendersKeepsEachChannelsMemoryAsLongAsNeeded) {
  auto [tx_a, rx_a] = mpsc::channel<int>(1);
  auto [tx_b, rx_b] = mpsc::channel<int>(1);
  mpsc::weak_sender<int> w = tx_a.downgrade();
  const mpsc::weak_sender<int> wb = tx_b.downgrade();
  w = wb;
  const mpsc::weak_sender<int>& same = w;
  w = same;  // self-assignment keeps it
  auto upgraded = w.upgrade();
  ASSERT_TRUE(upgraded.has_value());
  EXPECT_TRUE(upgraded->same_channel(tx_b));
  mpsc::weak_sender<int> moved = tx_a.downgrade();
  w = std::move(moved);
  auto to_a = w.upgrade();
  ASSERT_TRUE(to_a.has_value());
  EXPECT_TRUE(to_a->same_channel(tx_a));
}

TEST(MpscWeak, UpgradingAMovedFromWeakSenderThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak = tx.downgrade();
  auto moved = std::move(weak);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&] { (void)weak.upgrade(); }, "kyoto::sync::mpsc::weak_sender::upgrade");
  EXPECT_TRUE(moved.upgrade().has_value());

  auto [utx, urx] = mpsc::unbounded_channel<int>();
  auto uweak = utx.downgrade();
  auto umoved = std::move(uweak);
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  EXPECT_THROW((void)uweak.upgrade(), std::logic_error);
}

TEST(MpscWeak, DowngradingAMovedFromSenderThrowsLogicErrorNamingIt) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto tx2 = std::move(tx);
  kyoto::test::expect_throws<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&] { (void)tx.downgrade(); }, "downgrade");
}

// The weak sender is the channel's last handle: it keeps the memory (ASan
// checks it is freed once, after it).
TEST(MpscWeak, AWeakSenderMayOutliveEveryOtherHandle) {
  std::atomic<int> dropped{0};
  std::optional<mpsc::weak_sender<drop_counter>> weak;
  {
    auto [tx, rx] = mpsc::channel<drop_counter>(2);
    weak = tx.downgrade();
    tx.try_send(drop_counter(dropped)).expect("try_send");
  }
  EXPECT_EQ(dropped.load(), 1);  // destroyed with the receiver
  EXPECT_FALSE(weak->upgrade().has_value());
  weak.reset();
}

TEST(MpscWeak, AnUpgradedSenderOfAChannelWhoseReceiverIsGoneFailsToSendAndHandsTheValueBack) {
  auto [tx, rx] = mpsc::channel<int>(1);
  auto weak = tx.downgrade();
  {
    auto dropped = std::move(rx);
  }
  auto upgraded = weak.upgrade();  // senders live: the upgrade succeeds
  ASSERT_TRUE(upgraded.has_value());
  EXPECT_TRUE(upgraded->is_closed());
  auto r = upgraded->try_send(9);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is_closed());
  EXPECT_EQ(r.error().value, 9);
}

}  // namespace
