// The simulated network (kyoto::sim::network, tokio's turmoil in-process).
//
// # Why it is shaped this way
//
// The simulation must be reproducible from the seed of the deterministic
// runtime it runs in. So it is a single-threaded state machine on that
// runtime's thread, every random choice comes from the runtime's seeded
// generator (thread_rand()), and every delivery is an *event* at a virtual
// instant: a task sleeping on the paused clock until then. When all tasks
// wait, auto-advance moves the clock to the next delivery; nothing depends
// on real time or on the kernel.
//
// # The seam (hooks.hpp)
//
// The net types do not know about the simulation: a socket created inside
// a host gets a descriptor number >= sim_fd_base, and the system calls and
// io_uring requests made on such a number come here (sim_*). An io_op
// started on one is kept in a socket's `reader` or `connector` slot and
// completed with io_op::complete(), as a CQE would; a cancel takes it back
// (sim_cancel_op).
//
// # Which host a task belongs to
//
// The network installs task hooks on the runtime's scheduler: on_spawn
// records the spawning task's host (or the host being started) for the
// child, on_before_poll sets `sim_current_host` for the run (and takes an
// abort handle, which crash() uses), on_after_poll clears it, and
// on_terminate forgets the task. So a task spawned inside a host, however
// deep, is in that host.
//
// # The model
//
// TCP: a connection (sim_conn) has two ends; each end has its receive
// buffer and the queue of segments it sent that are still in flight, in
// order (a segment's arrival is never before the previous one's). A
// segment is data, FIN (shutdown or close) or RST (a close with unread
// data, a segment to a closed socket, a crash). Sends complete at once
// (the buffers are unbounded). A partition stalls an end's queue, retried
// every retransmit_interval; a segment stalled for tcp_timeout fails the
// connection (ETIMEDOUT). Reads give what has arrived; after a RST the
// first read fails with ECONNRESET and later ones give 0; the first write
// fails with ECONNRESET, later ones with EPIPE (the kernel's behaviour).
//
// UDP: each datagram draws its own latency (so they reorder) and may be
// lost (udp_loss); a partition or a crashed host drops it; it arrives only
// if a socket is bound to its port then.
//
// Connect: a connection request travels to the server's host (stalled by a
// partition like a segment); no listener there, or the host down, answers
// ECONNREFUSED; otherwise the server's end joins the listener's backlog at
// once and the client's connect completes one latency later.
//
// # Lifetime
//
// The network object shares a sim_core with the thread's registry; sockets
// and tasks of its hosts may outlive the object (they are cancelled with
// the runtime), so the registry keeps the core until its last socket is
// closed and its last task ended.
#include "scheduler/deterministic/scheduler.hpp"
#include "sim/hooks.hpp"

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/runtime/abort_handle.hpp>
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task_id.hpp>
#include <kyoto/sim/network.hpp>
#include <kyoto/time/clock.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/fast_rand.hpp>
#include <kyoto/runtime/detail/task_hooks.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kyoto::detail {

namespace {

/// The pointer an op_args field carries (io_op.hpp: the buffer, sockaddr or
/// msghdr of the request, as the kernel would read it).
template <class T>
T* op_pointer(std::uint64_t field) noexcept {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): op_args stores the caller's pointer as an integer
  return reinterpret_cast<T*>(field);
}

using instant = time::instant;
}  // namespace

struct sim_core;

/// One host of a network.
struct sim_host {
  sim_core* core = nullptr;
  std::string name;
  std::size_t index = 0;
  std::uint32_t ip = 0;  ///< host byte order
  std::function<task<void>()> software;
  bool client = false;
  bool up = true;
  std::uint64_t generation = 0;  ///< bumped by every crash
  std::uint16_t next_port = 49152;
  join_handle<void> main;  ///< the software's task (clients: what run() awaits)
};

/// A TCP segment in flight.
struct sim_segment {
  enum class kind : unsigned char { data, fin, rst };
  kind what = kind::data;
  instant at;    ///< when it arrives (unless stalled)
  instant sent;  ///< when it was first sent (tcp_timeout)
  std::vector<std::byte> bytes;
};

/// One end of a TCP connection.
struct sim_end {
  sim_host* host = nullptr;
  int fd = -1;          ///< its socket; -1 once closed
  bool closed = false;  ///< the socket was closed (or its host crashed)
  std::deque<std::byte> rx;
  bool rx_fin = false;
  int error = 0;  ///< ECONNRESET, ETIMEDOUT: the connection is dead here
  bool read_error_reported = false;
  bool write_error_reported = false;
  bool wr_shut = false;
  bool rst_sent = false;
  std::deque<sim_segment> out;  ///< sent by this end, in flight, in order
  instant last_at{};            ///< the arrival time of the last segment queued
};

/// A TCP connection: ends[0] connected, ends[1] was accepted.
struct sim_conn {
  sim_end ends[2];
};

/// A datagram waiting to be received.
struct sim_datagram {
  std::vector<std::byte> bytes;
  sockaddr_in from{};
};

/// A simulated socket.
struct sim_sock {
  int fd = -1;
  int type = SOCK_STREAM;
  sim_host* host = nullptr;
  bool dead = false;  ///< its host crashed
  bool bound = false;
  sockaddr_in local{};
  bool connected = false;  ///< datagram: connect() set a peer; stream: conn
  sockaddr_in peer{};
  bool listening = false;
  std::size_t backlog_max = 128;
  std::deque<int> backlog;
  std::shared_ptr<sim_conn> conn;
  int side = 0;
  std::deque<sim_datagram> inbox;
  io_op* reader = nullptr;  ///< a recv, recvmsg or accept waiting
  op_args reader_args{};
  io_op* connector = nullptr;  ///< a connect waiting
  std::map<std::pair<int, int>, int> options;
};

/// A task of a host.
struct sim_task {
  sim_host* host = nullptr;
  std::uint64_t generation = 0;
  abort_handle handle;  ///< taken at its first poll
  bool has_handle = false;
};

struct sim_core : std::enable_shared_from_this<sim_core> {
  sim::config cfg;
  std::vector<std::unique_ptr<sim_host>> hosts;
  std::set<std::pair<std::size_t, std::size_t>> partitions;
  std::map<int, std::unique_ptr<sim_sock>> sockets;
  std::unordered_map<io_op*, int> pending;  ///< ops waiting, and their socket
  std::map<std::pair<instant, std::uint64_t>, std::function<void()>> events;
  std::uint64_t event_seq = 0;
  std::unordered_map<std::uint64_t, sim_task> tasks;  ///< by task id
  std::exception_ptr failure;
  bool detached = false;  ///< the network object is gone

  sim_host* find_host(std::string_view name) const noexcept {
    for (const auto& h : hosts)
      if (h->name == name) return h.get();
    return nullptr;
  }
  sim_host& host_named(std::string_view name, const char* op) const {
    if (sim_host* h = find_host(name)) return *h;
    throw std::invalid_argument(std::string(op) + std::string(": no host named \"") +
                                std::string(name) + "\"");
  }
  sim_host* host_at(std::uint32_t ip, sim_host* self) const noexcept {
    if ((ip >> 24) == 127) return self;
    for (const auto& h : hosts)
      if (h->ip == ip) return h.get();
    return nullptr;
  }
  bool partitioned(const sim_host* a, const sim_host* b) const noexcept {
    if (a == b) return false;
    return partitions.contains(std::minmax(a->index, b->index));
  }
  sim_sock* socket(int fd) noexcept {
    auto it = sockets.find(fd);
    return it == sockets.end() ? nullptr : it->second.get();
  }

  std::chrono::milliseconds latency() const noexcept {
    const auto span = static_cast<std::uint32_t>((cfg.max_latency - cfg.min_latency).count());
    return cfg.min_latency + std::chrono::milliseconds(thread_rand().next_below(span + 1));
  }

  // ---- events ----
  void schedule(instant at, std::function<void()> fn);
  void run_due();

  // ---- tcp ----
  void send_segment(const std::shared_ptr<sim_conn>& c, int side, sim_segment::kind what,
                    std::vector<std::byte> bytes);
  void pump(const std::shared_ptr<sim_conn>& c, int side);
  void deliver(const std::shared_ptr<sim_conn>& c, int side, sim_segment seg);
  void fail_conn(const std::shared_ptr<sim_conn>& c, int err);
  void wake_end(sim_end& e);
  void send_rst(const std::shared_ptr<sim_conn>& c, int side);
  void try_read(sim_sock& s);
  void try_accept(sim_sock& s);
  void syn(int fd, sim_host* dst, std::uint16_t port, instant sent);
  void finish_reader(sim_sock& s, int result);
  void finish_connector(sim_sock& s, int result);

  // ---- udp ----
  void send_datagram(sim_sock& s, const sockaddr_in& to, std::vector<std::byte> bytes);
  void try_read_datagram(sim_sock& s);

  // ---- sockets ----
  std::uint16_t ephemeral_port(sim_host& h, int type);
  bool port_taken(const sim_host& h, int type, std::uint16_t port) const noexcept;
  void auto_bind(sim_sock& s, std::uint32_t toward);
  void close_socket(int fd);
  void start_host(sim_host& h);
  void crash(sim_host& h);
  void fail(std::exception_ptr e);
};

namespace {

/// What the thread knows about simulated networks.
struct sim_registry {
  std::vector<std::shared_ptr<sim_core>> cores;
  int next_fd = sim_fd_base;
  /// Set while the network starts a host's software: the host its task
  /// belongs to (on_spawn reads it instead of sim_current_host).
  bool spawning = false;
  sim_host* spawn_host = nullptr;
};

thread_local sim_registry registry;

/// The core and socket of a simulated descriptor, or nulls.
std::pair<sim_core*, sim_sock*> find_socket(int fd) noexcept {
  for (const auto& c : registry.cores)
    if (sim_sock* s = c->socket(fd)) return {c.get(), s};
  return {nullptr, nullptr};
}

/// Drops the registry's reference to `c` once nothing of it is left. The
/// caller must not touch `c` afterwards.
void maybe_release(sim_core* c) noexcept {
  if (!c->detached || !c->sockets.empty() || !c->tasks.empty() || !c->pending.empty()) return;
  auto it = std::find_if(registry.cores.begin(), registry.cores.end(),
                         [c](const auto& p) { return p.get() == c; });
  if (it == registry.cores.end()) return;
  std::shared_ptr<sim_core> keep = std::move(*it);
  registry.cores.erase(it);
}

sockaddr_in make_addr(std::uint32_t ip, std::uint16_t port) noexcept {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  a.sin_port = htons(port);
  return a;
}
std::uint32_t ip_of(const sockaddr_in& a) noexcept {
  return ntohl(a.sin_addr.s_addr);
}
std::uint16_t port_of(const sockaddr_in& a) noexcept {
  return ntohs(a.sin_port);
}

int fail_with(int err) noexcept {
  errno = err;
  return -1;
}

/// Copies `a` to a (sockaddr*, socklen_t*) pair as the kernel does.
void put_addr(const sockaddr_in& a, sockaddr* out, socklen_t* len) noexcept {
  if (out != nullptr && len != nullptr) {
    std::memcpy(out, &a, std::min<std::size_t>(*len, sizeof a));
    *len = sizeof a;
  }
}

/// The source address a socket bound to `s.local` uses toward `to`.
sockaddr_in source_addr(const sim_sock& s, std::uint32_t to) noexcept {
  sockaddr_in a = s.local;
  if (ip_of(a) == INADDR_ANY)
    a.sin_addr.s_addr = htonl((to >> 24) == 127 ? 0x7f000001 : s.host->ip);
  return a;
}

// ---- the task hooks ----

sim_task* find_task(std::uint64_t id) noexcept {
  for (const auto& c : registry.cores) {
    auto it = c->tasks.find(id);
    if (it != c->tasks.end()) return &it->second;
  }
  return nullptr;
}

/// The hooks' functors (a distinct type: install_hooks() recognises its own).
struct sim_spawn_hook {
  void operator()(const task_meta& m) const {
    sim_host* h = registry.spawning ? registry.spawn_host : sim_current_host;
    if (h == nullptr) return;
    h->core->tasks[m.id().value()] = sim_task{h, h->generation, {}, false};
  }
};
struct sim_before_poll_hook {
  void operator()(const task_meta& m) const {
    sim_task* t = find_task(m.id().value());
    if (t == nullptr) {
      sim_current_host = nullptr;
      return;
    }
    sim_current_host = t->host;
    if (!t->has_handle && current_context.task != nullptr) {
      t->handle = abort_handle_access::make(current_context.task);
      t->has_handle = true;
    }
    // Spawned before its host crashed, first run after: it dies now.
    if (t->generation != t->host->generation && t->has_handle) t->handle.abort();
  }
};
struct sim_after_poll_hook {
  void operator()(const task_meta&) const { sim_current_host = nullptr; }
};
struct sim_terminate_hook {
  void operator()(const task_meta& m) const {
    for (const auto& c : registry.cores) {
      if (c->tasks.erase(m.id().value()) != 0) {
        maybe_release(c.get());
        return;
      }
    }
  }
};

/// Installs the hooks on the scheduler of the calling task (once per
/// scheduler). Throws std::logic_error if it has other hooks.
void install_hooks(scheduler& sched) {
  if (sched.hooks != nullptr) {
    if (sched.hooks->on_spawn.target<sim_spawn_hook>() != nullptr) return;  // ours
    throw std::logic_error(
        "kyoto::sim::network: the runtime has task hooks (builder::on_task_spawn...); a "
        "simulated network needs the runtime's hooks to know which host a task belongs to");
  }
  auto h = std::make_shared<task_hooks>();
  h->on_spawn = sim_spawn_hook{};
  h->on_before_poll = sim_before_poll_hook{};
  h->on_after_poll = sim_after_poll_hook{};
  h->on_terminate = sim_terminate_hook{};
  // The scheduler reads `hooks` at each spawn and at the start of each
  // run; the run in progress (ours) read null and calls nothing at its end.
  sched.set_task_hooks(std::move(h));
}

/// A delivery's timer: sleeps until `at`, then runs what is due.
task<void> event_timer(std::shared_ptr<sim_core> c, instant at) {
  co_await time::sleep_until(at);
  c->run_due();
}

/// A host's software, run as its main task.
task<void> host_main(std::shared_ptr<sim_core> c, sim_host* h) {
  try {
    co_await h->software();
  } catch (...) {
    c->fail(std::current_exception());
  }
}

}  // namespace

// ---- events ----

void sim_core::schedule(instant at, std::function<void()> fn) {
  events.emplace(std::pair(at, event_seq++), std::move(fn));
  // The timer task belongs to no host: a crash must not lose deliveries.
  sim_host* const saved = std::exchange(sim_current_host, nullptr);
  const bool saved_spawning = std::exchange(registry.spawning, false);
  try {
    (void)kyoto::spawn(event_timer(shared_from_this(), at));
  } catch (...) {
    sim_current_host = saved;
    registry.spawning = saved_spawning;
    throw;
  }
  sim_current_host = saved;
  registry.spawning = saved_spawning;
}

void sim_core::run_due() {
  const instant now = time::clock::now();
  while (!events.empty() && events.begin()->first.first <= now) {
    std::function<void()> fn = std::move(events.begin()->second);
    events.erase(events.begin());
    fn();
  }
}

// ---- tcp ----

void sim_core::send_segment(const std::shared_ptr<sim_conn>& c, int side, sim_segment::kind what,
                            std::vector<std::byte> bytes) {
  sim_end& e = c->ends[side];
  const instant now = time::clock::now();
  sim_segment seg;
  seg.what = what;
  seg.sent = now;
  seg.at = std::max(now + latency(), e.last_at);  // in order
  seg.bytes = std::move(bytes);
  e.last_at = seg.at;
  const instant at = seg.at;
  e.out.push_back(std::move(seg));
  schedule(at, [this, c, side] { pump(c, side); });
}

void sim_core::pump(const std::shared_ptr<sim_conn>& c, int side) {
  sim_end& src = c->ends[side];
  sim_end& dst = c->ends[1 - side];
  const instant now = time::clock::now();
  while (!src.out.empty() && src.out.front().at <= now) {
    if (partitioned(src.host, dst.host)) {
      if (now - src.out.front().sent >= cfg.tcp_timeout) {
        fail_conn(c, ETIMEDOUT);
        return;
      }
      // Stalled: the whole queue waits (order is kept).
      const instant retry = now + cfg.retransmit_interval;
      for (sim_segment& s : src.out)
        s.at = std::max(s.at, retry);
      src.last_at = std::max(src.last_at, retry);
      schedule(retry, [this, c, side] { pump(c, side); });
      return;
    }
    sim_segment seg = std::move(src.out.front());
    src.out.pop_front();
    deliver(c, 1 - side, std::move(seg));
  }
}

void sim_core::deliver(const std::shared_ptr<sim_conn>& c, int side, sim_segment seg) {
  sim_end& e = c->ends[side];
  if (e.error != 0) return;  // dead here already
  if (e.closed) {
    // A closed socket answers data with a reset.
    if (seg.what == sim_segment::kind::data) send_rst(c, side);
    return;
  }
  switch (seg.what) {
    case sim_segment::kind::data:
      e.rx.insert(e.rx.end(), seg.bytes.begin(), seg.bytes.end());
      break;
    case sim_segment::kind::fin:
      e.rx_fin = true;
      break;
    case sim_segment::kind::rst:
      e.error = ECONNRESET;
      e.rx.clear();
      e.out.clear();
      break;
  }
  wake_end(e);
}

void sim_core::send_rst(const std::shared_ptr<sim_conn>& c, int side) {
  sim_end& e = c->ends[side];
  if (e.rst_sent || e.error != 0) return;
  e.rst_sent = true;
  send_segment(c, side, sim_segment::kind::rst, {});
}

void sim_core::fail_conn(const std::shared_ptr<sim_conn>& c, int err) {
  for (sim_end& e : c->ends) {
    if (e.error == 0) {
      e.error = err;
      e.rx.clear();
    }
    e.out.clear();
    wake_end(e);
  }
}

void sim_core::wake_end(sim_end& e) {
  if (e.fd < 0) return;
  if (sim_sock* s = socket(e.fd)) try_read(*s);
}

void sim_core::finish_reader(sim_sock& s, int result) {
  io_op* op = std::exchange(s.reader, nullptr);
  pending.erase(op);
  op->complete(result, 0);
}

void sim_core::finish_connector(sim_sock& s, int result) {
  io_op* op = std::exchange(s.connector, nullptr);
  pending.erase(op);
  op->complete(result, 0);
}

void sim_core::try_read(sim_sock& s) {
  if (s.reader == nullptr || s.conn == nullptr) return;
  sim_end& e = s.conn->ends[s.side];
  const op_args& a = s.reader_args;
  auto* buf = op_pointer<std::byte>(a.addr);
  const std::size_t len = a.len;
  const bool peek = (a.op_flags & MSG_PEEK) != 0;
  const bool wait_all = (a.op_flags & MSG_WAITALL) != 0;
  int r = 0;
  if (!e.rx.empty()) {
    if (wait_all && e.rx.size() < len && !e.rx_fin && e.error == 0) return;
    const std::size_t n = std::min(len, e.rx.size());
    std::copy_n(e.rx.begin(), n, buf);
    if (!peek) e.rx.erase(e.rx.begin(), e.rx.begin() + static_cast<std::ptrdiff_t>(n));
    r = static_cast<int>(n);
  } else if (e.error != 0 && !e.read_error_reported) {
    e.read_error_reported = true;  // reported once, even to a peek
    r = -e.error;
  } else if (e.rx_fin || e.error != 0) {
    r = 0;
  } else {
    return;
  }
  finish_reader(s, r);
}

void sim_core::try_accept(sim_sock& s) {
  if (s.reader == nullptr || s.backlog.empty()) return;
  const int fd = s.backlog.front();
  s.backlog.pop_front();
  const op_args& a = s.reader_args;
  if (sim_sock* c = socket(fd)) {
    put_addr(c->peer, op_pointer<sockaddr>(a.addr), op_pointer<socklen_t>(a.off));
  }
  finish_reader(s, fd);
}

void sim_core::syn(int fd, sim_host* dst, std::uint16_t port, instant sent) {
  sim_sock* s = socket(fd);
  if (s == nullptr || s->connector == nullptr || s->dead) return;  // cancelled meanwhile
  const instant now = time::clock::now();
  if (partitioned(s->host, dst)) {
    if (now - sent >= cfg.tcp_timeout) {
      finish_connector(*s, -ETIMEDOUT);
      return;
    }
    schedule(now + cfg.retransmit_interval,
             [this, fd, dst, port, sent] { syn(fd, dst, port, sent); });
    return;
  }
  sim_sock* listener = nullptr;
  if (dst->up) {
    for (auto& [_, l] : sockets) {
      if (l->host == dst && l->listening && !l->dead && port_of(l->local) == port) {
        listener = l.get();
        break;
      }
    }
  }
  const auto answer = [this, fd](int result) {
    schedule(time::clock::now() + latency(), [this, fd, result] {
      sim_sock* client = socket(fd);
      if (client != nullptr && client->connector != nullptr) finish_connector(*client, result);
    });
  };
  if (listener == nullptr || listener->backlog.size() >= listener->backlog_max) {
    answer(-ECONNREFUSED);
    return;
  }
  auto conn = std::make_shared<sim_conn>();
  auto server = std::make_unique<sim_sock>();
  server->fd = registry.next_fd++;
  server->type = SOCK_STREAM;
  server->host = dst;
  server->bound = true;
  server->local = make_addr(
      (port_of(s->peer) != 0 && (ip_of(s->peer) >> 24) == 127) ? 0x7f000001 : dst->ip, port);
  server->peer = s->local;
  server->connected = true;
  server->conn = conn;
  server->side = 1;
  conn->ends[0].host = s->host;
  conn->ends[0].fd = s->fd;
  conn->ends[1].host = dst;
  conn->ends[1].fd = server->fd;
  s->conn = conn;
  s->side = 0;
  s->connected = true;
  const int server_fd = server->fd;
  sockets.emplace(server_fd, std::move(server));
  listener->backlog.push_back(server_fd);
  try_accept(*listener);
  answer(0);
}

// ---- udp ----

void sim_core::send_datagram(sim_sock& s, const sockaddr_in& to, std::vector<std::byte> bytes) {
  const std::uint32_t to_ip = ip_of(to);
  if (!s.bound) auto_bind(s, to_ip);
  sim_host* dst = host_at(to_ip, s.host);
  if (dst == nullptr || partitioned(s.host, dst)) return;
  if (cfg.udp_loss > 0 &&
      static_cast<double>(thread_rand().next_below(1'000'000)) < cfg.udp_loss * 1e6) {
    return;  // lost
  }
  const sockaddr_in from = source_addr(s, to_ip);
  sim_host* src = s.host;
  const std::uint16_t port = port_of(to);
  schedule(time::clock::now() + latency(), [this, src, dst, port, from, b = std::move(bytes)] {
    if (!dst->up || partitioned(src, dst)) return;
    for (auto& [_, r] : sockets) {
      if (r->host != dst || r->type != SOCK_DGRAM || r->dead || !r->bound ||
          port_of(r->local) != port) {
        continue;
      }
      if (r->connected && (ip_of(r->peer) != ip_of(from) || port_of(r->peer) != port_of(from)))
        return;  // a connected socket takes its peer's datagrams only
      r->inbox.push_back(sim_datagram{b, from});
      try_read_datagram(*r);
      return;
    }
  });
}

void sim_core::try_read_datagram(sim_sock& s) {
  if (s.reader == nullptr || s.inbox.empty()) return;
  const op_args& a = s.reader_args;
  const bool peek = (a.op_flags & MSG_PEEK) != 0;
  sim_datagram& d = s.inbox.front();
  std::size_t n = 0;
  if (a.opcode == opcode::recvmsg) {
    auto* m = op_pointer<msghdr>(a.addr);
    for (std::size_t i = 0; i < m->msg_iovlen && n < d.bytes.size(); ++i) {
      const std::size_t k = std::min(m->msg_iov[i].iov_len, d.bytes.size() - n);
      std::memcpy(m->msg_iov[i].iov_base, d.bytes.data() + n, k);
      n += k;
    }
    if (m->msg_name != nullptr)
      put_addr(d.from, static_cast<sockaddr*>(m->msg_name), &m->msg_namelen);
    m->msg_flags = n < d.bytes.size() ? MSG_TRUNC : 0;
  } else {
    n = std::min<std::size_t>(a.len, d.bytes.size());
    std::memcpy(op_pointer<void>(a.addr), d.bytes.data(), n);
  }
  if (!peek) s.inbox.pop_front();
  finish_reader(s, static_cast<int>(n));
}

// ---- sockets ----

bool sim_core::port_taken(const sim_host& h, int type, std::uint16_t port) const noexcept {
  for (const auto& [_, s] : sockets) {
    if (s->host == &h && s->type == type && s->bound && !s->dead && s->conn == nullptr &&
        port_of(s->local) == port) {
      return true;
    }
  }
  return false;
}

std::uint16_t sim_core::ephemeral_port(sim_host& h, int type) {
  for (int tries = 0; tries < 16384; ++tries) {
    const std::uint16_t p = h.next_port;
    h.next_port = h.next_port == 65535 ? 49152 : static_cast<std::uint16_t>(h.next_port + 1);
    if (!port_taken(h, type, p)) return p;
  }
  return 0;
}

void sim_core::auto_bind(sim_sock& s, std::uint32_t toward) {
  s.local =
      make_addr((toward >> 24) == 127 ? 0x7f000001 : s.host->ip, ephemeral_port(*s.host, s.type));
  s.bound = true;
}

void sim_core::close_socket(int fd) {
  auto it = sockets.find(fd);
  if (it == sockets.end()) return;
  std::unique_ptr<sim_sock> s = std::move(it->second);
  sockets.erase(it);
  for (const int b : s->backlog)
    close_socket(b);
  if (s->conn != nullptr) {
    sim_end& e = s->conn->ends[s->side];
    e.fd = -1;
    if (!e.closed) {
      e.closed = true;
      if (e.error == 0) {
        if (!e.rx.empty() || s->dead) {
          send_rst(s->conn, s->side);  // unread data (or a crash): a reset
        } else if (!e.wr_shut) {
          e.wr_shut = true;
          send_segment(s->conn, s->side, sim_segment::kind::fin, {});
        }
      }
    }
  }
  // No op can be waiting: the socket's owner awaits or cancels them first.
}

void sim_core::start_host(sim_host& h) {
  registry.spawning = true;
  registry.spawn_host = &h;
  try {
    h.main = kyoto::spawn(host_main(shared_from_this(), &h));
  } catch (...) {
    registry.spawning = false;
    throw;
  }
  registry.spawning = false;
}

void sim_core::crash(sim_host& h) {
  h.up = false;
  ++h.generation;
  std::vector<abort_handle> doomed;
  for (auto& [_, t] : tasks)
    if (t.host == &h && t.has_handle) doomed.push_back(t.handle);
  for (abort_handle& a : doomed)
    a.abort();
  std::vector<int> fds;
  for (auto& [fd, s] : sockets) {
    if (s->host != &h || s->dead) continue;
    s->dead = true;
    fds.push_back(fd);
  }
  for (const int fd : fds) {
    sim_sock* s = socket(fd);
    if (s == nullptr) continue;
    for (const int b : s->backlog)
      close_socket(b);
    s->backlog.clear();
    if (s->conn != nullptr) {
      sim_end& e = s->conn->ends[s->side];
      e.closed = true;
      e.rx.clear();
      send_rst(s->conn, s->side);
    }
  }
}

void sim_core::fail(std::exception_ptr e) {
  if (failure) return;
  failure = std::move(e);
  for (const auto& h : hosts)
    if (h->client) h->main.abort();
}

// ---- the seam (hooks.hpp) ----

int sim_socket(int family, int type) noexcept {
  sim_host* h = sim_current_host;
  if (family != AF_INET) return fail_with(EAFNOSUPPORT);  // the simulation is IPv4
  type &= ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (type != SOCK_STREAM && type != SOCK_DGRAM) return fail_with(EPROTONOSUPPORT);
  if (!h->up) return fail_with(ENETDOWN);
  try {
    auto s = std::make_unique<detail::sim_sock>();
    s->fd = registry.next_fd++;
    s->type = type;
    s->host = h;
    const int fd = s->fd;
    h->core->sockets.emplace(fd, std::move(s));
    return fd;
  } catch (...) {
    return fail_with(ENOMEM);
  }
}

int sim_bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  if (s->dead) return fail_with(ENETDOWN);
  if (addr->sa_family != AF_INET || len < sizeof(sockaddr_in)) return fail_with(EAFNOSUPPORT);
  if (s->bound) return fail_with(EINVAL);
  sockaddr_in a{};
  std::memcpy(&a, addr, sizeof a);
  const std::uint32_t ip = ip_of(a);
  if (ip != INADDR_ANY && (ip >> 24) != 127 && ip != s->host->ip) return fail_with(EADDRNOTAVAIL);
  std::uint16_t port = port_of(a);
  if (port == 0) {
    port = c->ephemeral_port(*s->host, s->type);
    if (port == 0) return fail_with(EADDRINUSE);
  } else if (c->port_taken(*s->host, s->type, port)) {
    return fail_with(EADDRINUSE);
  }
  s->local = make_addr(ip, port);
  s->bound = true;
  return 0;
}

int sim_listen(int fd, int backlog) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  if (s->type != SOCK_STREAM || s->conn != nullptr) return fail_with(EOPNOTSUPP);
  if (!s->bound) c->auto_bind(*s, INADDR_ANY);
  s->listening = true;
  s->backlog_max = static_cast<std::size_t>(std::max(backlog, 1));
  return 0;
}

int sim_connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  if (s->type != SOCK_DGRAM) return fail_with(EOPNOTSUPP);  // streams connect as a request
  if (addr->sa_family != AF_INET || len < sizeof(sockaddr_in)) return fail_with(EAFNOSUPPORT);
  std::memcpy(&s->peer, addr, sizeof s->peer);
  if ((ip_of(s->peer) >> 24) == 127 || ip_of(s->peer) == INADDR_ANY) {
    s->peer.sin_addr.s_addr = htonl(0x7f000001);
  }
  if (!s->bound) c->auto_bind(*s, ip_of(s->peer));
  s->connected = true;
  return 0;
}

int sim_shutdown(int fd, int how) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  if (s->conn == nullptr) return fail_with(ENOTCONN);
  sim_end& e = s->conn->ends[s->side];
  if ((how == SHUT_WR || how == SHUT_RDWR) && !e.wr_shut && e.error == 0 && !s->dead) {
    e.wr_shut = true;
    try {
      c->send_segment(s->conn, s->side, sim_segment::kind::fin, {});
    } catch (...) {
      return fail_with(ENOMEM);
    }
  }
  return 0;
}

int sim_close(int fd) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  try {
    c->close_socket(fd);
  } catch (...) {  // NOLINT(bugprone-empty-catch)
    // Out of memory for the FIN's timer: the peer never learns; the
    // socket is gone all the same.
  }
  maybe_release(c);
  return 0;
}

int sim_setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  int v = 0;
  std::memcpy(&v, value, std::min<std::size_t>(len, sizeof v));
  try {
    s->options[{level, name}] = v;
  } catch (...) {
    return fail_with(ENOMEM);
  }
  return 0;
}

int sim_getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  int v = 0;
  if (level == SOL_SOCKET && name == SO_DOMAIN) {
    v = AF_INET;
  } else if (level == SOL_SOCKET && name == SO_TYPE) {
    v = s->type;
  } else if (auto it = s->options.find({level, name}); it != s->options.end()) {
    v = it->second;
  } else if (level == IPPROTO_IP && name == IP_TTL) {
    v = 64;
  }
  // SO_LINGER and other structs read as zeros: off.
  std::memset(value, 0, *len);
  std::memcpy(value, &v, std::min<std::size_t>(*len, sizeof v));
  return 0;
}

int sim_getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  put_addr(s->bound ? s->local : make_addr(INADDR_ANY, 0), addr, len);
  return 0;
}

int sim_getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  auto [c, s] = find_socket(fd);
  if (s == nullptr) return fail_with(EBADF);
  if (!s->connected) return fail_with(ENOTCONN);
  put_addr(s->peer, addr, len);
  return 0;
}

void sim_start_op(io_op* op, const op_args& a) {
  auto [c, s] = find_socket(a.fd);
  if (s == nullptr) {
    op->complete(-EBADF, 0);
    return;
  }
  if (s->dead) {
    op->complete(-ECONNABORTED, 0);
    return;
  }
  const auto wait_reader = [&] {
    if (s->reader != nullptr) return false;
    c->pending.emplace(op, s->fd);
    s->reader = op;
    s->reader_args = a;
    return true;
  };
  switch (a.opcode) {
    case opcode::accept:
      if (!s->listening) {
        op->complete(-EINVAL, 0);
      } else if (!wait_reader()) {
        op->complete(-EBUSY, 0);
      } else {
        c->try_accept(*s);
      }
      return;
    case opcode::connect: {
      if (s->type != SOCK_STREAM || s->listening) {
        op->complete(-EOPNOTSUPP, 0);
        return;
      }
      if (s->conn != nullptr) {
        op->complete(-EISCONN, 0);
        return;
      }
      const auto* to = op_pointer<const sockaddr>(a.addr);
      if (to->sa_family != AF_INET || a.off < sizeof(sockaddr_in)) {
        op->complete(-EAFNOSUPPORT, 0);
        return;
      }
      sockaddr_in dest{};
      std::memcpy(&dest, to, sizeof dest);
      if (ip_of(dest) == INADDR_ANY) dest.sin_addr.s_addr = htonl(0x7f000001);
      sim_host* dst = c->host_at(ip_of(dest), s->host);
      if (dst == nullptr) {
        op->complete(-EHOSTUNREACH, 0);
        return;
      }
      if (!s->bound) c->auto_bind(*s, ip_of(dest));
      s->peer = dest;
      c->pending.emplace(op, s->fd);
      s->connector = op;
      const int fd = s->fd;
      const std::uint16_t port = port_of(dest);
      const instant now = time::clock::now();
      sim_core* core = c;
      c->schedule(now + c->latency(),
                  [core, fd, dst, port, now] { core->syn(fd, dst, port, now); });
      return;
    }
    case opcode::recv:
    case opcode::recvmsg:
      if (a.opcode == opcode::recvmsg && s->type != SOCK_DGRAM) {
        op->complete(-EOPNOTSUPP, 0);
        return;
      }
      if (s->type == SOCK_STREAM && s->conn == nullptr) {
        op->complete(-ENOTCONN, 0);
        return;
      }
      if (!wait_reader()) {
        op->complete(-EBUSY, 0);
        return;
      }
      if (s->type == SOCK_STREAM) {
        c->try_read(*s);
      } else {
        c->try_read_datagram(*s);
      }
      return;
    case opcode::send:
    case opcode::sendmsg: {
      std::vector<std::byte> bytes;
      const sockaddr_in* to = nullptr;
      sockaddr_in dest{};
      if (a.opcode == opcode::sendmsg) {
        const auto* m = op_pointer<const msghdr>(a.addr);
        for (std::size_t i = 0; i < m->msg_iovlen; ++i) {
          const auto* p = static_cast<const std::byte*>(m->msg_iov[i].iov_base);
          bytes.insert(bytes.end(), p, p + m->msg_iov[i].iov_len);
        }
        if (m->msg_name != nullptr) {
          if (static_cast<const sockaddr*>(m->msg_name)->sa_family != AF_INET) {
            op->complete(-EAFNOSUPPORT, 0);
            return;
          }
          std::memcpy(&dest, m->msg_name, sizeof dest);
          to = &dest;
        }
      } else {
        const auto* p = op_pointer<const std::byte>(a.addr);
        bytes.assign(p, p + a.len);
      }
      const int n = static_cast<int>(bytes.size());
      if (s->type == SOCK_DGRAM) {
        if (to == nullptr && !s->connected) {
          op->complete(-EDESTADDRREQ, 0);
          return;
        }
        if (bytes.size() > 65507) {
          op->complete(-EMSGSIZE, 0);
          return;
        }
        c->send_datagram(*s, to != nullptr ? *to : s->peer, std::move(bytes));
        op->complete(n, 0);
        return;
      }
      if (s->conn == nullptr) {
        op->complete(-ENOTCONN, 0);
        return;
      }
      sim_end& e = s->conn->ends[s->side];
      if (e.error != 0) {
        const bool first = !std::exchange(e.write_error_reported, true);
        op->complete(first ? -e.error : -EPIPE, 0);
        return;
      }
      if (e.wr_shut) {
        op->complete(-EPIPE, 0);
        return;
      }
      if (n > 0) c->send_segment(s->conn, s->side, sim_segment::kind::data, std::move(bytes));
      op->complete(n, 0);
      return;
    }
    default:
      op->complete(-EOPNOTSUPP, 0);
      return;
  }
}

bool sim_cancel_op(io_op* op) noexcept {
  for (const auto& c : registry.cores) {
    auto it = c->pending.find(op);
    if (it == c->pending.end()) continue;
    if (sim_sock* s = c->socket(it->second)) {
      if (s->reader == op) s->reader = nullptr;
      if (s->connector == op) s->connector = nullptr;
    }
    c->pending.erase(it);
    maybe_release(c.get());
    return true;
  }
  return false;
}

std::vector<net::socket_addr> sim_lookup(const std::string& host_port) {
  if (auto a = net::socket_addr::try_parse(host_port)) return {*a};
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    throw std::invalid_argument(std::string("kyoto::net::lookup_host: \"") + host_port +
                                "\" has no \":port\"");
  }
  const std::string name = host_port.substr(0, colon);
  unsigned port = 0;
  const char* first = host_port.data() + colon + 1;
  const char* last = host_port.data() + host_port.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) {
    throw std::invalid_argument(std::string("kyoto::net::lookup_host: \"") + host_port +
                                "\": the port is not a number from 0 to 65535");
  }
  if (name == "localhost")
    return {net::socket_addr::localhost_v4(static_cast<std::uint16_t>(port))};
  sim_host* self = sim_current_host;
  if (sim_host* h = self->core->find_host(name)) {
    const sockaddr_in a = make_addr(h->ip, static_cast<std::uint16_t>(port));
    return {net::socket_addr(reinterpret_cast<const sockaddr*>(&a), sizeof a)};
  }
  throw std::system_error(
      EAI_NONAME, net::resolve_category(),
      std::string("kyoto::net::lookup_host: \"") + name + "\" (no such simulated host)");
}

}  // namespace kyoto::detail

namespace kyoto::sim {

namespace {

void check_config(const config& cfg) {
  if (cfg.min_latency.count() < 0 || cfg.max_latency < cfg.min_latency) {
    throw std::invalid_argument(
        "kyoto::sim::network: the latency range must satisfy 0 <= min_latency <= max_latency");
  }
  if (!(cfg.udp_loss >= 0.0 && cfg.udp_loss <= 1.0)) {
    throw std::invalid_argument("kyoto::sim::network: udp_loss must be between 0 and 1");
  }
  if (cfg.retransmit_interval.count() <= 0 || cfg.tcp_timeout.count() <= 0) {
    throw std::invalid_argument(
        "kyoto::sim::network: retransmit_interval and tcp_timeout must be positive");
  }
}

}  // namespace

network::network(config cfg) {
  detail::scheduler* sched = detail::current_context.sched;
  if (sched == nullptr || detail::current_context.task == nullptr) {
    throw std::logic_error(
        "kyoto::sim::network: must be created inside a task of a deterministic runtime");
  }
  if (dynamic_cast<detail::deterministic_scheduler*>(sched) == nullptr) {
    throw std::logic_error(
        "kyoto::sim::network: a simulated network needs the deterministic runtime "
        "(runtime::builder::deterministic(seed), KYOTO_TEST_SEEDS): its seed and paused clock "
        "decide every delivery");
  }
  check_config(cfg);
  for (const auto& c : detail::registry.cores) {
    if (!c->detached) {
      throw std::logic_error(
          "kyoto::sim::network: another simulated network is alive on this runtime");
    }
  }
  detail::install_hooks(*sched);
  core_ = std::make_shared<detail::sim_core>();
  core_->cfg = cfg;
  detail::registry.cores.push_back(core_);
}

network::~network() {
  core_->detached = true;
  detail::maybe_release(core_.get());
}

void network::host(std::string name, std::function<task<void>()> software) {
  if (name.empty() || core_->find_host(name) != nullptr) {
    throw std::invalid_argument(std::string("kyoto::sim::network::host: the name \"") + name +
                                "\" is empty or taken");
  }
  if (!software) throw std::invalid_argument("kyoto::sim::network::host: empty software");
  if (core_->hosts.size() >= 250) {
    throw std::invalid_argument("kyoto::sim::network::host: at most 250 hosts");
  }
  auto h = std::make_unique<detail::sim_host>();
  h->core = core_.get();
  h->name = std::move(name);
  h->index = core_->hosts.size();
  h->ip = (192U << 24) | (168U << 16) | static_cast<std::uint32_t>(h->index + 1);
  h->software = std::move(software);
  detail::sim_host& ref = *h;
  core_->hosts.push_back(std::move(h));
  core_->start_host(ref);
}

void network::client(std::string name, std::function<task<void>()> software) {
  host(std::move(name), std::move(software));
  core_->hosts.back()->client = true;
}

task<void> network::run() {
  const std::shared_ptr<detail::sim_core> c = core_;
  for (const auto& h : c->hosts) {
    if (!h->client) continue;
    try {
      co_await h->main;
    } catch (const join_error&) {  // NOLINT(bugprone-empty-catch)
      // Cancelled by fail(): the failure is rethrown below.
    }
  }
  for (const auto& h : c->hosts)
    if (h->up && !h->client) c->crash(*h);
  if (c->failure) std::rethrow_exception(c->failure);
}

void network::partition(std::string_view a, std::string_view b) {
  const auto& x = core_->host_named(a, "kyoto::sim::network::partition");
  const auto& y = core_->host_named(b, "kyoto::sim::network::partition");
  if (&x != &y) core_->partitions.insert(std::minmax(x.index, y.index));
}

void network::repair(std::string_view a, std::string_view b) {
  const auto& x = core_->host_named(a, "kyoto::sim::network::repair");
  const auto& y = core_->host_named(b, "kyoto::sim::network::repair");
  core_->partitions.erase(std::minmax(x.index, y.index));
}

void network::crash(std::string_view name) {
  auto& h = core_->host_named(name, "kyoto::sim::network::crash");
  if (h.client) {
    throw std::logic_error(std::string("kyoto::sim::network::crash: \"") + h.name +
                           "\" is a client (run() waits for it); only hosts crash");
  }
  if (!h.up)
    throw std::logic_error(std::string("kyoto::sim::network::crash: \"") + h.name + "\" is down");
  core_->crash(h);
}

void network::restart(std::string_view name) {
  auto& h = core_->host_named(name, "kyoto::sim::network::restart");
  if (h.up) {
    throw std::logic_error(std::string("kyoto::sim::network::restart: \"") + h.name +
                           "\" is up (crash it first, or bounce it)");
  }
  h.up = true;
  core_->start_host(h);
}

void network::bounce(std::string_view name) {
  crash(name);
  restart(name);
}

bool network::is_up(std::string_view name) const {
  return core_->host_named(name, "kyoto::sim::network::is_up").up;
}

net::socket_addr network::lookup(std::string_view name, std::uint16_t port) const {
  const auto& h = core_->host_named(name, "kyoto::sim::network::lookup");
  const sockaddr_in a = detail::make_addr(h.ip, port);
  return net::socket_addr(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

}  // namespace kyoto::sim
