// KYOTO_MAIN() whose body ends without co_return: exit code 0.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

KYOTO_MAIN() {
  co_await kyoto::time::sleep(1ms);
  std::cout << "main ran\n";
}
