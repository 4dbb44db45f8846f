// tokio's Barrier example: ten tasks meet at a barrier. Every "before wait"
// is printed before any "after wait", and exactly one task of the
// generation is its leader. Then the barrier is reused, as tokio's can be.
#include <kyoto/kyoto.hpp>

#include <iostream>
#include <memory>
#include <vector>

using kyoto::sync::barrier;
using kyoto::sync::barrier_wait_result;

kyoto::task<barrier_wait_result> meet(std::shared_ptr<barrier> c) {
  std::cout << "before wait\n";  // one insertion per line: whole lines
  const barrier_wait_result wait_result = co_await c->wait();
  std::cout << "after wait\n";
  co_return wait_result;
}

KYOTO_MAIN() {
  auto b = std::make_shared<barrier>(10);  // tokio's Arc<Barrier>
  for (int generation = 1; generation <= 2; ++generation) {
    std::vector<kyoto::join_handle<barrier_wait_result>> handles;
    handles.reserve(10);
    for (int i = 0; i < 10; ++i)
      handles.push_back(kyoto::spawn(meet, b));

    // Resolves only once every "after wait" of this generation is printed.
    int num_leaders = 0;
    for (auto& handle : handles) {
      const barrier_wait_result r = co_await handle;
      if (r.is_leader()) ++num_leaders;
    }
    std::cout << "generation " << generation << ": " << num_leaders << " leader\n";
  }
}
