// kyoto-bench: the anchor workloads of ../shared/bench/tokio/WORKLOADS.md,
// on kyoto. Same work, counts, structure and timing points as tokio's
// src/main.rs, and the same output contract:
//
//   kyoto-bench --list          every workload name, one per line
//   kyoto-bench [NAME...]       runs them (all, in --list order, if none);
//                               one line each on stdout:
//   bench <name> ops=<n> secs=<s> ns_per_op=<x>
//
// An unknown name is reported on stderr (exit 2) before anything runs.
// `../shared/bench/compare` compares the names both binaries list.
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>
#include <kyoto/streams.hpp>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

// framed_lines.cpp
kyoto::task<> run_framed_lines();
extern const std::uint64_t framed_lines_count;

namespace {

using namespace std::chrono_literals;
using kyoto::task;
namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;
namespace broadcast = kyoto::sync::broadcast;
using unit = std::monostate;

struct report {
  std::uint64_t ops = 0;
  double secs = 0;
  double bytes_per_task = -1;  ///< task_memory only
  double mb_per_s = -1;        ///< tcp_stream only
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kyoto-bench: check failed: %s\n", what);
    std::abort();
  }
}

/// One untimed warm-up rep, then `reps` timed reps of `body` (a stateless
/// callable returning task<>).
template <class Body>
task<report> repeat(std::uint64_t reps, std::uint64_t ops_per_rep, Body body) {
  co_await body();
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < reps; ++i)
    co_await body();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  co_return report{reps * ops_per_rep, elapsed.count()};
}

template <class T>
task<> join_all_handles(std::vector<kyoto::join_handle<T>>& handles) {
  for (auto& h : handles)
    co_await h;
}

// ------------------------------------------------------------ scheduler

std::atomic<std::size_t> counter{0};
constexpr std::size_t spawn_tasks = 100'000;

task<report> spawn_many() {
  co_return co_await repeat(10, spawn_tasks, []() -> task<> {
    counter.store(0, std::memory_order_relaxed);
    std::vector<kyoto::join_handle<void>> handles;
    handles.reserve(spawn_tasks);
    for (std::size_t i = 0; i < spawn_tasks; ++i) {
      handles.push_back(kyoto::spawn([]() -> task<> {
        counter.fetch_add(1, std::memory_order_relaxed);
        co_return;
      }));
    }
    co_await join_all_handles(handles);
    check(counter.load(std::memory_order_relaxed) == spawn_tasks, "spawn_many counter");
  });
}

task<report> yield_many() {
  constexpr std::size_t tasks = 200;
  constexpr std::size_t yields = 1'000;
  co_return co_await repeat(30, tasks * yields, []() -> task<> {
    std::vector<kyoto::join_handle<void>> handles;
    handles.reserve(tasks);
    for (std::size_t i = 0; i < tasks; ++i) {
      handles.push_back(kyoto::spawn([]() -> task<> {
        for (std::size_t k = 0; k < yields; ++k)
          co_await kyoto::yield_now();
      }));
    }
    co_await join_all_handles(handles);
  });
}

task<report> ping_pong() {
  constexpr std::size_t rounds = 1'000;
  co_return co_await repeat(400, rounds, []() -> task<> {
    std::vector<kyoto::join_handle<void>> handles;
    handles.reserve(rounds);
    for (std::size_t i = 0; i < rounds; ++i) {
      handles.push_back(kyoto::spawn([]() -> task<> {
        auto [tx1, rx1] = oneshot::channel<unit>();
        auto [tx2, rx2] = oneshot::channel<unit>();
        kyoto::spawn(
            [](oneshot::receiver<unit> in, oneshot::sender<unit> out) -> task<> {
              (co_await in).value();
              out.send(unit{}).value();
            },
            std::move(rx1), std::move(tx2));
        tx1.send(unit{}).value();
        (co_await rx2).value();
      }));
    }
    co_await join_all_handles(handles);
  });
}

void link(std::size_t n, oneshot::sender<unit> done) {
  if (n == 0) {
    done.send(unit{}).value();
    return;
  }
  kyoto::spawn(
      [](std::size_t m, oneshot::sender<unit> d) -> task<> {
        link(m - 1, std::move(d));
        co_return;
      },
      n, std::move(done));
}

task<report> chained_spawn() {
  constexpr std::size_t chain = 1'000;
  co_return co_await repeat(2000, chain, []() -> task<> {
    auto [tx, rx] = oneshot::channel<unit>();
    link(chain, std::move(tx));
    (co_await rx).value();
  });
}

// ------------------------------------------------------------ channels

constexpr std::uint64_t msgs = 1'000'000;
constexpr std::uint64_t expected_sum = msgs * (msgs - 1) / 2;

task<> consume(mpsc::receiver<std::uint64_t> rx) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < msgs; ++i)
    sum += *co_await rx.recv();
  check(sum == expected_sum, "mpsc sum");
}

template <std::uint64_t Producers>
task<> mpsc_bounded_rep() {
  auto [tx, rx] = mpsc::channel<std::uint64_t>(1024);
  constexpr std::uint64_t per = msgs / Producers;
  std::vector<kyoto::join_handle<void>> handles;
  for (std::uint64_t p = 0; p < Producers; ++p) {
    handles.push_back(kyoto::spawn(
        [](mpsc::sender<std::uint64_t> out, std::uint64_t first) -> task<> {
          for (std::uint64_t i = first; i < first + per; ++i) {
            auto sent = co_await out.send(i);
            sent.value();
          }
        },
        tx, p* per));
  }
  {
    auto drop = std::move(tx);
  }
  handles.push_back(kyoto::spawn(consume(std::move(rx))));
  co_await join_all_handles(handles);
}

template <std::uint64_t Producers>
task<report> mpsc_bounded() {
  co_return co_await repeat(4, msgs, [] { return mpsc_bounded_rep<Producers>(); });
}

task<report> mpsc_unbounded() {
  co_return co_await repeat(4, msgs, []() -> task<> {
    constexpr std::uint64_t producers = 8;
    constexpr std::uint64_t per = msgs / producers;
    auto [tx, rx] = mpsc::unbounded_channel<std::uint64_t>();
    std::vector<kyoto::join_handle<void>> handles;
    for (std::uint64_t p = 0; p < producers; ++p) {
      handles.push_back(kyoto::spawn(
          [](mpsc::unbounded_sender<std::uint64_t> out, std::uint64_t first) -> task<> {
            for (std::uint64_t i = first; i < first + per; ++i)
              out.send(i).value();
            co_return;
          },
          tx, p* per));
    }
    {
      auto drop = std::move(tx);
    }
    handles.push_back(kyoto::spawn(consume(std::move(rx))));
    co_await join_all_handles(handles);
  });
}

// As mpsc_uncontended, but each value comes through a two-branch select
// against one long-lived sleep awaited by reference (it never fires).
task<report> select_recv() {
  co_return co_await repeat(4, msgs, []() -> task<> {
    auto [tx, rx] = mpsc::channel<std::uint64_t>(1024);
    auto producer = kyoto::spawn(
        [](mpsc::sender<std::uint64_t> out) -> task<> {
          for (std::uint64_t i = 0; i < msgs; ++i) {
            auto sent = co_await out.send(i);
            sent.value();
          }
        },
        std::move(tx));
    auto consumer = kyoto::spawn(
        [](mpsc::receiver<std::uint64_t> in) -> task<> {
          kyoto::time::sleep_awaiter never = kyoto::time::sleep(std::chrono::seconds(3600));
          std::uint64_t sum = 0;
          for (std::uint64_t i = 0; i < msgs; ++i) {
            auto v = co_await kyoto::select(in.recv(), never);
            check(v.index() == 0, "select_recv: the sleep fired");
            sum += *std::get<0>(v);
          }
          check(sum == expected_sum, "select_recv sum");
        },
        std::move(rx));
    co_await producer;
    co_await consumer;
  });
}

// As mpsc_uncontended, but the consumer reads the receiver as a stream
// through filter (even values) | map (times 3) | fold (sum).
task<report> stream_pipeline() {
  co_return co_await repeat(4, msgs, []() -> task<> {
    auto [tx, rx] = mpsc::channel<std::uint64_t>(1024);
    std::vector<kyoto::join_handle<void>> handles;
    handles.push_back(kyoto::spawn(
        [](mpsc::sender<std::uint64_t> out) -> task<> {
          for (std::uint64_t i = 0; i < msgs; ++i) {
            auto sent = co_await out.send(i);
            sent.value();
          }
        },
        std::move(tx)));
    handles.push_back(kyoto::spawn(
        [](mpsc::receiver<std::uint64_t> in) -> task<> {
          namespace streams = kyoto::streams;
          const std::uint64_t sum =
              co_await (streams::receiver_stream<std::uint64_t>(std::move(in)) |
                        streams::filter([](const std::uint64_t& v) { return v % 2 == 0; }) |
                        streams::map([](std::uint64_t v) { return v * 3; }) |
                        streams::fold(std::uint64_t{0},
                                      [](std::uint64_t acc, std::uint64_t v) { return acc + v; }));
          constexpr std::uint64_t half = msgs / 2;
          check(sum == 3 * half * (half - 1), "stream_pipeline sum");
        },
        std::move(rx)));
    co_await join_all_handles(handles);
  });
}

task<report> oneshot_rounds() {
  constexpr std::uint64_t rounds = 200'000;
  co_return co_await repeat(5, rounds, []() -> task<> {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      auto [tx, rx] = oneshot::channel<std::uint64_t>();
      kyoto::spawn(
          [](oneshot::sender<std::uint64_t> out, std::uint64_t v) -> task<> {
            out.send(v).value();
            co_return;
          },
          std::move(tx), i);
      auto v = co_await rx;
      check(v.value() == i, "oneshot value");
    }
  });
}

// ------------------------------------------------------------ broadcast

constexpr std::size_t bcast_receivers = 8;
constexpr std::size_t bcast_capacity = 1024;
constexpr std::uint64_t bcast_msgs = 100'000;

/// Receives 0 .. bcast_msgs - 1 in order (a lag is an error); the last
/// receiver to take message i gives its slot's permit back to the sender.
task<> bcast_receive(broadcast::receiver<std::uint64_t> rx, kyoto::sync::semaphore* room,
                     std::atomic<std::uint32_t>* pending) {
  for (std::uint64_t i = 0; i < bcast_msgs; ++i) {
    auto r = co_await rx.recv();
    check(r.has_value() && *r == i, "broadcast value");
    if (pending[i % bcast_capacity].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      room->add_permits(1);
    }
  }
}

/// Sends 0 .. bcast_msgs - 1, each once its slot is free of the message it
/// overwrites (one permit of `room` per free slot).
task<> bcast_send(broadcast::sender<std::uint64_t> tx, kyoto::sync::semaphore* room,
                  std::atomic<std::uint32_t>* pending) {
  for (std::uint64_t i = 0; i < bcast_msgs; ++i) {
    auto permit = co_await room->acquire();
    permit.value().forget();
    pending[i % bcast_capacity].store(bcast_receivers, std::memory_order_release);
    tx.send(i).value();
  }
}

task<report> broadcast_fanout() {
  co_return co_await repeat(5, bcast_msgs * bcast_receivers, []() -> task<> {
    auto [tx, unused] = broadcast::channel<std::uint64_t>(bcast_capacity);
    {
      auto drop = std::move(unused);  // no receiver but the 8 below
    }
    kyoto::sync::semaphore room(bcast_capacity);
    auto pending = std::make_unique<std::atomic<std::uint32_t>[]>(bcast_capacity);
    std::vector<kyoto::join_handle<void>> handles;
    for (std::size_t r = 0; r < bcast_receivers; ++r)
      handles.push_back(kyoto::spawn(bcast_receive(tx.subscribe(), &room, pending.get())));
    handles.push_back(kyoto::spawn(bcast_send(std::move(tx), &room, pending.get())));
    co_await join_all_handles(handles);
  });
}

// ------------------------------------------------------------ timers

std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<std::uint64_t> timer_delays;

task<report> timers() {
  constexpr std::size_t tasks = 100'000;
  std::uint64_t seed = 42;
  timer_delays.clear();
  for (std::size_t k = 0; k < tasks; ++k)
    timer_delays.push_back(1 + splitmix64(seed) % 10);
  check(timer_delays[0] == 4 && timer_delays[1] == 2 && timer_delays[2] == 9 &&
            timer_delays[3] == 5 && timer_delays[4] == 1,
        "timer delays match the spec");
  co_return co_await repeat(5, tasks, []() -> task<> {
    std::vector<kyoto::join_handle<void>> handles;
    handles.reserve(tasks);
    for (std::uint64_t ms : timer_delays) {
      handles.push_back(kyoto::spawn(
          [](std::uint64_t d) -> task<> {
            co_await kyoto::time::sleep(std::chrono::milliseconds(d));
          },
          ms));
    }
    co_await join_all_handles(handles);
  });
}

// ------------------------------------------------------------ tcp

using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

/// A connected pair over `listener`: the kernel completes the handshake
/// before accept(), so connecting first cannot deadlock.
task<std::pair<tcp_stream, tcp_stream>> connected_pair(tcp_listener& listener) {
  tcp_stream client = co_await tcp_stream::connect(listener.local_addr());
  auto accepted = co_await listener.accept();
  tcp_stream server = std::move(accepted.first);
  client.set_nodelay(true);
  server.set_nodelay(true);
  co_return std::pair<tcp_stream, tcp_stream>(std::move(client), std::move(server));
}

constexpr std::size_t echo_msg = 64;

task<> echo_server(tcp_stream server) {
  std::array<std::byte, echo_msg> buf{};
  for (;;) {
    try {
      co_await server.read_exact(buf);
    } catch (const std::system_error&) {
      co_return;  // end of stream (or an error): the client is done
    }
    co_await server.write_all(std::span<const std::byte>(buf));
  }
}

task<> echo_client(tcp_stream client, std::size_t c, std::size_t round_trips) {
  std::array<std::byte, echo_msg> msg{};
  msg.fill(static_cast<std::byte>(c));
  std::array<std::byte, echo_msg> buf{};
  for (std::size_t i = 0; i < round_trips; ++i) {
    co_await client.write_all(std::span<const std::byte>(msg));
    co_await client.read_exact(buf);
    check(buf == msg, "tcp_echo: the echo equals the message");
  }
}

tcp_listener* bench_listener = nullptr;

/// tcp_echo's shape: `Clients` connections made one after another, each
/// with a server task and a client task doing `RoundTrips` round trips.
template <std::size_t Clients, std::size_t RoundTrips>
task<report> echo_clients() {
  tcp_listener listener =
      co_await tcp_listener::bind(kyoto::net::socket_addr::parse("127.0.0.1:0"));
  bench_listener = &listener;
  co_return co_await repeat(1, Clients * RoundTrips, []() -> task<> {
    std::vector<kyoto::join_handle<void>> handles;
    for (std::size_t c = 0; c < Clients; ++c) {
      auto [client, server] = co_await connected_pair(*bench_listener);
      handles.push_back(kyoto::spawn(echo_server(std::move(server))));
      handles.push_back(kyoto::spawn(echo_client(std::move(client), c, RoundTrips)));
    }
    co_await join_all_handles(handles);
  });
}

task<report> tcp_echo() {
  return echo_clients<32, 2'000>();
}

/// Raises the soft limit on open files to the hard one if it is below
/// `want` (tcp_echo_many holds 2,000 sockets open at once).
void raise_nofile(rlim_t want) {
  rlimit lim{};
  check(getrlimit(RLIMIT_NOFILE, &lim) == 0, "getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = lim.rlim_max;
  check(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit(RLIMIT_NOFILE)");
  check(lim.rlim_cur >= want, "the hard limit on open files is below 2,048 + a margin");
}

/// As tcp_echo, with 1,000 connections open at once, 50 round trips each.
task<report> tcp_echo_many() {
  raise_nofile(2'048 + 64);
  return echo_clients<1'000, 50>();
}

constexpr std::size_t stream_total = std::size_t{1} << 30;
constexpr std::size_t stream_chunk = 64 << 10;

task<std::size_t> stream_reader(tcp_stream server) {
  std::vector<std::byte> buf(stream_chunk);
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = co_await server.read(buf);
    if (n == 0) co_return total;
    total += n;
  }
}

task<> stream_writer(tcp_stream client) {
  const std::vector<std::byte> buf(stream_chunk, std::byte{0x5a});
  for (std::size_t i = 0; i < stream_total / stream_chunk; ++i)
    co_await client.write_all(buf);
  co_await client.shutdown();
}

task<report> tcp_stream_bulk() {
  tcp_listener listener =
      co_await tcp_listener::bind(kyoto::net::socket_addr::parse("127.0.0.1:0"));
  bench_listener = &listener;
  report r = co_await repeat(2, stream_total, []() -> task<> {
    auto [client, server] = co_await connected_pair(*bench_listener);
    auto reader = kyoto::spawn(stream_reader(std::move(server)));
    auto writer = kyoto::spawn(stream_writer(std::move(client)));
    co_await writer;
    const std::size_t got = co_await reader;
    check(got == stream_total, "tcp_stream: the reader counted 2^30 bytes");
  });
  r.mb_per_s = static_cast<double>(r.ops) / r.secs / 1e6;
  co_return r;
}

// ------------------------------------------------------------ memory

double rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  check(f != nullptr, "open /proc/self/statm");
  unsigned long size = 0, resident = 0;
  check(std::fscanf(f, "%lu %lu", &size, &resident) == 2, "read /proc/self/statm");
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::atomic<std::size_t> started{0};

task<report> task_memory() {
  constexpr std::size_t tasks = 100'000;
  std::vector<oneshot::sender<unit>> senders;
  std::vector<oneshot::receiver<unit>> receivers;
  senders.reserve(tasks);
  receivers.reserve(tasks);
  for (std::size_t i = 0; i < tasks; ++i) {
    auto [tx, rx] = oneshot::channel<unit>();
    senders.push_back(std::move(tx));
    receivers.push_back(std::move(rx));
  }
  std::vector<kyoto::join_handle<void>> handles;
  handles.reserve(tasks);
  started.store(0, std::memory_order_relaxed);
  malloc_trim(0);
  const double rss0 = rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  for (auto& rx : receivers) {
    handles.push_back(kyoto::spawn(
        [](oneshot::receiver<unit> r) -> task<> {
          started.fetch_add(1, std::memory_order_relaxed);
          (void)co_await r;
        },
        std::move(rx)));
  }
  while (started.load(std::memory_order_relaxed) < tasks)
    co_await kyoto::yield_now();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const double rss1 = rss_bytes();
  senders.clear();  // every receiver completes with "closed"
  co_await join_all_handles(handles);
  co_return report{tasks, elapsed.count(), (rss1 - rss0) / static_cast<double>(tasks)};
}

// ------------------------------------------------------------ remote spawn

std::atomic<std::size_t> remaining{0};
std::atomic<bool> remote_done{false};

/// Not in a root task: the main thread spawns through a handle and blocks
/// (futex, no spinning) until the last task wakes it.
report spawn_remote(kyoto::runtime& rt) {
  constexpr std::uint64_t reps = 10;
  kyoto::handle h = rt.handle();
  auto rep = [&] {
    remaining.store(spawn_tasks, std::memory_order_relaxed);
    remote_done.store(false, std::memory_order_relaxed);
    for (std::size_t i = 0; i < spawn_tasks; ++i) {
      h.spawn([]() -> task<> {
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          remote_done.store(true, std::memory_order_release);
          remote_done.notify_one();
        }
        co_return;
      });
    }
    while (!remote_done.load(std::memory_order_acquire))
      remote_done.wait(false);
  };
  rep();
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < reps; ++i)
    rep();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return report{reps * spawn_tasks, elapsed.count()};
}

// ------------------------------------------------------------ codec

task<report> framed_lines() {
  co_return co_await repeat(5, framed_lines_count, [] { return run_framed_lines(); });
}

// ------------------------------------------------------------ driver

constexpr std::size_t workers = 2;

struct workload {
  std::string_view name;
  task<report> (*body)();             ///< run as the root task, or
  report (*direct)(kyoto::runtime&);  ///< run from the main thread
  bool multi_thread;
};

// tokio's order: the multi-thread rows, then the current-thread (`_ct`)
// rows. task_memory runs first so that a full run measures a fresh heap.
const workload workloads[] = {
    {"task_memory", &task_memory, nullptr, true},
    {"spawn_many", &spawn_many, nullptr, true},
    {"spawn_remote", nullptr, &spawn_remote, true},
    {"yield_many", &yield_many, nullptr, true},
    {"ping_pong", &ping_pong, nullptr, true},
    {"chained_spawn", &chained_spawn, nullptr, true},
    {"mpsc_uncontended", &mpsc_bounded<1>, nullptr, true},
    {"mpsc_contended", &mpsc_bounded<8>, nullptr, true},
    {"mpsc_unbounded", &mpsc_unbounded, nullptr, true},
    {"select_recv", &select_recv, nullptr, true},
    {"oneshot", &oneshot_rounds, nullptr, true},
    {"broadcast", &broadcast_fanout, nullptr, true},
    {"timers", &timers, nullptr, true},
    {"tcp_echo", &tcp_echo, nullptr, true},
    {"tcp_stream", &tcp_stream_bulk, nullptr, true},
    {"tcp_echo_many", &tcp_echo_many, nullptr, true},
    {"stream_pipeline", &stream_pipeline, nullptr, true},
    {"framed_lines", &framed_lines, nullptr, true},
    {"spawn_many_ct", &spawn_many, nullptr, false},
    {"yield_many_ct", &yield_many, nullptr, false},
    {"ping_pong_ct", &ping_pong, nullptr, false},
    {"chained_spawn_ct", &chained_spawn, nullptr, false},
    {"mpsc_uncontended_ct", &mpsc_bounded<1>, nullptr, false},
    {"mpsc_contended_ct", &mpsc_bounded<8>, nullptr, false},
    {"mpsc_unbounded_ct", &mpsc_unbounded, nullptr, false},
    {"select_recv_ct", &select_recv, nullptr, false},
    {"oneshot_ct", &oneshot_rounds, nullptr, false},
    {"broadcast_ct", &broadcast_fanout, nullptr, false},
    {"timers_ct", &timers, nullptr, false},
    {"tcp_echo_ct", &tcp_echo, nullptr, false},
    {"tcp_stream_ct", &tcp_stream_bulk, nullptr, false},
    {"tcp_echo_many_ct", &tcp_echo_many, nullptr, false},
    {"stream_pipeline_ct", &stream_pipeline, nullptr, false},
    {"framed_lines_ct", &framed_lines, nullptr, false},
};

report run(const workload& w) {
  kyoto::runtime rt = w.multi_thread
                          ? kyoto::runtime::builder::multi_thread().worker_threads(workers).build()
                          : kyoto::runtime::builder::current_thread().enable_all().build();
  if (w.direct != nullptr) return w.direct(rt);
  // The root task: the main thread spawns one task and blocks until it ends.
  return rt.block_on(rt.spawn(w.body()));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<const workload*> selected;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--list") {
      for (const workload& w : workloads)
        std::printf("%.*s\n", static_cast<int>(w.name.size()), w.name.data());
      return 0;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const workload* found = nullptr;
    for (const workload& w : workloads) {
      if (w.name == arg) found = &w;
    }
    if (found == nullptr) {
      std::fprintf(stderr, "unknown workload: %s (try --list)\n", argv[i]);
      return 2;
    }
    selected.push_back(found);
  }
  if (selected.empty()) {
    for (const workload& w : workloads)
      selected.push_back(&w);
  }
  for (const workload* w : selected) {
    const report r = run(*w);
    std::printf("bench %.*s ops=%llu secs=%.6f ns_per_op=%.4f", static_cast<int>(w->name.size()),
                w->name.data(), static_cast<unsigned long long>(r.ops), r.secs,
                r.secs * 1e9 / static_cast<double>(r.ops));
    if (r.bytes_per_task >= 0) std::printf(" bytes_per_task=%.2f", r.bytes_per_task);
    if (r.mb_per_s >= 0) std::printf(" mb_per_s=%.2f", r.mb_per_s);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
