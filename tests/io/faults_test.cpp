// Faults the reactor must survive, made real or injected through its
// fault-injection seam (kyoto::detail::set_fault_injector, which rewrites
// completion results as the reactor reaps them).
#include "bytes.hpp"
#include "errors.hpp"
#include "flavours.hpp"
#include "net_support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>

#include <kyoto/io/detail/io_op.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using kyoto::task;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;
using namespace kyoto::test;
namespace opcode = kyoto::detail::opcode;

/// Installs an injector for one test and removes it after.
class injector_scope {
 public:
  explicit injector_scope(kyoto::detail::fault_injector f) noexcept {
    kyoto::detail::set_fault_injector(f);
  }
  ~injector_scope() { kyoto::detail::set_fault_injector(nullptr); }
  injector_scope(const injector_scope&) = delete;
  injector_scope& operator=(const injector_scope&) = delete;
};

// ---- a reset peer ----

std::atomic<int> resets_to_inject{0};

int inject_reset(std::uint8_t op, int result) noexcept {
  if (op == opcode::recv && resets_to_inject.load() > 0) {
    resets_to_inject.fetch_sub(1);
    return -ECONNRESET;
  }
  return result;
}

KYOTO_TEST(IoFaults, AnInjectedResetFailsTheReadThatSawItNamingTheOperation) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  auto [a, b] = co_await connected_pair(listener);
  auto [c, d] = co_await connected_pair(listener);
  injector_scope scope(&inject_reset);
  resets_to_inject = 1;
  co_await a.write_all(std::string_view("x"));
  std::array<std::byte, 1> buf{};
  if (const auto e = co_await kyoto::test::expect_throws_async<std::system_error>(
          [&] { return b.read(buf); }, "kyoto::net::tcp_stream::read")) {
    EXPECT_EQ(e->code().value(), ECONNRESET);
  }
  // The other connection is untouched.
  co_await c.write_all(std::string_view("y"));
  const std::size_t n = co_await d.read(buf);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(buf[0], std::byte{'y'});
}

KYOTO_TEST(IoFaults, ARealResetSurfacesOnThatStreamOnly) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  auto [a, b] = co_await connected_pair(listener);
  auto [c, d] = co_await connected_pair(listener);
  {
    // Linger 0: closing sends a RST instead of a FIN.
    const linger l{1, 0};
    EXPECT_EQ(::setsockopt(a.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    tcp_stream gone = std::move(a);
  }
  std::array<std::byte, 16> buf{};
  if (const auto e = co_await kyoto::test::expect_throws_async<std::system_error>(
          [&] { return b.read(buf); })) {
    EXPECT_EQ(e->code().value(), ECONNRESET);
  }
  co_await c.write_all(std::string_view("still here"));
  std::array<std::byte, 10> got{};
  co_await d.read_exact(got);
  EXPECT_EQ(text(got), "still here");
}

// ---- out of descriptors on accept ----

std::atomic<int> emfiles_to_inject{0};

int inject_emfile(std::uint8_t op, int result) noexcept {
  if (op == opcode::accept && result >= 0 && emfiles_to_inject.load() > 0) {
    emfiles_to_inject.fetch_sub(1);
    ::close(result);  // the connection the kernel accepted is dropped
    return -EMFILE;
  }
  return result;
}

KYOTO_TEST(IoFaults, EmfileOnAcceptBacksOffAndKeepsServing) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  // Four connections wait in the backlog; the first three accepts fail.
  std::vector<tcp_stream> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(co_await tcp_stream::connect(listener.local_addr()));
  injector_scope scope(&inject_emfile);
  emfiles_to_inject = 3;
  const auto start = std::chrono::steady_clock::now();
  auto [server, peer] = co_await listener.accept();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(emfiles_to_inject.load(), 0);
  // Backed off 1 + 2 + 4 ms between the attempts.
  EXPECT_GE(waited, std::chrono::milliseconds(7));
  EXPECT_TRUE(peer.is_loopback());
  // The listener keeps serving: a new connection is accepted normally.
  tcp_stream late = co_await tcp_stream::connect(listener.local_addr());
  auto [server2, peer2] = co_await listener.accept();
  co_await late.write_all(std::string_view("ok"));
  std::array<std::byte, 2> buf{};
  co_await server2.read_exact(buf);
  EXPECT_EQ(buf[0], std::byte{'o'});
}

// ---- short reads and writes ----

KYOTO_TEST(IoFaults, ShortWritesAndReadsAreCompletedByWriteAllAndReadExact) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  auto [a, b] = co_await connected_pair(listener);
  // A small send buffer: the 1 MiB write_all goes out in many pieces, and
  // the reader's read_exact gets it in many pieces too. (TCP itself is slow
  // here — blocking threads take as long — so the transfer stays small;
  // and not a small receive buffer as well: a window below the loopback
  // MSS makes TCP crawl on window probes.)
  const int small = 4096;
  EXPECT_EQ(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  constexpr std::size_t total = 1u << 20;
  std::vector<std::byte> out(total);
  for (std::size_t i = 0; i < total; ++i)
    out[i] = static_cast<std::byte>(i * 7 % 253);
  auto writer =
      kyoto::spawn([](tcp_stream& s,
                      const std::vector<std::byte>& data) -> task<> { co_await s.write_all(data); },
                   std::ref(a), std::cref(out));
  std::vector<std::byte> in(total);
  co_await b.read_exact(in);
  co_await writer;
  EXPECT_TRUE(in == out);
}

// ---- more requests than the rings hold ----

/// Starts `reads` one-byte reads of a socket pair's reader in one task
/// (join_all queues all their SQEs in one tick), then feeds them: every
/// read must complete with its byte.
task<> many_reads_at_once(int reads) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  tcp_stream reader{kyoto::detail::socket_fd(fds[0])};
  tcp_stream writer{kyoto::detail::socket_fd(fds[1])};
  std::vector<task<std::size_t>> ops;
  for (int i = 0; i < reads; ++i) {
    ops.push_back([](tcp_stream& s) -> task<std::size_t> {
      std::array<std::byte, 1> one{};
      co_return co_await s.read(one);
    }(reader));
  }
  auto feeder = kyoto::spawn(
      [](tcp_stream& w, int n) -> task<> {
        const std::vector<std::byte> bytes(static_cast<std::size_t>(n), std::byte{1});
        co_await w.write_all(bytes);
      },
      std::ref(writer), reads);
  const std::vector<std::size_t> got = co_await kyoto::join_all(std::move(ops));
  co_await feeder;
  std::size_t sum = 0;
  for (std::size_t n : got)
    sum += n;
  EXPECT_EQ(sum, static_cast<std::size_t>(reads));
}

// One task starts 600 reads at once: more than the 256-entry submission
// queue, which must be flushed and retried, never dropped.
// A request started on a thread that runs no kyoto runtime has no ring to
// go to: a clear error naming the request, never a crash.
TEST(IoMisuse, ARequestStartedOutsideARuntimeTaskThrowsLogicErrorNamingIt) {
  kyoto::detail::op_args args;
  args.opcode = opcode::recv;
  kyoto::detail::op_awaiter awaiter(args);
  if (const auto e = kyoto::test::expect_throws<std::logic_error>(
          [&] { awaiter.await_suspend(std::noop_coroutine()); }, "I/O request (recv)")) {
    EXPECT_NE(std::string(e->what()).find("inside a task"), std::string::npos) << e->what();
  }
}

TEST(IoFaultsRing, AFullSubmissionQueueIsFlushedNotDropped) {
  for (auto f : {kyoto::test::flavour::current_thread, kyoto::test::flavour::one_worker}) {
    kyoto::runtime rt = kyoto::test::make_runtime(f);
    rt.block_on(many_reads_at_once(600));
  }
}

// 5,000 reads complete at once: more completions than the 4,096-entry
// completion queue holds, so the kernel buffers the rest (CQ overflow) and
// the reactor must still deliver every one.
TEST(IoFaultsRing, CompletionQueueOverflowLosesNoCompletion) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();
  rt.block_on(many_reads_at_once(5'000));
}

}  // namespace
