// kyoto_top: a look at a running kyoto program from outside (tokio-console's
// role, for the runtime's metrics; docs/observability.md). The program opts
// in with one builder call, `.metrics_endpoint("/tmp/app.sock")`; kyoto_top
// scrapes that socket and shows the workers' load, refreshing like top:
//
//   kyoto_top SOCKET [--interval MS] [--once]
//
// --once prints one snapshot (rates over the first interval) and exits.
// Without a SOCKET argument of an existing program, `kyoto_top --demo`
// starts a busy runtime with an endpoint in this process and watches it.
#include <kyoto/kyoto.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// One scrape: every sample of the exposition text, by name and labels
/// (`kyoto_worker_polls_total{worker="0"}`).
using scrape = std::map<std::string, double, std::less<>>;

/// Fetches the endpoint's text: one HTTP/1.0 request on a fresh connection.
kyoto::task<scrape> fetch(const std::string& socket_path) {
  kyoto::net::unix_stream stream = co_await kyoto::net::unix_stream::connect(socket_path);
  co_await kyoto::io::write_all(stream, std::string_view("GET /metrics HTTP/1.0\r\n\r\n"));
  std::string response;
  co_await kyoto::io::read_to_string(stream, response);
  const std::size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.0 200", 0) != 0 || body == std::string::npos) {
    throw std::runtime_error(std::string("kyoto_top: the endpoint answered: ") +
                             response.substr(0, response.find('\r')));
  }
  scrape values;
  std::istringstream lines(response.substr(body + 4));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  co_return values;
}

double get(const scrape& s, const std::string& key) {
  const auto it = s.find(key);
  return it != s.end() ? it->second : 0.0;
}

std::string worker_key(const char* name, int worker) {
  return std::string(name) + std::string("{worker=\"") + std::to_string(worker) + "\"}";
}

/// One screen: totals, then a line per worker with rates since `before`.
void show(const std::string& target, const scrape& before, const scrape& now,
          std::chrono::duration<double> elapsed, bool clear) {
  if (clear) std::cout << "\x1b[H\x1b[2J";  // home, clear screen
  const int workers = static_cast<int>(get(now, "kyoto_workers"));
  std::printf("kyoto_top - %s - every %.1f s\n", target.c_str(), elapsed.count());
  std::printf(
      "workers %d   alive tasks %.0f   spawned %.0f   global queue %.0f   "
      "blocking threads %.0f\n\n",
      workers, get(now, "kyoto_alive_tasks"), get(now, "kyoto_spawned_tasks_total"),
      get(now, "kyoto_global_queue_depth"), get(now, "kyoto_blocking_threads"));
  std::printf("%-7s %10s %7s %8s %8s %6s %10s %10s\n", "WORKER", "POLLS/S", "BUSY%", "STEALS/S",
              "PARKS/S", "QUEUE", "IO/S", "IO_FLIGHT");
  const double secs = elapsed.count() > 0 ? elapsed.count() : 1.0;
  for (int w = 0; w < workers; ++w) {
    auto rate = [&](const char* name) {
      return (get(now, worker_key(name, w)) - get(before, worker_key(name, w))) / secs;
    };
    std::printf("%-7d %10.0f %6.1f%% %8.0f %8.0f %6.0f %10.0f %10.0f\n", w,
                rate("kyoto_worker_polls_total"), 100.0 * rate("kyoto_worker_busy_seconds_total"),
                rate("kyoto_worker_steals_total"), rate("kyoto_worker_parks_total"),
                get(now, worker_key("kyoto_worker_local_queue_depth", w)),
                rate("kyoto_worker_io_completed_total"),
                get(now, worker_key("kyoto_worker_io_in_flight", w)));
  }
  std::cout << std::flush;
}

/// Scrapes `socket_path` every `interval` and shows the rates; once if
/// `once`, else until interrupted.
kyoto::task<> watch(std::string socket_path, std::chrono::milliseconds interval, bool once) {
  scrape before = co_await fetch(socket_path);
  auto last = std::chrono::steady_clock::now();
  kyoto::time::interval ticks =
      kyoto::time::interval_at(kyoto::time::clock::now() + interval, interval);
  for (;;) {
    co_await ticks.tick();
    scrape now = co_await fetch(socket_path);
    const auto at = std::chrono::steady_clock::now();
    show(socket_path, before, now, at - last, !once);
    if (once) co_return;
    before = std::move(now);
    last = at;
  }
}

/// --demo: some load to watch, on the runtime that serves the endpoint.
kyoto::task<> busy_forever() {
  for (;;) {
    std::vector<kyoto::join_handle<void>> batch;
    batch.reserve(64);
    for (int i = 0; i < 64; ++i)
      batch.push_back(kyoto::spawn([]() -> kyoto::task<> { co_await kyoto::time::sleep(1ms); }));
    for (auto& h : batch)
      co_await h;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  std::chrono::milliseconds interval = 1000ms;
  bool once = false;
  bool demo = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--once") {
      once = true;
    } else if (arg == "--demo") {
      demo = true;
    } else if (arg == "--interval" && i + 1 < argc) {
      interval = std::chrono::milliseconds(std::stoi(argv[++i]));
    } else {
      socket_path = arg;
    }
  }
  if (socket_path.empty() && !demo) {
    std::cerr << "usage: kyoto_top SOCKET [--interval MS] [--once] | kyoto_top --demo [--once]\n";
    return 2;
  }
  std::optional<kyoto::runtime> watched;
  if (demo) {
    socket_path = std::string("/tmp/kyoto_top_demo.") + std::to_string(::getpid()) + ".sock";
    watched.emplace(kyoto::runtime::builder::multi_thread()
                        .worker_threads(2)
                        .metrics_endpoint(socket_path)  // the one call a program makes
                        .build());
    watched->spawn(busy_forever());
  }
  // kyoto_top's own runtime: one thread is plenty.
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  try {
    rt.block_on(watch(socket_path, interval, once));
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  return 0;
}
