// docs/codec.md: a line echo server through tokio-util's codecs, ported.
// The server reads lines through codec::framed + codec::lines_codec (with
// a maximum line length) and answers each with one line; the client
// splits its own framed connection into a writer task, which feeds every
// line and flushes once, and a reader, which prints the answers. Both ends
// are an io::duplex pair, and only the reader prints, so the output is the
// same on every run.
#include <kyoto/codec.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/kyoto.hpp>

#include <array>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace codec = kyoto::codec;
namespace io = kyoto::io;

/// Answers each line with "echo: <line>" until the client closes its side.
/// A line longer than 16 bytes is an error item, and, as in tokio, the
/// next next() then gives nullopt once: a protocol that can resync reads
/// on. Here it can: the codec skips the rest of the long line and decodes
/// the next one normally, so the server reports the error and goes on.
kyoto::task<> echo(io::duplex_stream stream) {
  codec::framed conn(std::move(stream), codec::lines_codec(16));
  bool errored = false;
  for (;;) {
    std::optional<codec::frame_result<std::string>> line = co_await conn.next();
    if (!line && errored) {  // the end that follows an error: read on
      errored = false;
      continue;
    }
    if (!line) break;  // the client closed its side
    errored = !line->has_value();
    std::string answer = line->has_value() ? "echo: " + line->value()
                                           : "error: " + std::string(line->error().what());
    co_await conn.send(std::move(answer));
  }
  co_await conn.close();
}

/// The client's writer half: every line is fed (encoded into the write
/// buffer, sent when the buffer passes its high-water mark), then one
/// close() flushes them and ends the client's side.
kyoto::task<> send_lines(
    codec::framed_write<io::write_half<io::duplex_stream>, codec::lines_codec> w) {
  static constexpr std::array<std::string_view, 4> lines{
      "hello",
      "kyoto",
      "a line far longer than sixteen bytes",
      "and on it goes",
  };
  for (const std::string_view line : lines)
    co_await w.feed(line);
  co_await w.close();
}

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread()) {
  auto [client_end, server_end] = io::duplex(64);
  auto server = kyoto::spawn(echo, std::move(server_end));

  auto [rd, wr] = codec::framed(std::move(client_end), codec::lines_codec()).split();
  auto writer = kyoto::spawn(send_lines, std::move(wr));
  for (;;) {
    std::optional<codec::frame_result<std::string>> answer = co_await rd.next();
    if (!answer) break;  // the server closed its side
    std::cout << answer->value() << '\n';
  }
  co_await writer;
  co_await server;
  std::cout << "the server closed the connection\n";
}
