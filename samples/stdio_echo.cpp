// docs/io.md's standard streams example: reads lines from stdin with a
// codec::lines_codec over io::stdin(), writes each upper-cased to stdout
// through an io::buf_writer over io::stdout(), and at end of input reports
// the line count on stderr. Try it with
//   printf 'hello\nworld\n' | stdio_echo
// or run it on a terminal and type (Ctrl-D ends the input); a line typed
// waits on io_uring without holding a worker thread.
#include <kyoto/codec.hpp>
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>

#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace io = kyoto::io;

KYOTO_MAIN() {
  kyoto::codec::framed_read<io::stdin_reader, kyoto::codec::lines_codec> lines(
      io::stdin(), kyoto::codec::lines_codec(std::size_t{64} * 1024));
  io::buf_writer<io::stdio_writer> out(io::stdout());
  io::stdio_writer err = io::stderr();
  int count = 0;
  while (std::optional<kyoto::codec::frame_result<std::string>> item = co_await lines.next()) {
    if (!item->has_value()) {  // a line over 64 KiB, or a read error
      const std::string why = std::string("stdio_echo: ") + item->error().what() + "\n";
      co_await io::write_all(err, why);
      co_return kyoto::exit_code(1);
    }
    std::string line = std::move(item->value());
    for (char& c : line)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    line += '\n';
    co_await io::write_all(out, line);
    // Flush per line, so an interactive user sees each answer at once.
    co_await out.flush();
    ++count;
  }
  const std::string summary = std::to_string(count) + " lines\n";
  co_await io::write_all(err, summary);
}
