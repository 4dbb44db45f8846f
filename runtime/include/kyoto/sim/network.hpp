// kyoto::sim::network: a simulated network of hosts, for deterministic
// tests of networked code (tokio's turmoil, in-process).
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace kyoto::detail {
struct sim_core;
}  // namespace kyoto::detail

namespace kyoto::sim {

/// How the simulated network behaves (turmoil::Builder's settings). Every
/// random choice (each message's latency, each datagram's loss) is drawn
/// from the deterministic runtime's seeded generator.
///
/// Thread safety: a plain value.
struct config {
  /// The smallest one-way latency of a message (a TCP segment, a datagram,
  /// a connection's handshake step). Whole milliseconds: timers tick in ms.
  std::chrono::milliseconds min_latency{1};
  /// The largest. Each message draws its latency uniformly from
  /// [min_latency, max_latency]: datagrams overtake each other when the
  /// range is wide (reordering); TCP segments stay in order.
  std::chrono::milliseconds max_latency{5};
  /// The probability (0 to 1) that a datagram is lost. TCP loses nothing:
  /// its retransmissions are modelled as delay.
  double udp_loss = 0.0;
  /// While two hosts are partitioned, a TCP segment (or connection request)
  /// between them is retried this often.
  std::chrono::milliseconds retransmit_interval{50};
  /// A TCP segment or connection request that cannot get through for this
  /// long fails the connection with ETIMEDOUT at both ends.
  std::chrono::milliseconds tcp_timeout{10'000};
};

/// A simulated network (turmoil::Sim): named hosts, each with its own IPv4
/// address (192.168.0.1, .2, ... in the order they were added), running
/// their "software" as tasks of the current deterministic runtime. A
/// kyoto::net::tcp_listener, tcp_stream or udp_socket created by a task of
/// a host (or a task it spawned) lives in this network instead of the
/// kernel, and a name given to connect/bind/lookup_host ("server:7") is
/// resolved to that host's address; the same code outside a host uses the
/// kernel. Messages arrive after a seeded latency; partitions stall TCP and
/// drop datagrams; a crash kills a host's tasks and resets its
/// connections. Everything happens on the paused clock, so a run is
/// reproducible from its seed (docs/testing.md, "Simulated networks").
///
///     kyoto::sim::network net;
///     net.host("server", [] { return echo_server("0.0.0.0:7"); });
///     net.client("client", [] { return ping("server:7"); });
///     co_await net.run();
///
/// Must be created inside a task of a deterministic runtime
/// (runtime::builder::deterministic(seed), KYOTO_TEST_SEEDS); elsewhere
/// the constructor throws std::logic_error. One network per runtime at a
/// time. The runtime must have no task hooks of its own (the network
/// installs hooks to know which host a task belongs to).
///
/// Thread safety: the runtime's one thread only (as everything in a
/// deterministic runtime). The network must outlive run(); tasks of its
/// hosts still alive when it is destroyed keep working against a network
/// that delivers nothing more (they are cancelled with the runtime).
class KYOTO_EXPORT network {
 public:
  /// A network with `cfg`'s behaviour. Throws std::logic_error outside a
  /// deterministic runtime's task, or if the runtime has task hooks or
  /// another live network; std::invalid_argument for a bad config.
  explicit network(config cfg = {});
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  /// Adds a host (turmoil's Sim::host) running `software`, a server that is
  /// not expected to return: called now, and again at every restart; its
  /// task starts when the caller next suspends. The callable is kept by the
  /// network: a capturing coroutine lambda is safe. Throws
  /// std::invalid_argument for an empty or taken name.
  void host(std::string name, std::function<task<void>()> software);
  /// Adds a client (turmoil's Sim::client): a host whose software's end is
  /// what run() waits for. Same rules as host().
  void client(std::string name, std::function<task<void>()> software);

  /// Waits until every client's software has returned (turmoil's
  /// Sim::run), then crashes every host still up (their tasks are
  /// cancelled). If a client or host software ended with an exception, the
  /// remaining clients are cancelled and run() rethrows the first one.
  /// Cancel safe: cancelling it leaves the hosts running.
  task<void> run();

  /// From now on nothing gets through between hosts `a` and `b` (either
  /// direction): datagrams are dropped, TCP segments and connection
  /// requests wait (retried every retransmit_interval) until repair(), or
  /// fail the connection after tcp_timeout. Idempotent. Throws
  /// std::invalid_argument for an unknown host.
  void partition(std::string_view a, std::string_view b);
  /// Ends a partition between `a` and `b` (no-op without one). Throws
  /// std::invalid_argument for an unknown host.
  void repair(std::string_view a, std::string_view b);

  /// Crashes host `name` (turmoil's Sim::crash): its tasks are cancelled,
  /// its listeners and datagram sockets vanish (connecting gets
  /// ECONNREFUSED, datagrams to it are lost), and each of its connections
  /// is reset: the peer's next read or write fails with ECONNRESET. Throws
  /// std::invalid_argument for an unknown host, std::logic_error for a
  /// client or a host already down.
  void crash(std::string_view name);
  /// Starts a crashed host's software again (a new run, with fresh
  /// sockets). Throws std::logic_error if the host is up.
  void restart(std::string_view name);
  /// crash() then restart() (turmoil's Sim::bounce).
  void bounce(std::string_view name);
  /// Whether host `name` is up (not crashed). Throws std::invalid_argument
  /// for an unknown host.
  bool is_up(std::string_view name) const;

  /// Host `name`'s address with `port` (turmoil::lookup); usable from any
  /// task, inside a host or not. Throws std::invalid_argument for an
  /// unknown host.
  net::socket_addr lookup(std::string_view name, std::uint16_t port = 0) const;

 private:
  std::shared_ptr<detail::sim_core> core_;
};

}  // namespace kyoto::sim
