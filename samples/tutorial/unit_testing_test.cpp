// tokio's topic "Unit Testing", "Mocking using AsyncRead and AsyncWrite": a
// connection handler generic over its reader and writer, tested against
// kyoto::test::io_builder's scripted mocks instead of a socket
// (docs/tutorial/unit-testing.md). Built as a GoogleTest program by
// tests/samples/tutorial/meson.build.
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/test/io_builder.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace io = kyoto::io;

template <io::async_read Reader, io::async_write Writer>
kyoto::task<> handle_connection(Reader reader, Writer writer) {
  std::string line;
  io::buf_reader<Reader> buffered(std::move(reader));
  for (;;) {
    const std::size_t bytes_read = co_await buffered.read_line(line);
    if (bytes_read == 0) co_return;

    co_await io::write_all(writer, std::string_view("Thanks for your message.\r\n"));
    line.clear();
  }
}

// The server that uses it: each connection's task hands the socket's two
// halves to handle_connection.
kyoto::task<> serve_connection(kyoto::net::tcp_stream socket) {
  auto [reader, writer] = std::move(socket).split();
  co_await handle_connection(std::move(reader), std::move(writer));
}

kyoto::task<> serve(kyoto::net::tcp_listener listener) {
  for (;;) {
    auto [socket, _] = co_await listener.accept();
    kyoto::spawn(serve_connection(std::move(socket)));
  }
}

KYOTO_TEST(UnitTesting, ClientHandlerRepliesPolitely) {
  auto reader =
      kyoto::test::io_builder().read("Hi there\r\n").read("How are you doing?\r\n").build();
  auto writer = kyoto::test::io_builder()
                    .write("Thanks for your message.\r\n")
                    .write("Thanks for your message.\r\n")
                    .build();
  co_await handle_connection(std::move(reader), std::move(writer));
}

// The mock fails the test when the handler writes something else.
KYOTO_TEST(UnitTesting, AnImpoliteReplyFailsTheTest) {
  auto reader = kyoto::test::io_builder().read("Hi there\r\n").build();
  auto writer = kyoto::test::io_builder().write("Go away.\r\n").build();
  EXPECT_THROW(co_await handle_connection(std::move(reader), std::move(writer)),
               kyoto::test::io_mock_error);
}

// And the same handler serves a real socket.
KYOTO_TEST(UnitTesting, TheHandlerServesATcpConnection) {
  kyoto::net::tcp_listener listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
  const kyoto::net::socket_addr addr = listener.local_addr();
  kyoto::join_handle<void> server = kyoto::spawn(serve(std::move(listener)));

  kyoto::net::tcp_stream client = co_await kyoto::net::tcp_stream::connect(addr);
  co_await client.write_all(std::string_view("Hi there\r\n"));
  std::string reply(26, '\0');
  co_await client.read_exact(std::as_writable_bytes(std::span(reply)));
  EXPECT_EQ(reply, "Thanks for your message.\r\n");
  server.abort();
}
