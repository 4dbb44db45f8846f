// docs/net.md's UDP example: an echo server and a client over loopback.
// The server answers each datagram to the address it came from; the client
// sends three, each after the previous one's echo, so the output is always
// the same (no ports are printed: the kernel picks them).
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <array>
#include <cstddef>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

using kyoto::net::udp_socket;

// Echoes `count` datagrams, then returns.
kyoto::task<> echo_server(udp_socket& socket, int count) {
  std::array<std::byte, 1500> buf{};
  for (int i = 0; i < count; ++i) {
    auto [n, from] = co_await socket.recv_from(buf);
    std::cout << "server: " << n << " bytes from a " << (from.is_loopback() ? "loopback" : "remote")
              << " address, echoing\n";
    co_await socket.send_to(std::span<const std::byte>(buf.data(), n), from);
  }
}

KYOTO_MAIN() {
  udp_socket server = co_await udp_socket::bind("127.0.0.1:0");
  auto serving = kyoto::spawn(echo_server, std::ref(server), 3);

  udp_socket client = co_await udp_socket::bind("127.0.0.1:0");
  co_await client.connect(server.local_addr());  // send()/recv() talk to the server only
  for (std::string_view word : {"ping", "hello, kyoto", "bye"}) {
    co_await client.send(word);
    std::array<std::byte, 1500> buf{};
    const std::size_t n = co_await client.recv(buf);
    std::cout << "client: echoed \""
              << std::string_view(reinterpret_cast<const char*>(buf.data()), n) << "\"\n";
  }
  co_await serving;
  std::cout << "done\n";
}
