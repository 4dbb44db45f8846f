#include <kyoto/macros/main.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <optional>

namespace kyoto {

namespace {
std::atomic<int> exit_code_value{0};
}  // namespace

void exit_code(int code) noexcept {
  exit_code_value.store(code, std::memory_order_relaxed);
}

namespace detail {

int run_main(const runtime::builder& builder, task<> (*body)(int, char**), int argc,
             char** argv) noexcept {
  std::optional<runtime> rt;
  try {
    rt.emplace(builder.build());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kyoto: main could not start its runtime: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "kyoto: main could not start its runtime (not a std::exception)\n");
    return 1;
  }
  try {
    rt->block_on(body(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kyoto: main ended with an exception: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "kyoto: main ended with an exception (not a std::exception)\n");
    return 1;
  }
  return exit_code_value.load(std::memory_order_relaxed);
}

}  // namespace detail

}  // namespace kyoto
