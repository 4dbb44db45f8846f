// A KYOTO_TEST_SEEDS that fails under some seeds (whichever task runs
// first decides): the program's output must name the failing seed and the
// command that replays it (tests/macros/meson.build).
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>

#include <memory>
#include <vector>

namespace {

KYOTO_TEST_SEEDS(SeedsProgram, FailsUnlessTaskZeroRunsFirst, 50) {
  auto first = std::make_shared<int>(-1);
  std::vector<kyoto::join_handle<void>> hs;
  for (int i = 0; i < 3; ++i) {
    hs.push_back(kyoto::spawn(
        [](int me, std::shared_ptr<int> f) -> kyoto::task<> {
          if (*f < 0) *f = me;
          co_return;
        },
        i, first));
  }
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(*first, 0);
}

}  // namespace
