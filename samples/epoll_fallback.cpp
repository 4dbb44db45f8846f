// docs/io.md, "Where io_uring is refused": the same program on the epoll
// readiness backend, asked for with runtime::builder::io_backend (kyoto
// also falls back to it by itself where a sandbox refuses io_uring, or with
// KYOTO_IO_BACKEND=epoll). A TCP echo over loopback, a file written and
// read back, and a timer, on both runtime flavours.
#include <kyoto/kyoto.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

namespace {

using namespace std::chrono_literals;
using kyoto::net::socket_addr;
using kyoto::net::tcp_listener;
using kyoto::net::tcp_stream;

kyoto::task<std::string> echo_once(std::string_view message) {
  tcp_listener listener = co_await tcp_listener::bind(socket_addr::localhost_v4());
  const socket_addr addr = listener.local_addr();
  auto server = kyoto::spawn([](tcp_listener l) -> kyoto::task<> {
    auto [conn, peer] = co_await l.accept();
    std::array<std::byte, 64> buf{};
    const std::size_t n = co_await conn.read(buf);
    co_await conn.write_all(std::span<const std::byte>(buf.data(), n));
  }(std::move(listener)));
  tcp_stream client = co_await tcp_stream::connect(addr);
  co_await client.write_all(message);
  std::string back(message.size(), '\0');
  co_await client.read_exact(std::as_writable_bytes(std::span(back)));
  co_await std::move(server);
  co_return back;
}

kyoto::task<> tour(std::string flavour) {
  std::cout << flavour << ": echo came back \"" << co_await echo_once("hello, epoll") << "\"\n";
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("kyoto-epoll-fallback-" + flavour);
  co_await kyoto::fs::write(file, std::string_view("on the file pool"));
  std::cout << flavour << ": the file reads \"" << co_await kyoto::fs::read_to_string(file)
            << "\"\n";
  co_await kyoto::fs::remove_file(file);
  const auto before = std::chrono::steady_clock::now();
  co_await kyoto::time::sleep(10ms);
  std::cout << flavour << ": slept at least 10 ms: " << std::boolalpha
            << (std::chrono::steady_clock::now() - before >= 10ms) << '\n';
}

}  // namespace

int main() {
  using kyoto::runtime;
  runtime ct = runtime::builder::current_thread().io_backend(kyoto::io_backend::epoll).build();
  ct.block_on(tour("current_thread"));
  runtime mt = runtime::builder::multi_thread()
                   .worker_threads(2)
                   .io_backend(kyoto::io_backend::epoll)
                   .build();
  mt.block_on(tour("multi_thread"));
}
