// tokio's tutorial, "Framing" (https://tokio.rs/tokio/tutorial/framing),
// ported: mini-redis's `Connection`, which turns a byte stream into Redis
// protocol frames and back, with kyoto::bytes_mut as its read buffer
// (docs/bytes.md) and an io::buf_writer for its writes.
//
//   1. check, then parse: a frame is parsed only once all of it is in the
//      buffer; an incomplete frame waits for more bytes, an invalid one is
//      an error;
//   2. read_frame(): parse what is buffered, else read more into the
//      buffer; write_frame(): encode into the buffered writer, then flush;
//   3. errors: an invalid frame, and the peer leaving mid-frame.
//
// The client and the server talk over io::duplex pairs on a current_thread
// runtime, one request at a time, so the output is the same on every run.
#include <kyoto/bytes.hpp>
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace io = kyoto::io;

// ---------------------------------------------------------------- frames

/// A Redis protocol frame (mini-redis's `enum Frame`).
struct frame {
  struct simple {
    std::string text;  ///< "+OK\r\n"
  };
  struct error {
    std::string text;  ///< "-ERR unknown command\r\n"
  };
  struct null {};  ///< "$-1\r\n"
  std::variant<simple, error, std::uint64_t, kyoto::bytes, null, std::vector<frame>> value;
};

/// A request: an array of bulk strings, e.g. {"GET", "hello"}.
frame command(std::initializer_list<std::string_view> words) {
  std::vector<frame> parts;
  for (const std::string_view w : words)
    parts.push_back(frame{kyoto::bytes::copy_from_slice(w)});
  return frame{std::move(parts)};
}

/// Prints a frame as Rust's `{:?}` does.
std::ostream& operator<<(std::ostream& os, const frame& f) {
  std::visit(
      [&os](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, frame::simple>) {
          os << "Simple(\"" << v.text << "\")";
        } else if constexpr (std::is_same_v<V, frame::error>) {
          os << "Error(\"" << v.text << "\")";
        } else if constexpr (std::is_same_v<V, std::uint64_t>) {
          os << "Integer(" << v << ')';
        } else if constexpr (std::is_same_v<V, kyoto::bytes>) {
          os << "Bulk(" << v << ')';  // b"..."
        } else if constexpr (std::is_same_v<V, frame::null>) {
          os << "Null";
        } else {
          os << "Array([";
          for (std::size_t i = 0; i < v.size(); ++i)
            os << (i == 0 ? "" : ", ") << v[i];
          os << "])";
        }
      },
      f.value);
  return os;
}

// ---------------------------------------------------------------- check, then parse

/// Not all of the frame is buffered yet (mini-redis's Error::Incomplete):
/// read more and try again. The helpers below throw it where Rust's `?`
/// returns early.
struct incomplete {};

/// The bytes can never become a frame (mini-redis's Error::Other).
struct frame_error {
  std::string message;
  [[nodiscard]] const char* what() const noexcept { return message.c_str(); }
};

template <kyoto::buf B>
std::uint8_t get_u8(B& src) {
  if (!src.has_remaining()) throw incomplete{};
  return src.get_u8();
}

/// The bytes up to the next "\r\n" (consumed, "\r\n" included).
template <kyoto::buf B>
std::string_view get_line(B& src) {
  const std::span<const std::byte> rest = src.chunk();
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  const std::size_t end = text.find("\r\n");
  if (end == std::string_view::npos) throw incomplete{};
  src.advance(end + 2);
  return text.substr(0, end);
}

template <kyoto::buf B>
std::uint64_t get_decimal(B& src) {
  const std::string_view line = get_line(src);
  if (line.empty() ||
      !std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw frame_error{"protocol error; invalid frame format"};
  return std::stoull(std::string(line));
}

template <kyoto::buf B>
void skip(B& src, std::size_t n) {
  if (src.remaining() < n) throw incomplete{};
  src.advance(n);
}

/// Checks that a whole frame is at the front of `src`, moving past it
/// (mini-redis's Frame::check): cheap, nothing is allocated.
template <kyoto::buf B>
void check(B& src) {
  switch (const std::uint8_t type = get_u8(src)) {
    case '+':
    case '-':
      (void)get_line(src);
      return;
    case ':':
      (void)get_decimal(src);
      return;
    case '$':
      if (src.has_remaining() && src.chunk()[0] == std::byte{'-'}) {
        skip(src, 4);  // "-1\r\n"
      } else {
        skip(src, get_decimal(src) + 2);  // the data, then "\r\n"
      }
      return;
    case '*':
      for (std::uint64_t n = get_decimal(src); n > 0; --n)
        check(src);
      return;
    default:
      throw frame_error{"protocol error; invalid frame type byte `" + std::to_string(type) + "`"};
  }
}

/// Parses the frame that check() found (mini-redis's Frame::parse). `src`
/// is a kyoto::bytes, so a bulk string is a window onto it: no copy.
frame parse(kyoto::bytes& src) {
  switch (get_u8(src)) {
    case '+':
      return frame{frame::simple{std::string(get_line(src))}};
    case '-':
      return frame{frame::error{std::string(get_line(src))}};
    case ':':
      return frame{get_decimal(src)};
    case '$': {
      if (src.chunk()[0] == std::byte{'-'}) {
        skip(src, 4);
        return frame{frame::null{}};
      }
      const std::uint64_t len = get_decimal(src);
      kyoto::bytes data = src.copy_to_bytes(len);  // shares src's buffer
      skip(src, 2);
      return frame{std::move(data)};
    }
    default: {  // '*': check() let nothing else through
      std::vector<frame> parts;
      for (std::uint64_t n = get_decimal(src); n > 0; --n)
        parts.push_back(parse(src));
      return frame{std::move(parts)};
    }
  }
}

/// A frame from the front of `buffer`, if all of it is there (mini-redis's
/// Connection::parse_frame): check it with a cursor over the buffered
/// bytes, then cut it off the buffer and parse it. nullopt: incomplete,
/// nothing consumed.
kyoto::result<std::optional<frame>, frame_error> parse_frame(kyoto::bytes_mut& buffer) {
  kyoto::byte_cursor cursor(std::span<const std::byte>(buffer.data(), buffer.size()));
  try {
    check(cursor);
  } catch (const incomplete&) {
    return std::optional<frame>();
  } catch (frame_error& e) {
    return kyoto::unexpected(std::move(e));
  }
  const std::size_t len = buffer.size() - cursor.remaining();  // Rust's buf.position()
  kyoto::bytes raw = buffer.split_to(len).freeze();            // the frame's bytes, no copy
  return std::optional<frame>(parse(raw));
}

// ---------------------------------------------------------------- the connection

/// mini-redis's Connection: frames over a byte stream `S` (a tcp_stream
/// there, an io::duplex_stream here).
template <class S>
class connection {
 public:
  explicit connection(S stream)
      : stream_(std::move(stream)), buffer_(kyoto::bytes_mut::with_capacity(4096)) {}

  /// The next frame; nullopt when the peer closed cleanly between frames.
  /// An error: an invalid frame, or the peer closed in the middle of one.
  kyoto::task<kyoto::result<std::optional<frame>, frame_error>> read_frame() {
    for (;;) {
      // Enough buffered for a frame? Then it is the answer.
      auto parsed = parse_frame(buffer_);
      if (!parsed.has_value() || parsed->has_value()) co_return parsed;
      // Not enough: read more at the end of the buffer.
      if (co_await io::read_buf(stream_, buffer_) == 0) {
        if (buffer_.empty()) co_return std::optional<frame>();
        frame_error reset{"connection reset by peer"};
        co_return kyoto::unexpected(std::move(reset));
      }
    }
  }

  /// Encodes `f` into the write buffer, then sends it (one write, not one
  /// per piece). Pass a named frame, not a temporary: GCC 12 copies an
  /// aggregate temporary inside a co_await bitwise (docs/architecture.md).
  kyoto::task<> write_frame(const frame& f) {
    co_await write_value(f);
    co_await stream_.flush();
  }

  /// Writes raw bytes, whatever they are (for the error cases below).
  kyoto::task<> write_raw(std::string_view bytes) {
    co_await stream_.write_all(bytes);
    co_await stream_.flush();
  }

  /// Ends our side of the stream: the peer's read_frame() gives nullopt.
  kyoto::task<> shutdown() { co_await stream_.shutdown(); }

 private:
  kyoto::task<> write_line(char type, std::string text) {
    co_await io::write_u8(stream_, static_cast<std::uint8_t>(type));
    text += "\r\n";
    co_await stream_.write_all(std::string_view(text));
  }

  kyoto::task<> write_value(const frame& f) {
    if (const auto* s = std::get_if<frame::simple>(&f.value)) {
      co_await write_line('+', s->text);
    } else if (const auto* e = std::get_if<frame::error>(&f.value)) {
      co_await write_line('-', e->text);
    } else if (const auto* n = std::get_if<std::uint64_t>(&f.value)) {
      co_await write_line(':', std::to_string(*n));
    } else if (const auto* b = std::get_if<kyoto::bytes>(&f.value)) {
      co_await write_line('$', std::to_string(b->size()));
      co_await stream_.write_all(b->as_span());
      co_await stream_.write_all(std::string_view("\r\n"));
    } else if (std::holds_alternative<frame::null>(f.value)) {
      co_await stream_.write_all(std::string_view("$-1\r\n"));
    } else {
      const auto& parts = std::get<std::vector<frame>>(f.value);
      co_await write_line('*', std::to_string(parts.size()));
      for (const frame& part : parts)
        co_await write_value(part);
    }
  }

  io::buf_writer<S> stream_;  ///< writes are buffered; reads pass through
  kyoto::bytes_mut buffer_;   ///< bytes read and not yet parsed
};

// ---------------------------------------------------------------- a tiny server

/// The reply to one request: SET key value, GET key; anything else is an
/// error frame.
frame answer(std::map<std::string, kyoto::bytes>& db, const frame& request) {
  const auto* parts = std::get_if<std::vector<frame>>(&request.value);
  std::vector<std::string_view> words;
  if (parts != nullptr) {
    for (const frame& p : *parts) {
      const auto* b = std::get_if<kyoto::bytes>(&p.value);
      if (b == nullptr) return frame{frame::error{"ERR protocol error; expected bulk strings"}};
      words.push_back(b->as_string_view());
    }
  }
  if (words.size() == 3 && words[0] == "SET") {
    db.insert_or_assign(std::string(words[1]), std::get<kyoto::bytes>((*parts)[2].value));
    return frame{frame::simple{"OK"}};
  }
  if (words.size() == 2 && words[0] == "GET") {
    const auto it = db.find(std::string(words[1]));
    return it == db.end() ? frame{frame::null{}} : frame{it->second};
  }
  return frame{frame::error{"ERR unknown command"}};
}

/// Serves one connection: a frame in, a frame out, until the client leaves
/// or sends something that is not a frame.
kyoto::task<> serve(io::duplex_stream stream) {
  connection<io::duplex_stream> conn(std::move(stream));
  std::map<std::string, kyoto::bytes> db;
  for (;;) {
    auto request = co_await conn.read_frame();
    if (!request.has_value()) {
      std::cout << "server: error: " << request.error().what() << '\n';
      co_return;
    }
    const std::optional<frame>& got = *request;
    if (!got.has_value()) {
      std::cout << "server: the client closed the connection\n";
      co_return;
    }
    std::cout << "server: got " << *got << '\n';
    const frame reply = answer(db, *got);  // named: see write_frame's comment
    co_await conn.write_frame(reply);
  }
}

// ---------------------------------------------------------------- main

/// Part 1: a request arriving 7 bytes at a time. Each parse_frame() either
/// finds the frame incomplete (nothing consumed) or takes all of it.
void check_then_parse() {
  std::cout << "-- check, then parse\n";
  const std::string_view wire = "*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n+OK\r\n";
  kyoto::bytes_mut buffer;
  for (std::size_t at = 0; at < wire.size(); at += 7) {
    buffer.extend_from_slice(wire.substr(at, 7));
    for (;;) {
      const std::optional<frame> parsed = parse_frame(buffer).value();
      if (!parsed.has_value()) {
        if (!buffer.empty()) std::cout << buffer.size() << " bytes buffered: incomplete\n";
        break;
      }
      std::cout << "frame: " << *parsed << ", " << buffer.size() << " bytes left\n";
    }
  }
  kyoto::bytes_mut bad;
  bad.extend_from_slice(std::string_view("?oops\r\n"));
  std::cout << "invalid: " << parse_frame(bad).error().what() << '\n';
}

KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread()) {
  check_then_parse();

  std::cout << "-- a connection over io::duplex(16)\n";
  {
    // A 16-byte pipe: most frames arrive in several reads.
    auto [client_end, server_end] = io::duplex(16);
    auto server = kyoto::spawn(serve, std::move(server_end));
    connection<io::duplex_stream> client(std::move(client_end));
    for (const frame& request : {command({"SET", "hello", "world"}), command({"GET", "hello"}),
                                 command({"GET", "nope"}), command({"PING"})}) {
      co_await client.write_frame(request);
      auto reply = co_await client.read_frame();
      const std::optional<frame>& got = reply.value();
      if (!got.has_value()) break;  // the server left (it does not, here)
      std::cout << "client: reply " << *got << '\n';
    }
    co_await client.shutdown();
    co_await server;
  }

  std::cout << "-- an invalid frame\n";
  {
    auto [client_end, server_end] = io::duplex(16);
    auto server = kyoto::spawn(serve, std::move(server_end));
    connection<io::duplex_stream> client(std::move(client_end));
    co_await client.write_raw("?oops\r\n");
    co_await server;
  }

  std::cout << "-- the client leaves mid-frame\n";
  {
    auto [client_end, server_end] = io::duplex(16);
    auto server = kyoto::spawn(serve, std::move(server_end));
    connection<io::duplex_stream> client(std::move(client_end));
    co_await client.write_raw("$5\r\nhel");
    co_await client.shutdown();
    co_await server;
  }
}
