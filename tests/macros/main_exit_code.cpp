// KYOTO_MAIN(argc, argv) returning an exit code computed from its arguments:
// exits with 10 + argc.
#include <kyoto/kyoto.hpp>

#include <iostream>

KYOTO_MAIN(argc, argv) {
  co_await kyoto::yield_now();
  std::cout << "argv[1]=" << (argc > 1 ? argv[1] : "") << '\n';
  co_return kyoto::exit_code(10 + argc);
}
