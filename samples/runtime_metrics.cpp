// docs/observability.md: a runtime's metrics — busy time, the opt-in
// poll-time and schedule-latency histograms (tokio's
// enable_metrics_poll_time_histogram), the io_uring request counts — and
// their Prometheus text, as a /metrics endpoint would serve it.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

using namespace std::chrono_literals;

namespace {

/// Some work to measure: tasks passing messages, and a TCP round trip.
kyoto::task<> workload() {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(16);
  auto consumer = kyoto::spawn([](kyoto::sync::mpsc::receiver<int> r) -> kyoto::task<std::int64_t> {
    std::int64_t sum = 0;
    while (std::optional<int> v = co_await r.recv())
      sum += *v;
    co_return sum;
  }(std::move(rx)));
  for (int i = 0; i < 1000; ++i)
    (co_await tx.send(i)).value();  // throws if the consumer is gone
  {
    auto done = std::move(tx);
  }
  std::cout << "sum " << co_await consumer << '\n';

  auto listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
  auto server = kyoto::spawn([](kyoto::net::tcp_listener& l) -> kyoto::task<> {
    auto [stream, peer] = co_await l.accept();
    co_await stream.write_all("pong");
  }(listener));
  auto client = co_await kyoto::net::tcp_stream::connect(listener.local_addr());
  std::string reply;
  co_await kyoto::io::read_to_string(client, reply);
  co_await server;
  std::cout << "reply " << reply << '\n';
}

}  // namespace

int main() {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread()
                          .worker_threads(2)
                          .enable_metrics_poll_time_histogram()  // log(1 µs, 20) buckets
                          .metrics_schedule_latency_histogram_configuration(
                              kyoto::histogram_configuration::linear(50us, 10))
                          .build();
  rt.block_on(workload());

  const kyoto::runtime_metrics m = rt.metrics();
  for (std::size_t i = 0; i < m.worker.size(); ++i) {
    const kyoto::worker_metrics& w = m.worker[i];
    std::cout << "worker " << i << ": " << w.polls << " polls, busy "
              << std::chrono::duration_cast<std::chrono::microseconds>(w.busy_duration).count()
              << " us, " << w.io_submitted << " I/O requests (" << w.io_in_flight()
              << " in flight), " << w.schedule_latency.count() << " latency samples\n";
  }
  std::cout << '\n' << m.to_prometheus();
}
