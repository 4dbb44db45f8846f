// Built at -O0 (see tests/meson.build): symmetric transfer is no tail call
// there, so awaiting many tasks that complete at once must not rely on it.
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

namespace {

kyoto::task<int> ready(int i) {
  co_return i;
}

kyoto::task<> ready_void() {
  co_return;
}

kyoto::task<int> yield_then(int i) {
  co_await kyoto::yield_now();
  co_return i;
}

KYOTO_TEST(TaskAtO0, AMillionImmediateAwaitsUseConstantStack) {
  long sum = 0;
  for (int i = 0; i < 1'000'000; ++i)
    sum += co_await ready(i);
  EXPECT_EQ(sum, 999'999L * 1'000'000L / 2);
  for (int i = 0; i < 1'000'000; ++i)
    co_await ready_void();
}

// Each child suspends once: resumption comes from the run loop, and the
// finished child transfers back to the parent; the stack must unwind every
// round.
KYOTO_TEST(TaskAtO0, ManyAwaitsOfTasksThatSuspendUseConstantStack) {
  long sum = 0;
  for (int i = 0; i < 100'000; ++i)
    sum += co_await yield_then(i);
  EXPECT_EQ(sum, 99'999L * 100'000L / 2);
}

KYOTO_TEST(TaskAtO0, AJoinOfImmediateTasksInALoopUsesConstantStack) {
  long sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    auto [a, b] = co_await kyoto::join(ready(i), ready(1));
    sum += a + b;
  }
  EXPECT_EQ(sum, 99'999L * 100'000L / 2 + 100'000L);
}

}  // namespace
