// The metrics endpoint (runtime::builder::metrics_endpoint): a Unix socket
// on which the runtime serves runtime_metrics::to_prometheus() and task
// dumps.
//
// A thread of its own, blocked in poll() on the listening socket and an
// eventfd that the destructor writes to stop it: it never runs on, or
// waits for, the runtime's workers. Each connection is one scrape, in
// HTTP/1.0 so that curl (`curl --unix-socket PATH http://localhost/metrics`)
// and Prometheus (through a Unix-socket proxy) read it as they read any
// /metrics page: the endpoint reads the request head (up to 8 KiB, waiting
// at most one second for it), answers `200 OK` with the text for any path
// but one, and closes. The path `/tasks` answers with a task dump instead
// (runtime_dump::to_json(), <kyoto/runtime/dump.hpp>), taken on this
// thread as any dump from outside the runtime is: samples/kyoto_top reads
// both. One client at a time; a client that sends nothing is
// dropped after the second.
//
// The endpoint holds the scheduler weakly: the runtime owns the endpoint
// and destroys it (joining the thread) before its scheduler; a scrape that
// races with that finds the scheduler still alive (its lock() keeps it so)
// or gone (it answers 503).
#pragma once

#include <kyoto/runtime/detail/scheduler.hpp>

#include <memory>
#include <string>
#include <thread>

namespace kyoto::detail {

class metrics_endpoint {
 public:
  /// Binds and listens on `path` (an existing socket file nobody listens
  /// on is replaced) and starts serving `sched`'s metrics. Throws
  /// std::invalid_argument for an empty or too long path, std::system_error
  /// if the socket cannot be made or the path is in use; both name
  /// kyoto::runtime::builder::metrics_endpoint.
  metrics_endpoint(std::string path, std::weak_ptr<scheduler> sched);
  /// Stops serving, joins the thread and removes the socket file.
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

 private:
  void serve() noexcept;
  void answer(int client) noexcept;

  const std::string path_;
  const std::weak_ptr<scheduler> sched_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  ///< eventfd: written once by the destructor
  std::thread thread_;
};

}  // namespace kyoto::detail
