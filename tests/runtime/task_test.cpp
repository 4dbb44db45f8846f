#include "ct_test.hpp"
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

using namespace std::chrono_literals;

namespace {

static_assert(!std::is_copy_constructible_v<kyoto::task<int>>);
static_assert(std::is_nothrow_move_constructible_v<kyoto::task<int>>);
static_assert(std::is_same_v<kyoto::task<>, kyoto::task<void>>);

kyoto::task<int> answer() {
  co_return 42;
}

kyoto::task<std::string> concat(std::string a, std::string b) {
  co_return a + b;
}

kyoto::task<> set_flag(bool& flag) {
  flag = true;
  co_return;
}

kyoto::task<int&> pick(int& x) {
  co_return x;
}

kyoto::task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}

kyoto::task<int> nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested(depth - 1);
}

KYOTO_TEST(Task, ReturnsTheCoReturnedValue) {
  EXPECT_EQ(co_await answer(), 42);
  EXPECT_EQ(co_await concat("ky", "oto"), "kyoto");
}

KYOTO_TEST(Task, ReturnsReferences) {
  int x = 1;
  int& r = co_await pick(x);
  r = 7;
  EXPECT_EQ(x, 7);
}

KYOTO_TEST(Task, IsLazy) {
  bool ran = false;
  kyoto::task<> t = set_flag(ran);
  EXPECT_FALSE(ran);
  co_await std::move(t);
  EXPECT_TRUE(ran);
}

KYOTO_TEST(Task, ExceptionPropagatesToTheAwaiter) {
  co_await kyoto::test::expect_throws_async<std::runtime_error>([&] { return thrower(); },
                                                                kyoto::test::whole_message("boom"));
}

KYOTO_TEST(Task, NestedAwaitsUnwindInOrder) {
  EXPECT_EQ(co_await nested(100), 100);
}

KYOTO_TEST(Task, AwaitingAMovedFromTaskThrows) {
  kyoto::task<int> t = answer();
  kyoto::task<int> u = std::move(t);
  co_await kyoto::test::expect_throws_async<std::logic_error>(
      // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
      [&]() -> auto& { return t; }, "moved-from");
  EXPECT_EQ(co_await u, 42);
}

KYOTO_TEST(Task, AwaitingTwiceThrows) {
  kyoto::task<int> t = answer();
  EXPECT_EQ(co_await t, 42);
  co_await kyoto::test::expect_throws_async<std::logic_error>([&]() -> auto& { return t; },
                                                              "awaited only once");
}

kyoto::task<> hold(kyoto::test::drop_counter) {
  co_return;
}

TEST(Task, DestroyingAnUnstartedTaskDestroysItsParameters) {
  std::atomic<int> dropped{0};
  {
    kyoto::task<> t = hold(kyoto::test::drop_counter(dropped));
    EXPECT_EQ(dropped.load(), 0);
  }
  EXPECT_EQ(dropped.load(), 1);
}

kyoto::task<> sleep_holding(std::shared_ptr<int> param, std::atomic<int>& locals_dropped) {
  kyoto::test::drop_counter local(locals_dropped);
  co_await kyoto::time::sleep(1h);
  (void)param;
}

KYOTO_CT_TEST(Task, DestroyingASuspendedTaskRunsItsDestructors) {
  auto param = std::make_shared<int>(0);
  std::weak_ptr<int> weak = param;
  std::atomic<int> locals_dropped{0};
  auto handle = kyoto::spawn(sleep_holding(std::move(param), locals_dropped));
  co_await kyoto::yield_now();  // the task starts and suspends in the sleep
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(locals_dropped.load(), 0);
  handle.abort();
  if (const auto e = co_await kyoto::test::expect_throws_async<kyoto::join_error>(
          [&]() -> auto& { return handle; })) {
    EXPECT_TRUE(e->is_cancelled());
  }
  EXPECT_TRUE(weak.expired());          // the parameter was destroyed
  EXPECT_EQ(locals_dropped.load(), 1);  // and the local
}

kyoto::task<int> sleeping_child(std::atomic<int>& dropped) {
  kyoto::test::drop_counter guard(dropped);
  co_await kyoto::time::sleep(1h);
  co_return 1;
}

kyoto::task<> await_by_reference(kyoto::task<int>& child) {
  (void)co_await child;
}

// A task awaited through a reference outlives the awaiting coroutine; when
// that coroutine is cancelled, the child is cancelled with it (it could
// never return) and the task object is left empty.
KYOTO_CT_TEST(Task, CancellingTheAwaiterCancelsAChildAwaitedByReference) {
  std::atomic<int> dropped{0};
  kyoto::task<int> child = sleeping_child(dropped);
  auto h = kyoto::spawn(await_by_reference(child));
  co_await kyoto::yield_now();  // the child starts and sleeps
  EXPECT_EQ(dropped.load(), 0);
  h.abort();
  EXPECT_THROW(co_await h, kyoto::join_error);
  EXPECT_EQ(dropped.load(), 1);
  EXPECT_FALSE(child.valid());
}

kyoto::task<int> ready(int i) {
  co_return i;
}

kyoto::task<long> sum_of_ready(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i)
    sum += co_await ready(i);
  co_return sum;
}

// A million awaits of tasks that complete at once must not grow the stack
// (symmetric transfer is not a tail call at -O0; task_deep_test runs this
// at -O0 too).
KYOTO_TEST(Task, AMillionImmediateAwaitsUseConstantStack) {
  constexpr int n = 1'000'000;
  EXPECT_EQ(co_await sum_of_ready(n), static_cast<long>(n) * (n - 1) / 2);
}

}  // namespace
