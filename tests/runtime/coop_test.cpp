// The cooperative budget (runtime/detail/coop.hpp): a task whose awaits
// always complete at once still gives its thread back, and the yield it is
// made to take is cancel safe.
#include "ct_test.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace mpsc = kyoto::sync::mpsc;

/// Sends to itself and receives, forever: every await is ready at once.
kyoto::task<long> spin_on_ready_channel(std::atomic<bool>& stop) {
  auto [tx, rx] = mpsc::channel<int>(1);
  long rounds = 0;
  while (!stop.load()) {
    (co_await tx.send(1)).value();
    (void)co_await rx.recv();
    ++rounds;
  }
  co_return rounds;
}

// Without the budget the spinning task would never give the only worker
// back: the timer would never fire and the test would hang.
KYOTO_TEST_WITH(Coop, AHotTaskDoesNotStarveATimerOnOneWorker,
                kyoto::runtime::builder::multi_thread().worker_threads(1)) {
  std::atomic<bool> stop{false};
  auto hot = kyoto::spawn(spin_on_ready_channel(stop));
  co_await kyoto::time::sleep(10ms);
  stop = true;
  EXPECT_GT(co_await hot, 0);
}

KYOTO_CT_TEST(Coop, AHotTaskDoesNotStarveATimerOnCurrentThread) {
  std::atomic<bool> stop{false};
  auto hot = kyoto::spawn(spin_on_ready_channel(stop));
  co_await kyoto::time::sleep(10ms);
  stop = true;
  EXPECT_GT(co_await hot, 0);
}

KYOTO_TEST_WITH(Coop, AHotTaskDoesNotStarveAnotherTaskOnOneWorker,
                kyoto::runtime::builder::multi_thread().worker_threads(1)) {
  std::atomic<bool> stop{false};
  auto hot = kyoto::spawn(spin_on_ready_channel(stop));
  auto other = kyoto::spawn([]() -> kyoto::task<int> {
    int steps = 0;
    for (int i = 0; i < 100; ++i) {
      co_await kyoto::yield_now();
      ++steps;
    }
    co_return steps;
  });
  EXPECT_EQ(co_await other, 100);
  stop = true;
  co_await hot;
}

// 1000 values ready at once: the receiving task yields every budget, so
// the other task interleaves, and every value still arrives, in order.
KYOTO_CT_TEST(Coop, TheBudgetsYieldLetsOthersRunAndLosesNothing) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  for (int i = 0; i < 1000; ++i)
    tx.send(i).value();
  std::vector<int> order;
  auto other = kyoto::spawn(
      [](std::vector<int>& o) -> kyoto::task<> {
        for (int i = 0; i < 20; ++i) {
          o.push_back(-1);
          co_await kyoto::yield_now();
        }
      },
      std::ref(order));
  int expected = 0;
  bool in_order = true;
  for (int i = 0; i < 1000; ++i) {
    const std::optional<int> v = co_await rx.recv();
    in_order = in_order && v == expected++;
    order.push_back(i);
  }
  EXPECT_TRUE(in_order);
  // The other task ran before the receiver was done: the budget yielded.
  std::size_t first_other = 0;
  while (first_other < order.size() && order[first_other] != -1)
    ++first_other;
  EXPECT_LT(first_other, 1000u);
  EXPECT_LE(first_other, kyoto::detail::coop_budget);
  co_await other;
}

// A receive that yields for the budget has taken nothing: cancelled there,
// its value stays first in the channel.
KYOTO_CT_TEST(Coop, ACancelledBudgetYieldOfARecvTakesNothing) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  for (int i = 0; i < 300; ++i)
    tx.send(i).value();
  std::atomic<int> received{0};
  auto receiver = kyoto::spawn(
      [](mpsc::receiver<int>* in, std::atomic<int>& n) -> kyoto::task<> {
        for (;;) {
          (void)co_await in->recv();
          ++n;
        }
      },
      &rx, std::ref(received));
  co_await kyoto::yield_now();  // it receives a budget's worth, then yields
  const int got = received.load();
  EXPECT_EQ(got, static_cast<int>(kyoto::detail::coop_budget));
  receiver.abort();
  EXPECT_THROW(co_await receiver, kyoto::join_error);
  EXPECT_EQ(rx.try_recv().value(), got);  // the yielded receive took nothing
}

// A send that yields for the budget holds a granted slot: cancelled there,
// it sends nothing and the slot returns to the channel.
KYOTO_CT_TEST(Coop, ACancelledBudgetYieldOfASendSendsNothing) {
  constexpr int capacity = 1000;
  auto [tx, rx] = mpsc::channel<int>(capacity);
  std::atomic<int> sent{0};
  auto sender = kyoto::spawn(
      [](mpsc::sender<int> out, std::atomic<int>& n) -> kyoto::task<> {
        for (int i = 0;; ++i) {
          (co_await out.send(i)).value();
          ++n;
        }
      },
      tx, std::ref(sent));
  co_await kyoto::yield_now();  // it sends a budget's worth, then yields
  const int got = sent.load();
  EXPECT_EQ(got, static_cast<int>(kyoto::detail::coop_budget));
  sender.abort();
  EXPECT_THROW(co_await sender, kyoto::join_error);
  int buffered = 0;
  while (rx.try_recv().has_value())
    ++buffered;
  EXPECT_EQ(buffered, got);  // the yielded send sent nothing
  for (int i = 0; i < capacity; ++i)
    EXPECT_TRUE(tx.try_send(i).has_value()) << i;
  EXPECT_TRUE(tx.try_send(0).error().is_full());  // and every slot came back
}

}  // namespace
