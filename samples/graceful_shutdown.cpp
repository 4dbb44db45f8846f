// tokio's tutorial, "Graceful Shutdown", ported: a TCP server that, on
// Ctrl-C (SIGINT) or SIGTERM, stops accepting, tells its connections to
// finish the request they are working on and take no new one (a
// cancellation token), waits for them (a task tracker) up to a deadline,
// and exits 0.
//
//   graceful_shutdown [ADDR] [--work MS] [--deadline MS]
//
// The protocol: each read is a request; the server works on it for --work
// milliseconds (default 200), then sends it back upper-cased. ADDR defaults
// to 127.0.0.1:6142 (port 0 picks a free one; the address is printed).
// tests/samples/graceful_shutdown.sh sends SIGTERM mid-request and checks
// the reply still arrives and the exit status is 0.
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>
#include <kyoto/signal.hpp>
#include <kyoto/sync.hpp>

#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;
using kyoto::signal::unix::signal_kind;

namespace {

/// One connection: answer requests until the peer closes or shutdown
/// begins. A request being worked on is always finished: the token is
/// only checked between requests.
kyoto::task<> serve(tcp_stream socket, kyoto::sync::cancellation_token shutdown,
                    std::chrono::milliseconds work) {
  std::vector<std::byte> buf(1024);
  try {
    for (;;) {
      // Biased: once shutdown began, take no new request even if one is
      // waiting.
      auto next = co_await kyoto::select_biased(shutdown.cancelled(), socket.read(buf));
      if (next.index() == 0) co_return;  // shutting down: no new request
      const std::size_t n = std::get<1>(next);
      if (n == 0) co_return;  // the peer closed its side
      std::cout << "working on a request\n" << std::flush;
      co_await kyoto::time::sleep(work);  // the request's work
      for (std::byte& b : std::span(buf).first(n))
        b = static_cast<std::byte>(std::toupper(static_cast<unsigned char>(b)));
      co_await socket.write_all(std::span<const std::byte>(buf).first(n));
    }
  } catch (const std::system_error& e) {
    std::cerr << "connection failed: " << e.what() << '\n';
  }
}

/// Completes at the first SIGINT or SIGTERM (tokio's shutdown signal).
/// The listeners are made by the caller, before it announces itself, so no
/// signal can arrive unobserved.
kyoto::task<> shutdown_signal(kyoto::signal::unix::signal_listener interrupt,
                              kyoto::signal::unix::signal_listener terminate) {
  auto which = co_await kyoto::select(interrupt.recv(), terminate.recv());
  std::cout << (which.index() == 0 ? "Ctrl-C" : "SIGTERM") << ": shutting down\n" << std::flush;
}

}  // namespace

KYOTO_MAIN(argc, argv) {
  std::string addr = "127.0.0.1:6142";
  std::chrono::milliseconds work = 200ms;
  std::chrono::milliseconds deadline = 10s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--work" && i + 1 < argc) {
      work = std::chrono::milliseconds(std::strtol(argv[++i], nullptr, 10));
    } else if (arg == "--deadline" && i + 1 < argc) {
      deadline = std::chrono::milliseconds(std::strtol(argv[++i], nullptr, 10));
    } else {
      addr = arg;
    }
  }

  auto interrupt = kyoto::signal::unix::signal(signal_kind::interrupt());
  auto terminate = kyoto::signal::unix::signal(signal_kind::terminate());
  kyoto::sync::cancellation_token shutdown;
  kyoto::task_tracker tracker;

  tcp_listener listener = co_await tcp_listener::bind(addr);
  std::cout << "listening on " << listener.local_addr() << '\n' << std::flush;

  // The signal cancels the token; the accept loop and every connection see it.
  kyoto::spawn(
      [](kyoto::signal::unix::signal_listener i, kyoto::signal::unix::signal_listener t,
         kyoto::sync::cancellation_token token) -> kyoto::task<> {
        co_await shutdown_signal(std::move(i), std::move(t));
        token.cancel();
      },
      std::move(interrupt), std::move(terminate), shutdown);

  std::size_t accepted = 0;
  for (;;) {
    auto next = co_await kyoto::select_biased(shutdown.cancelled(), listener.accept());
    if (next.index() == 0) break;
    auto [socket, peer] = std::move(std::get<1>(next));
    ++accepted;
    tracker.spawn(serve(std::move(socket), shutdown, work));
  }
  std::cout << "stopped accepting\n" << std::flush;

  // No new connections; wait for the open ones, but not forever.
  tracker.close();
  auto drained = co_await kyoto::time::timeout(deadline, tracker.wait());
  if (!drained.has_value()) {
    std::cout << tracker.len() << " connection(s) still open at the deadline\n";
    co_return kyoto::exit_code(1);
  }
  std::cout << "all " << accepted << " connection(s) finished\n";
}
