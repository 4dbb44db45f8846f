// tokio's tutorial, "Framing", "The Buf trait": read_frame() written with
// a plain byte vector and a cursor, the bookkeeping that kyoto::bytes_mut
// and io::read_buf do for samples/framing.cpp (docs/tutorial/framing.md).
// A frame here is simply a line ending in "\r\n".
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>

#include <cstddef>
#include <iostream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace io = kyoto::io;

using frame = std::string;

class connection {
 public:
  explicit connection(io::duplex_stream stream)
      : stream_(std::move(stream)),
        // Allocate the buffer with 4kb of capacity.
        buffer_(4096),
        cursor_(0) {}

  kyoto::task<std::optional<frame>> read_frame() {
    for (;;) {
      if (std::optional<frame> parsed = parse_frame()) co_return parsed;

      // Ensure the buffer has capacity
      if (buffer_.size() == cursor_) {
        // Grow the buffer
        buffer_.resize(cursor_ * 2);
      }

      // Read into the buffer, tracking the number of bytes read
      const std::size_t n = co_await stream_.read(std::span(buffer_).subspan(cursor_));

      if (n == 0) {
        if (cursor_ == 0) co_return std::nullopt;
        throw std::runtime_error("connection reset by peer");
      }
      // Update our cursor
      cursor_ += n;
    }
  }

 private:
  // The frame at the front of buffer_[0, cursor_), if all of it is there.
  std::optional<frame> parse_frame() {
    const std::string_view buffered(reinterpret_cast<const char*>(buffer_.data()), cursor_);
    const std::size_t end = buffered.find("\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    frame line(buffered.substr(0, end));
    // Discard the frame: move the rest to the front (what bytes_mut's
    // advance() does without a copy).
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(end + 2));
    buffer_.resize(buffer_.size() + end + 2);
    cursor_ -= end + 2;
    return line;
  }

  io::duplex_stream stream_;
  std::vector<std::byte> buffer_;
  std::size_t cursor_;
};

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread()) {
  // A 5-byte pipe: each frame arrives in several reads.
  auto [peer, ours] = io::duplex(5);
  auto writer = kyoto::spawn(
      [](io::duplex_stream out) -> kyoto::task<> {
        co_await io::write_all(out, std::string_view("+OK\r\n:42\r\n-ERR not yet\r\n"));
        co_await out.shutdown();
      },
      std::move(peer));
  connection conn(std::move(ours));
  while (std::optional<frame> f = co_await conn.read_frame())
    std::cout << "frame: " << *f << '\n';
  co_await writer;
}
