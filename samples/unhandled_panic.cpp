// A runtime that stops when one of its tasks fails — the tokio program it
// ports (tokio's Builder::unhandled_panic):
//
//   let rt = Builder::new_current_thread()
//       .unhandled_panic(UnhandledPanic::ShutdownRuntime)
//       .build()?;
//   rt.spawn(async { panic!("a worker task failed") });
//   rt.block_on(async { tokio::time::sleep(Duration::from_secs(3600)).await });  // panics
//
// Without the option (unhandled_panic::ignore, the default) the failed
// task's exception waits in its join_handle; dropped unobserved, it is
// printed to stderr (KYOTO_LOG=off silences it).
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>

int main() {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread()
                          .unhandled_panic(kyoto::unhandled_panic::shutdown_runtime)
                          .build();
  rt.spawn([]() -> kyoto::task<void> {
    throw std::runtime_error("a worker task failed");
    co_return;
  });
  try {
    rt.block_on(kyoto::time::sleep(std::chrono::hours(1)));
    std::cout << "block_on returned (not expected)\n";
    return 1;
  } catch (const std::runtime_error& e) {
    std::cout << "the runtime shut down: " << e.what() << '\n';
  }
  try {
    rt.block_on(kyoto::time::sleep(std::chrono::milliseconds(1)));
  } catch (const std::logic_error& e) {
    std::cout << "and stays down: " << e.what() << '\n';
  }
  return 0;
}
