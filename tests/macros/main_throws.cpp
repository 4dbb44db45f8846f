// KYOTO_MAIN() whose body throws: the exception is printed, exit code 1.
#include <kyoto/kyoto.hpp>

#include <stdexcept>

KYOTO_MAIN() {
  co_await kyoto::yield_now();
  throw std::runtime_error("main failed on purpose");
}
