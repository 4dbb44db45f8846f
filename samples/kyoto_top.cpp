// kyoto_top: a look at a running kyoto program from outside (tokio-console's
// role; docs/observability.md). The program opts in with one builder call,
// `.metrics_endpoint("/tmp/app.sock")`; kyoto_top scrapes that socket
// (`/metrics` for the workers' load, `/tasks` for the task dump) and shows
// the workers, the longest-waiting tasks and the busiest ones, refreshing
// like top:
//
//   kyoto_top SOCKET [--interval MS] [--once]
//
// --once prints one snapshot (rates over the first interval) and exits.
//
// How long a task waits is the dump's `state_ms` (the runtime's own time
// in state, to a driver turn); without it, it is seen from outside: a task
// is "waiting" since the first dump that showed it idle at the co_await it
// is still idle at. Its busy share is the fraction of dumps that showed it
// running, queued or blocking (a sampling profiler's estimate), shown
// with its state in the latest dump and, from the dump's `state_ms`, how
// long it has been in it.
// Without a SOCKET argument of an existing program, `kyoto_top --demo`
// starts a busy runtime with an endpoint in this process and watches it.
#include <kyoto/kyoto.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// One scrape: every sample of the exposition text, by name and labels
/// (`kyoto_worker_polls_total{worker="0"}`).
using scrape = std::map<std::string, double, std::less<>>;

/// One HTTP/1.0 GET of `path` on a fresh connection: the body.
kyoto::task<std::string> get_body(const std::string& socket_path, std::string path) {
  kyoto::net::unix_stream stream = co_await kyoto::net::unix_stream::connect(socket_path);
  const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
  co_await kyoto::io::write_all(stream, std::string_view(request));
  std::string response;
  co_await kyoto::io::read_to_string(stream, response);
  const std::size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.0 200", 0) != 0 || body == std::string::npos) {
    throw std::runtime_error(std::string("kyoto_top: the endpoint answered: ") +
                             response.substr(0, response.find('\r')));
  }
  co_return response.substr(body + 4);
}

/// Fetches the endpoint's metrics text.
kyoto::task<scrape> fetch(const std::string& socket_path) {
  const std::string text = co_await get_body(socket_path, "/metrics");
  scrape values;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  co_return values;
}

/// Just enough JSON for the task dump (runtime_dump::to_json()): objects,
/// arrays, strings, numbers. Throws std::runtime_error on anything else.
struct json {
  std::string text;               ///< a string's or number's text
  std::vector<std::string> keys;  ///< an object's member names
  std::vector<json> values;       ///< an object's member values (a vector of
                                  ///< pairs would need json complete here)
  std::vector<json> items;        ///< an array's

  const json& operator[](std::string_view key) const {
    static const json none;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return values[i];
    }
    return none;
  }

  static json parse(std::string_view s) {
    std::size_t i = 0;
    json v = value(s, i);
    return v;
  }

 private:
  static void ws(std::string_view s, std::size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
      ++i;
  }
  static void expect(std::string_view s, std::size_t& i, char c) {
    ws(s, i);
    if (i >= s.size() || s[i] != c) {
      throw std::runtime_error(std::string("kyoto_top: bad task dump JSON: expected '") + c +
                               "' at " + std::to_string(i));
    }
    ++i;
  }
  static std::string string(std::string_view s, std::size_t& i) {
    expect(s, i, '"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        if (s[i] == 'u') {  // only control characters are escaped so: keep a '?'
          i += 4;
          out += '?';
        } else {
          out += s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
        }
        ++i;
      } else {
        out += s[i++];
      }
    }
    expect(s, i, '"');
    return out;
  }
  static json value(std::string_view s, std::size_t& i) {
    ws(s, i);
    json v;
    if (i >= s.size()) throw std::runtime_error("kyoto_top: truncated task dump JSON");
    if (s[i] == '{') {
      ++i;
      ws(s, i);
      if (i < s.size() && s[i] == '}') return ++i, v;
      for (;;) {
        std::string key = string(s, i);
        expect(s, i, ':');
        v.keys.push_back(std::move(key));
        v.values.push_back(value(s, i));
        ws(s, i);
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        expect(s, i, '}');
        return v;
      }
    }
    if (s[i] == '[') {
      ++i;
      ws(s, i);
      if (i < s.size() && s[i] == ']') return ++i, v;
      for (;;) {
        v.items.push_back(value(s, i));
        ws(s, i);
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        expect(s, i, ']');
        return v;
      }
    }
    if (s[i] == '"') {
      v.text = string(s, i);
      return v;
    }
    const std::size_t start = i;
    while (i < s.size() &&
           std::string_view("+-.0123456789eEtrufalsn").find(s[i]) != std::string_view::npos)
      ++i;
    if (i == start) throw std::runtime_error("kyoto_top: bad task dump JSON");
    v.text = std::string(s.substr(start, i - start));
    return v;
  }
};

/// What kyoto_top remembers of a task from one dump to the next.
struct task_seen {
  std::string label;     ///< id, name, spawn line
  std::string state;     ///< in the latest dump
  std::string state_ms;  ///< the dump's time in that state, or empty
  std::string waits_at;  ///< the innermost co_await (idle), else empty
  std::chrono::steady_clock::time_point waiting_since;  ///< first seen idle at waits_at
  unsigned samples = 0;                                 ///< dumps that listed it
  unsigned busy = 0;                                    ///< of which running, scheduled or blocking
};

/// The tasks of the dumps seen so far, by id.
using task_table = std::map<std::uint64_t, task_seen>;

std::string at(const json& location) {
  if (location["line"].text == "0") return "?";  // spawned by a task object: unknown
  std::string file = location["file"].text;
  if (const std::size_t slash = file.rfind('/'); slash != std::string::npos)
    file = file.substr(slash + 1);
  return file + ":" + location["line"].text;
}

/// Folds one dump into `table`: tasks gone are dropped.
void update(task_table& table, const json& dump, std::chrono::steady_clock::time_point now) {
  task_table next;
  for (const json& t : dump["tasks"].items) {
    const std::uint64_t id = std::stoull(t["id"].text);
    task_seen seen = table.contains(id) ? table[id] : task_seen{};
    seen.label = "task " + t["id"].text;
    if (!t["name"].text.empty()) seen.label += " \"" + t["name"].text + "\"";
    seen.label += " (" + at(t["spawned_at"]) + ")";
    seen.state = t["state"].text;
    seen.state_ms = t["state_ms"].text;
    std::string waits_at;
    if (seen.state == "idle" && !t["await_chain"].items.empty()) {
      const json& f = t["await_chain"].items.back();
      waits_at = at(f) + " " + f["waits_on"].text;
      if (!f["detail"].text.empty()) waits_at += " " + f["detail"].text;
    }
    if (waits_at.empty() || waits_at != seen.waits_at) seen.waiting_since = now;
    // The runtime's own time in state, where the dump has it (to a driver
    // turn); the estimate above otherwise.
    if (!waits_at.empty() && !t["state_ms"].text.empty())
      seen.waiting_since = now - std::chrono::milliseconds(std::stoll(t["state_ms"].text));
    seen.waits_at = std::move(waits_at);
    ++seen.samples;
    if (seen.state != "idle") ++seen.busy;
    next.emplace(id, std::move(seen));
  }
  table = std::move(next);
}

/// The longest-waiting and the busiest tasks, `rows` of each.
void show_tasks(const task_table& table, std::chrono::steady_clock::time_point now,
                std::size_t rows) {
  std::vector<const task_seen*> waiting;
  std::vector<const task_seen*> busiest;
  for (const auto& [id, t] : table) {
    if (!t.waits_at.empty()) waiting.push_back(&t);
    if (t.busy > 0) busiest.push_back(&t);
  }
  std::sort(waiting.begin(), waiting.end(), [](const task_seen* a, const task_seen* b) {
    return a->waiting_since < b->waiting_since;
  });
  std::sort(busiest.begin(), busiest.end(), [](const task_seen* a, const task_seen* b) {
    return a->busy * b->samples > b->busy * a->samples;
  });
  std::printf("\n%zu tasks listed\n\nLONGEST WAITING\n", table.size());
  for (std::size_t i = 0; i < waiting.size() && i < rows; ++i) {
    const std::chrono::duration<double> d = now - waiting[i]->waiting_since;
    std::printf("  %8.1fs  %s  at %s\n", d.count(), waiting[i]->label.c_str(),
                waiting[i]->waits_at.c_str());
  }
  std::printf("\nBUSIEST (share of dumps seen running, queued or blocking)\n");
  for (std::size_t i = 0; i < busiest.size() && i < rows; ++i) {
    std::string state = busiest[i]->state;
    if (!busiest[i]->state_ms.empty()) state += " for " + busiest[i]->state_ms + " ms";
    std::printf("  %7.0f%%  %s  %s\n", 100.0 * busiest[i]->busy / busiest[i]->samples,
                busiest[i]->label.c_str(), state.c_str());
  }
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

/// Scrapes `socket_path` every `interval` and shows the rates and the
/// tasks; once if `once`, else until interrupted.
kyoto::task<> watch(std::string socket_path, std::chrono::milliseconds interval, bool once) {
  scrape before = co_await fetch(socket_path);
  task_table tasks;
  auto last = std::chrono::steady_clock::now();
  update(tasks, json::parse(co_await get_body(socket_path, "/tasks")), last);
  kyoto::time::interval ticks =
      kyoto::time::interval_at(kyoto::time::clock::now() + interval, interval);
  for (;;) {
    co_await ticks.tick();
    scrape now = co_await fetch(socket_path);
    const auto at = std::chrono::steady_clock::now();
    update(tasks, json::parse(co_await get_body(socket_path, "/tasks")), at);
    show(socket_path, before, now, at - last, !once);
    show_tasks(tasks, at, 5);
    std::cout << std::flush;
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

/// --demo: a task that waits for good (on a channel nobody sends on), to
/// head the longest-waiting list.
kyoto::task<> stuck_forever() {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  (void)co_await rx.recv();
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
    watched->spawn(stuck_forever());
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
