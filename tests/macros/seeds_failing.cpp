// A KYOTO_TEST_SEEDS that fails under some seeds (whichever task runs
// first decides): the program's output must name the failing seed and the
// command that replays it (tests/macros/meson.build).
#include "first_to_run.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

namespace {

KYOTO_TEST_SEEDS(SeedsProgram, FailsUnlessTaskZeroRunsFirst, 50) {
  const int first = co_await kyoto::test::first_to_run(3);
  EXPECT_EQ(first, 0);
}

}  // namespace
