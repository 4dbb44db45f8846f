// A detached task that throws: with KYOTO_LOG=error the exception is logged
// (never swallowed silently); main still exits 0.
#include <kyoto/kyoto.hpp>

#include <stdexcept>

KYOTO_MAIN() {
  kyoto::spawn([]() -> kyoto::task<> {
    co_await kyoto::yield_now();
    throw std::runtime_error("detached task failed on purpose");
  });  // handle dropped: detached
  for (int i = 0; i < 3; ++i)
    co_await kyoto::yield_now();
}
