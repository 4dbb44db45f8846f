// kyoto::net::tcp_listener and tcp_stream over real loopback sockets; ports
// of tokio's tests/tcp_*.rs where they apply.
#include "flavours.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace {

using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

KYOTO_TEST(Tcp, EchoOneMessage) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = listener.local_addr();
  auto server = kyoto::spawn([&listener]() -> kyoto::task<> {
    auto [stream, peer] = co_await listener.accept();
    EXPECT_TRUE(peer.is_loopback());
    std::array<std::byte, 5> buf{};
    co_await stream.read_exact(buf);
    co_await stream.write_all(std::span<const std::byte>(buf));
  });
  tcp_stream client = co_await tcp_stream::connect(addr);
  co_await client.write_all(bytes("hello"));
  std::array<std::byte, 5> buf{};
  co_await client.read_exact(buf);
  EXPECT_EQ(text(buf), "hello");
  co_await server;
  std::array<std::byte, 1> rest{};
  const std::size_t n = co_await client.read(rest);
  EXPECT_EQ(n, 0u) << "the server closed its socket";
}

}  // namespace
