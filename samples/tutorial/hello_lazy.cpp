// tokio's tutorial, "Hello Tokio", "Using async/await": calling a
// coroutine does not run it; co_await does (docs/tutorial/hello-kyoto.md).
#include <kyoto/kyoto.hpp>

#include <iostream>

kyoto::task<> say_world() {
  std::cout << "world\n";
  co_return;
}

KYOTO_MAIN() {
  // Calling `say_world()` does not execute the body of `say_world()`.
  kyoto::task<> op = say_world();

  // This line comes first
  std::cout << "hello\n";

  // `co_await` on `op` starts executing `say_world`.
  co_await op;
}
