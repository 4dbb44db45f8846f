// kyoto::sync::cancellation_token, ported from tokio-util 0.7.3
// tests/sync_cancellation_token.rs (including the tests upstream keeps
// commented out for want of futures_test: their count_waker polls become
// real tasks, "pending" = unfinished after the others ran a few times over),
// then kyoto's own contracts: the tree does not grow when children are made
// and dropped in a loop, drop_guard, run_until_cancelled, and cancel()
// from foreign threads.
//
// Left out: derives_send_sync (Rust's Send/Sync; static_asserts instead).
#include "ct_test.hpp"
#include "yielding.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/cancellation_token.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using kyoto::sync::cancellation_token;

namespace kyoto::detail {
struct token_test_access {
  static std::size_t children(const cancellation_token& t) {
    std::lock_guard<mutex> g(t.node_->lock->m);
    return t.node_->children.size();
  }
};
}  // namespace kyoto::detail

namespace {

std::size_t children_of(const cancellation_token& t) {
  return kyoto::detail::token_test_access::children(t);
}

kyoto::task<> wait_for(cancellation_token t) {
  co_await t.cancelled();
}

static_assert(std::is_copy_constructible_v<cancellation_token>);
static_assert(std::is_nothrow_move_constructible_v<cancellation_token>);

// tokio-util: cancel_token
KYOTO_CT_TEST(CancellationToken, CancelWakesEveryWaiter) {
  cancellation_token token;
  KYOTO_ASSERT_FALSE(token.is_cancelled());
  auto w1 = kyoto::spawn(wait_for(token));
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(w1.is_finished());
  auto w2 = kyoto::spawn(wait_for(token));
  co_await kyoto::test::let_others_run();
  token.cancel();
  EXPECT_TRUE(token.is_cancelled());
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(w1));
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(w2));
  co_await token.cancelled();  // completes at once now
}

// tokio-util: cancel_child_token_through_parent
KYOTO_CT_TEST(CancellationToken, CancellingParentCancelsChild) {
  cancellation_token token;
  cancellation_token child = token.child_token();
  EXPECT_FALSE(child.is_cancelled());
  auto c = kyoto::spawn(wait_for(child));
  auto p = kyoto::spawn(wait_for(token));
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(c.is_finished());
  EXPECT_FALSE(p.is_finished());
  token.cancel();
  EXPECT_TRUE(token.is_cancelled());
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(c));
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(p));
}

// tokio-util: cancel_grandchild_token_through_parent_if_child_was_dropped
KYOTO_CT_TEST(CancellationToken, GrandchildCancelledThroughParentAfterChildDropped) {
  cancellation_token token;
  std::optional<cancellation_token> intermediate = token.child_token();
  cancellation_token child = intermediate->child_token();
  intermediate.reset();
  EXPECT_FALSE(child.is_cancelled());
  EXPECT_EQ(children_of(token), 1u);  // the grandchild moved up
  auto c = kyoto::spawn(wait_for(child));
  auto p = kyoto::spawn(wait_for(token));
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(c.is_finished());
  token.cancel();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(c));
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(p));
}

// tokio-util: cancel_child_token_without_parent
KYOTO_CT_TEST(CancellationToken, CancellingChildLeavesParent) {
  cancellation_token token;
  cancellation_token child1 = token.child_token();
  auto c1 = kyoto::spawn(wait_for(child1));
  auto p = kyoto::spawn(wait_for(token));
  co_await kyoto::test::let_others_run();
  child1.cancel();
  EXPECT_FALSE(token.is_cancelled());
  EXPECT_TRUE(child1.is_cancelled());
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(c1));
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(p.is_finished());
  EXPECT_EQ(children_of(token), 0u);  // a cancelled child leaves its parent

  cancellation_token child2 = token.child_token();
  auto c2 = kyoto::spawn(wait_for(child2));
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(c2.is_finished());
  EXPECT_FALSE(p.is_finished());
  token.cancel();
  EXPECT_TRUE(child2.is_cancelled());
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(c2));
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(p));
}

// tokio-util: create_child_token_after_parent_was_cancelled
KYOTO_CT_TEST(CancellationToken, ChildOfCancelledTokenIsCancelled) {
  for (const bool drop_child_first : {true, false}) {
    std::optional<cancellation_token> token(std::in_place);
    token->cancel();
    std::optional<cancellation_token> child = token->child_token();
    EXPECT_TRUE(child->is_cancelled());
    co_await child->cancelled();
    co_await token->cancelled();
    if (drop_child_first) {
      child.reset();
      token.reset();
    } else {
      token.reset();
      child.reset();
    }
  }
}

// tokio-util: drop_multiple_child_tokens
TEST(CancellationToken, DropMultipleChildTokens) {
  for (const bool drop_first_child_first : {true, false}) {
    cancellation_token token;
    std::vector<std::optional<cancellation_token>> children;
    for (int i = 0; i < 3; ++i)
      children.emplace_back(token.child_token());
    EXPECT_FALSE(token.is_cancelled());
    EXPECT_FALSE(children[0]->is_cancelled());
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (drop_first_child_first) {
        children[i].reset();
      } else {
        children[children.size() - 1 - i].reset();
      }
      EXPECT_FALSE(token.is_cancelled());
    }
    EXPECT_EQ(children_of(token), 0u);
  }
}

// tokio-util: cancel_only_all_descendants
KYOTO_CT_TEST(CancellationToken, CancelReachesOnlyDescendants) {
  cancellation_token parent;
  cancellation_token token = parent.child_token();
  cancellation_token sibling = parent.child_token();
  cancellation_token child1 = token.child_token();
  cancellation_token child2 = token.child_token();
  cancellation_token grandchild = child1.child_token();
  cancellation_token grandchild2 = child1.child_token();
  cancellation_token grandgrandchild = grandchild.child_token();

  std::vector<kyoto::join_handle<void>> waits;
  for (const cancellation_token* t :
       {&parent, &token, &sibling, &child1, &child2, &grandchild, &grandchild2, &grandgrandchild}) {
    waits.push_back(kyoto::spawn(wait_for(*t)));
  }
  co_await kyoto::test::let_others_run();
  token.cancel();
  EXPECT_FALSE(parent.is_cancelled());
  EXPECT_FALSE(sibling.is_cancelled());
  for (const cancellation_token* t :
       {&token, &child1, &child2, &grandchild, &grandchild2, &grandgrandchild}) {
    EXPECT_TRUE(t->is_cancelled());
  }
  for (std::size_t i = 0; i < waits.size(); ++i) {
    if (i == 0 || i == 2) continue;
    EXPECT_TRUE(co_await kyoto::test::finishes_soon(waits[i])) << i;
  }
  co_await kyoto::test::let_others_run();
  EXPECT_FALSE(waits[0].is_finished());
  EXPECT_FALSE(waits[2].is_finished());
  parent.cancel();
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(waits[0]));
  EXPECT_TRUE(co_await kyoto::test::finishes_soon(waits[2]));
}

// tokio-util: drop_parent_before_child_tokens
TEST(CancellationToken, DropParentBeforeChildTokens) {
  std::optional<cancellation_token> token(std::in_place);
  std::optional<cancellation_token> child1 = token->child_token();
  cancellation_token child2 = token->child_token();
  token.reset();
  EXPECT_FALSE(child1->is_cancelled());
  child1.reset();
  EXPECT_FALSE(child2.is_cancelled());
}

TEST(CancellationToken, ChildrenMadeAndDroppedInALoopDoNotAccumulate) {
  cancellation_token token;
  cancellation_token keep = token.child_token();
  for (int i = 0; i < 100000; ++i) {
    cancellation_token child = token.child_token();
    cancellation_token grandchild = child.child_token();
    cancellation_token copy = grandchild;  // copies share the node
    (void)copy;
  }
  EXPECT_EQ(children_of(token), 1u);
  EXPECT_EQ(children_of(keep), 0u);
}

TEST(CancellationToken, CopiesAreTheSameToken) {
  cancellation_token a;
  cancellation_token b = a;
  EXPECT_TRUE(a == b);
  b.cancel();
  EXPECT_TRUE(a.is_cancelled());
  cancellation_token c;
  EXPECT_FALSE(a == c);
}

TEST(CancellationToken, DropGuardCancelsUnlessDisarmed) {
  cancellation_token token;
  {
    auto guard = token.drop_guard();
  }
  EXPECT_TRUE(token.is_cancelled());

  cancellation_token other;
  {
    auto guard = other.drop_guard();
    cancellation_token back = guard.disarm();
    EXPECT_TRUE(back == other);
  }
  EXPECT_FALSE(other.is_cancelled());
}

kyoto::task<int> slow_value() {
  co_await kyoto::time::sleep(10ms);
  co_return 42;
}

kyoto::task<> forever(bool& dropped) {
  struct on_drop {
    bool& flag;
    ~on_drop() { flag = true; }
  } guard{dropped};
  co_await kyoto::time::sleep(std::chrono::hours(1));
}

KYOTO_TEST(CancellationToken, RunUntilCancelledGivesTheValue) {
  cancellation_token token;
  std::optional<int> r = co_await token.run_until_cancelled(slow_value());
  KYOTO_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
}

KYOTO_TEST(CancellationToken, RunUntilCancelledCancelsTheOperation) {
  cancellation_token token;
  bool dropped = false;
  auto canceller = kyoto::spawn(
      [](cancellation_token t) -> kyoto::task<> {
        co_await kyoto::time::sleep(5ms);
        t.cancel();
      },
      token);
  auto r = co_await token.run_until_cancelled(forever(dropped));
  static_assert(std::is_same_v<decltype(r), std::optional<std::monostate>>);
  EXPECT_FALSE(r.has_value());
  EXPECT_TRUE(dropped);
  co_await canceller;
}

KYOTO_TEST(CancellationToken, RunUntilCancelledOnCancelledTokenNeverRuns) {
  cancellation_token token;
  token.cancel();
  std::optional<int> r = co_await token.run_until_cancelled(slow_value());
  EXPECT_FALSE(r.has_value());
}

KYOTO_TEST(CancellationToken, CancelFromForeignThreadsWakesEveryWorker) {
  for (int round = 0; round < 50; ++round) {
    cancellation_token root;
    std::vector<cancellation_token> leaves;
    std::vector<kyoto::join_handle<void>> waits;
    for (int i = 0; i < 16; ++i) {
      leaves.push_back(root.child_token().child_token());
      waits.push_back(kyoto::spawn(wait_for(leaves.back())));
    }
    std::thread t([root] { root.cancel(); });
    for (auto& w : waits)
      co_await w;
    t.join();
  }
}

KYOTO_TEST(CancellationToken, CancelledAwaitCanBeAbandoned) {
  cancellation_token token;
  auto r = co_await kyoto::time::timeout(2ms, token.cancelled());
  EXPECT_FALSE(r.has_value());
  token.cancel();
  co_await token.cancelled();
}

}  // namespace

namespace {

// Threads make and drop children and grandchildren of one tree while
// another cancels the root: afterwards every token still alive is
// cancelled, and the tree holds no child (the cancel detached them all).
TEST(CancellationToken, TreeChangesRacingCancelFromThreads) {
  for (int round = 0; round < 20; ++round) {
    cancellation_token root;
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    std::vector<std::vector<cancellation_token>> kept(4);
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&, t] {
        while (!go.load())
          std::this_thread::yield();
        for (int i = 0; i < 2000; ++i) {
          cancellation_token c = root.child_token();
          cancellation_token g = c.child_token();
          if (i % 100 == 0) kept[static_cast<std::size_t>(t)].push_back(g);
          if (i % 7 == 0) c.cancel();
        }
      });
    }
    go.store(true);
    std::this_thread::yield();
    root.cancel();
    for (auto& th : ts)
      th.join();
    EXPECT_EQ(children_of(root), 0u);
    for (auto& v : kept) {
      for (auto& g : v) {
        // made before or after the cancel, a kept grandchild is cancelled
        EXPECT_TRUE(g.is_cancelled());
      }
    }
  }
}

}  // namespace
