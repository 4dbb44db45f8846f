// tokio's tutorial, "I/O", ported: a client for echo_server. It splits the
// connection so that one task writes while main reads, and prints what
// comes back, line by line.
//
//   echo_client [ADDR]      (default: the tutorial's 127.0.0.1:6142)
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <cstddef>
#include <iostream>
#include <string>
#include <vector>

using kyoto::net::tcp_stream;
using kyoto::net::tcp_write_half;

// The writing task; dropping the write half at its end shuts the write side
// down, so the server sees end of stream and closes.
kyoto::task<> send_lines(tcp_write_half wr) {
  co_await wr.write_all(std::string_view("hello\r\n"));
  co_await wr.write_all(std::string_view("world\r\n"));
}

KYOTO_MAIN(argc, argv) {
  const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:6142";
  tcp_stream socket = co_await tcp_stream::connect(addr);
  auto [rd, wr] = std::move(socket).split();
  auto writer = kyoto::spawn(send_lines(std::move(wr)));

  // Reads may split or merge the lines: collect until end of stream.
  std::string got;
  std::vector<std::byte> buf(128);
  for (;;) {
    const std::size_t n = co_await rd.read(buf);
    if (n == 0) break;
    got.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  co_await writer;
  for (std::size_t start = 0; start < got.size();) {
    const std::size_t end = got.find("\r\n", start);
    std::cout << "GOT " << got.substr(start, end - start) << "\n";
    if (end == std::string::npos) break;
    start = end + 2;
  }
}
