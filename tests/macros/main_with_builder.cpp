// KYOTO_MAIN_WITH(builder, argc, argv): the runtime comes from the builder.
#include <kyoto/kyoto.hpp>

#include <iostream>

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread().enable_all(), argc, argv) {
  auto h = kyoto::spawn([]() -> kyoto::task<int> { co_return 7; });
  const int v = co_await h;
  std::cout << "spawned returned " << v << " with " << argc << " args\n";
  co_return kyoto::exit_code(v);
}
