// docs/observability.md: "what is my program waiting on?" A small service
// gets stuck — a request handler waits for a cache lock that a refresher
// holds while it sleeps — and a task dump (tokio's unstable Handle::dump())
// shows every task's await chain: each co_await from the task's root to the
// innermost awaiter, with its line and what it waits on.
//
// The full text dump goes to stderr; stdout gets a stable summary (the
// sample's test compares it). Run with KYOTO_DUMP_SIGNAL=SIGQUIT and press
// Ctrl-\ to get the same dump from a running program.
#include <kyoto/kyoto.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

kyoto::task<> handle_request(kyoto::sync::mutex<int>& cache, int request) {
  auto entry = co_await cache.lock();  // stuck here: the refresher holds it
  *entry += request;
}

kyoto::task<> serve(kyoto::sync::mpsc::receiver<int>& requests, kyoto::sync::mutex<int>& cache) {
  while (std::optional<int> request = co_await requests.recv())
    co_await handle_request(cache, *request);
}

kyoto::task<> refresh(kyoto::sync::mutex<int>& cache) {
  auto entry = co_await cache.lock();
  co_await kyoto::time::sleep(1h);  // the bug: sleeping with the lock held
  *entry = 0;
}

/// "file:line" with the file's directories stripped.
std::string where(const std::source_location& l) {
  std::string_view file = l.file_name();
  file = file.substr(file.rfind('/') + 1);
  return std::string(file) + ":" + std::to_string(l.line());
}

}  // namespace

int main() {
  kyoto::sync::mutex<int> cache(0);
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(8);
  auto [idle_tx, idle_rx] = kyoto::sync::mpsc::channel<int>(8);
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();

  rt.block_on([&]() -> kyoto::task<> {
    auto refresher = kyoto::task_builder{}.name("refresher").spawn([&] { return refresh(cache); });
    co_await kyoto::yield_now();  // let it take the lock
    auto server = kyoto::task_builder{}.name("server").spawn([&] { return serve(rx, cache); });
    auto quiet = kyoto::task_builder{}.name("quiet").spawn([&] { return serve(idle_rx, cache); });
    (void)co_await tx.send(1);
    // Let every task run until it waits.
    for (int i = 0; i < 10; ++i)
      co_await kyoto::yield_now();

    const kyoto::runtime_dump dump = kyoto::handle::current().dump();
    std::cerr << dump;

    std::vector<const kyoto::task_dump*> named;
    for (const kyoto::task_dump& t : dump.tasks) {
      if (!t.name.empty()) named.push_back(&t);
    }
    std::sort(named.begin(), named.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const kyoto::task_dump* t : named) {
      std::cout << t->name << " (" << kyoto::to_string(t->state) << ", spawned at "
                << where(t->spawned_at) << ")\n";
      for (const kyoto::await_frame& f : t->await_chain)
        std::cout << "  at " << where(f.location) << " waiting on " << f.waits_on << '\n';
    }
    std::cout << "JSON starts with " << dump.to_json().substr(0, 10) << '\n';

    refresher.abort();
    server.abort();
    quiet.abort();
  }());
}
