// docs/observability.md: task ids, names, spawn locations and the
// runtime's task hooks (tokio's task::Id, task::Builder::name and
// runtime::Builder::on_task_spawn / on_task_terminate / on_*_task_poll).
#include <kyoto/kyoto.hpp>

#include <atomic>
#include <iostream>
#include <string>
#include <string_view>

namespace {

/// "name@file:line", or "#id@file:line" for an unnamed task.
std::string describe(const kyoto::task_meta& m) {
  // Built piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on
  // "literal" + std::string.
  std::string who = std::string(m.name());
  if (who.empty()) who.append("#").append(kyoto::to_string(m.id()));
  std::string_view file = m.spawned_at().file_name();
  file = file.substr(file.rfind('/') + 1);
  return who + "@" + std::string(file) + ":" + std::to_string(m.spawned_at().line());
}

std::atomic<int> polls{0};

kyoto::task<int> work(int n) {
  for (int i = 0; i < n; ++i)
    co_await kyoto::yield_now();
  co_return n * 10;
}

}  // namespace

int main() {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread()
                          .on_task_spawn([](const kyoto::task_meta& m) {
                            std::cout << "spawn " << describe(m) << '\n';
                          })
                          .on_task_terminate([](const kyoto::task_meta& m) {
                            std::cout << "end   " << describe(m) << '\n';
                          })
                          .on_before_task_poll([](const kyoto::task_meta&) { polls.fetch_add(1); })
                          .build();
  auto body = []() -> kyoto::task<> {
    auto a = kyoto::task_builder{}.name("fetcher").spawn(work, 2);
    auto b = kyoto::spawn(work, 1);
    std::cout << "inside the root task: task_id::current() is unique: "
              << (kyoto::task_id::current() != a.id() && a.id() != b.id()) << '\n';
    // Awaited before printing: a terminate hook prints while we wait.
    const int fetched = co_await a;
    const int other = co_await b;
    std::cout << "fetcher gave " << fetched << ", the other " << other << '\n';
  };
  rt.block_on(body());
  std::cout << "polls: " << polls.load() << '\n';
}
