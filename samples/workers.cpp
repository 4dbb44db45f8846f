// A work-stealing runtime built by hand, CPU-bound work on the blocking
// pool, many small tasks on the workers, and the runtime's metrics — the
// tokio program it ports:
//
//   let rt = Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
//   (kyoto adds .concentration(never): see main)
//   let best = rt.block_on(async {
//       let parts: Vec<_> = (0..4).map(|i| task::spawn_blocking(move || longest(i))).collect();
//       ...
//   });
//   println!("workers: {}", rt.metrics().num_workers());
#include <kyoto/kyoto.hpp>

#include <cstdint>
#include <iostream>
#include <utility>
#include <vector>

namespace {

/// Steps of the Collatz sequence from n down to 1.
std::uint64_t collatz_steps(std::uint64_t n) {
  std::uint64_t steps = 0;
  for (; n != 1; ++steps)
    n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}

struct longest {
  std::uint64_t start = 1;
  std::uint64_t steps = 0;
};

/// The start in [lo, hi) with the longest sequence: blocking code (it never
/// awaits), so it runs on the blocking pool, not on a worker.
longest longest_in(std::uint64_t lo, std::uint64_t hi) {
  longest best{lo, collatz_steps(lo)};
  for (std::uint64_t n = lo + 1; n < hi; ++n) {
    if (const std::uint64_t s = collatz_steps(n); s > best.steps) best = {n, s};
  }
  return best;
}

kyoto::task<longest> longest_below(std::uint64_t limit, std::uint64_t parts) {
  std::vector<kyoto::join_handle<longest>> handles;
  for (std::uint64_t i = 0; i < parts; ++i) {
    const std::uint64_t lo = 1 + limit * i / parts;
    const std::uint64_t hi = 1 + limit * (i + 1) / parts;
    handles.push_back(kyoto::spawn_blocking(longest_in, lo, hi));
  }
  longest best;
  for (auto& h : handles) {
    const longest part = co_await h;
    if (part.steps > best.steps) best = part;
  }
  co_return best;
}

/// 1,000 tasks, each summing its share of 1..1,000,000; the workers steal
/// them from each other.
kyoto::task<std::uint64_t> fan_out_sum() {
  std::vector<kyoto::join_handle<std::uint64_t>> handles;
  handles.reserve(1000);
  for (std::uint64_t i = 0; i < 1000; ++i) {
    handles.push_back(kyoto::spawn(
        [](std::uint64_t first) -> kyoto::task<std::uint64_t> {
          std::uint64_t sum = 0;
          for (std::uint64_t n = first; n < first + 1000; ++n) {
            sum += n;
            if (n % 250 == 0) co_await kyoto::yield_now();
          }
          co_return sum;
        },
        i * 1000 + 1));
  }
  std::vector<std::uint64_t> sums = co_await kyoto::join_all(handles);
  std::uint64_t total = 0;
  for (std::uint64_t s : sums)
    total += s;
  co_return total;
}

}  // namespace

int main() {
  // CPU-bound work: spread over both workers even while other processes
  // keep the CPUs busy (kyoto only: by default the tasks would gather on
  // worker 0 then, which saves I/O hand-offs between rings and buys
  // nothing here).
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread()
                          .worker_threads(2)
                          .concentration(kyoto::concentration::never)
                          .enable_all()
                          .build();

  const longest best = rt.block_on(longest_below(100'000, 4));
  std::cout << "longest Collatz sequence below 100000 starts at " << best.start << " ("
            << best.steps << " steps)\n";

  std::cout << "sum of 1..1000000 over 1000 tasks: " << rt.block_on(fan_out_sum()) << '\n';

  // Counts, not timings: which worker ran what varies from run to run.
  const kyoto::runtime_metrics m = rt.metrics();
  std::uint64_t polls = 0;
  for (const kyoto::worker_metrics& w : m.worker)
    polls += w.polls;
  std::cout << "workers: " << m.workers << ", tasks spawned: " << m.spawned_tasks
            << ", at least one poll per task: " << std::boolalpha << (polls >= m.spawned_tasks)
            << '\n';
}
