// The tutorial's stand-in for the `mini-redis` crate (docs/tutorial/README.md).
//
// tokio's tutorial uses mini-redis's client, `Connection`, `Frame` and
// `Command` before it shows how they are built. This header gives the
// samples the same names, small enough to read in one sitting:
//
//   mini_redis::frame        Frame: simple, error, integer, bulk, null, array
//   mini_redis::connection   Connection: read_frame() / write_frame()
//   mini_redis::command      Command::from_frame: cmd::get, cmd::set, cmd::unknown
//   mini_redis::client       client::connect(addr), get(key), set(key, value)
//
// The difference from the crate is the wire format: one frame per line
// (kyoto::codec::lines_codec, docs/codec.md) instead of RESP, e.g.
//
//   *set hello world      an array of bulk strings (a command)
//   +OK                   simple     -ERR ...   error    :3   integer
//   $world                bulk       _          null
//
// so a bulk string holds no space and no newline. The real port, with RESP
// and every command, is samples/mini_redis/; the Framing chapter builds
// RESP frames itself (samples/framing.cpp).
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/codec.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/net.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace mini_redis {

/// mini-redis's `Result<T>`: a value, or the error's message.
template <class T>
using result = kyoto::result<T, std::string>;

/// A frame (mini-redis's `enum Frame`). Not thread-safe.
struct frame {
  struct simple {
    std::string text;
  };
  struct error {
    std::string text;
  };
  struct null {};
  std::variant<simple, error, std::uint64_t, kyoto::bytes, null, std::vector<frame>> value;
};

/// Prints a frame as Rust's `{:?}` does, e.g. `Bulk(b"world")`.
inline std::ostream& operator<<(std::ostream& os, const frame& f) {
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
          os << "Bulk(" << v << ')';
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

namespace detail {

/// One line of the wire format, decoded. Throws std::runtime_error on a
/// line that is not a frame.
inline frame parse_line(std::string_view line) {
  if (line.empty()) throw std::runtime_error("protocol error; empty frame");
  const std::string_view rest = line.substr(1);
  switch (line[0]) {
    case '+':
      return frame{frame::simple{std::string(rest)}};
    case '-':
      return frame{frame::error{std::string(rest)}};
    case ':': {
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec != std::errc() || end != rest.data() + rest.size())
        throw std::runtime_error("protocol error; invalid frame format");
      return frame{n};
    }
    case '$':
      return frame{kyoto::bytes::copy_from_slice(rest)};
    case '_':
      return frame{frame::null{}};
    case '*': {
      std::vector<frame> words;
      for (std::size_t start = 0; start <= rest.size();) {
        const std::size_t end = std::min(rest.find(' ', start), rest.size());
        words.push_back(frame{kyoto::bytes::copy_from_slice(rest.substr(start, end - start))});
        start = end + 1;
      }
      return frame{std::move(words)};
    }
    default:
      throw std::runtime_error(std::string("protocol error; invalid frame type byte `") + line[0] +
                               "`");
  }
}

/// The frame as one line (without its '\n'). Throws std::invalid_argument
/// for what the line format cannot carry.
inline std::string to_line(const frame& f) {
  const auto bulk = [](const kyoto::bytes& b) {
    const std::string_view s = b.as_string_view();
    if (s.find_first_of(" \r\n") != std::string_view::npos)
      throw std::invalid_argument(
          "mini_redis::connection::write_frame: a bulk string with a "
          "space or a newline (the stand-in's line format)");
    return std::string(s);
  };
  return std::visit(
      [&bulk](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, frame::simple>) {
          return std::string("+") + v.text;
        } else if constexpr (std::is_same_v<V, frame::error>) {
          return std::string("-") + v.text;
        } else if constexpr (std::is_same_v<V, std::uint64_t>) {
          return std::string(":") + std::to_string(v);
        } else if constexpr (std::is_same_v<V, kyoto::bytes>) {
          return std::string("$") + bulk(v);
        } else if constexpr (std::is_same_v<V, frame::null>) {
          return "_";
        } else {
          std::string line = "*";
          for (std::size_t i = 0; i < v.size(); ++i) {
            const auto* word = std::get_if<kyoto::bytes>(&v[i].value);
            if (word == nullptr)
              throw std::invalid_argument(
                  "mini_redis::connection::write_frame: an array of non-bulk frames");
            if (i != 0) line += ' ';
            line += bulk(*word);
          }
          return line;
        }
      },
      f.value);
}

}  // namespace detail

/// Reads and writes frames on a socket (mini-redis's `Connection`). One
/// task at a time uses it; not thread-safe.
class connection {
 public:
  /// A connection over `socket`; a frame is at most 64 KiB.
  explicit connection(kyoto::net::tcp_stream socket)
      : framed_(std::move(socket), kyoto::codec::lines_codec(64 * 1024)) {}

  /// The next frame, or std::nullopt when the peer closed the connection.
  /// Throws std::runtime_error on a frame that cannot be parsed, or when the
  /// peer left in the middle of one. Cancel safe.
  kyoto::task<std::optional<frame>> read_frame() {
    std::optional<kyoto::codec::frame_result<std::string>> line = co_await framed_.next();
    if (!line) co_return std::nullopt;
    if (!line->has_value())
      throw std::runtime_error(std::string("mini_redis::connection::read_frame: ") +
                               std::string(line->error().what()));
    co_return detail::parse_line(line->value());
  }

  /// Writes `f` and flushes. Not cancel safe.
  kyoto::task<> write_frame(const frame& f) { co_await framed_.send(detail::to_line(f)); }

 private:
  kyoto::codec::framed<kyoto::net::tcp_stream, kyoto::codec::lines_codec> framed_;
};

namespace cmd {

/// GET key.
class get {
 public:
  explicit get(std::string key) : key_(std::move(key)) {}
  [[nodiscard]] const std::string& key() const { return key_; }

 private:
  std::string key_;
};

/// SET key value.
class set {
 public:
  set(std::string key, kyoto::bytes value) : key_(std::move(key)), value_(std::move(value)) {}
  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const kyoto::bytes& value() const { return value_; }

 private:
  std::string key_;
  kyoto::bytes value_;
};

/// Any other command: the server answers with an error.
class unknown {
 public:
  explicit unknown(std::string name) : name_(std::move(name)) {}
  [[nodiscard]] const std::string& get_name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace cmd

/// A command (mini-redis's `enum Command`).
using command = std::variant<cmd::get, cmd::set, cmd::unknown>;

/// Command::from_frame: the command an array frame holds. Throws
/// std::runtime_error for a frame that is not a command.
inline command command_from_frame(frame f) {
  auto* words = std::get_if<std::vector<frame>>(&f.value);
  const auto word = [&words](std::size_t i) -> std::string {
    if (i >= words->size()) throw std::runtime_error("protocol error; unexpected end of stream");
    const auto* b = std::get_if<kyoto::bytes>(&(*words)[i].value);
    if (b == nullptr) throw std::runtime_error("protocol error; expected bulk frame");
    return std::string(b->as_string_view());
  };
  if (words == nullptr || words->empty())
    throw std::runtime_error("protocol error; expected array frame");
  std::string name = word(0);
  for (char& c : name)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (name == "get") return cmd::get(word(1));
  if (name == "set") return cmd::set(word(1), kyoto::bytes::copy_from_slice(word(2)));
  return cmd::unknown(std::move(name));
}

namespace client {

/// A connection to a server (mini-redis's `client::Client`). One task at a
/// time uses it; not thread-safe. Each call is one request and its reply.
class client {
 public:
  explicit client(connection c) : connection_(std::move(c)) {}

  /// GET: the value, or std::nullopt when the key is absent. Throws
  /// std::runtime_error on an error reply or a lost connection.
  kyoto::task<std::optional<kyoto::bytes>> get(std::string key) {
    // A named frame: GCC 12 cannot keep an initializer_list across a
    // co_await.
    const frame req = request("get", key);
    co_await connection_.write_frame(req);
    frame reply = co_await read_response();
    if (auto* b = std::get_if<kyoto::bytes>(&reply.value)) co_return std::move(*b);
    if (std::holds_alternative<frame::null>(reply.value)) co_return std::nullopt;
    throw unexpected(reply);
  }

  /// SET key value. Throws std::runtime_error on an error reply or a lost
  /// connection.
  kyoto::task<> set(std::string key, kyoto::bytes value) {
    const frame req = request("set", key, value.as_string_view());
    co_await connection_.write_frame(req);
    frame reply = co_await read_response();
    const auto* ok = std::get_if<frame::simple>(&reply.value);
    if (ok == nullptr || ok->text != "OK") throw unexpected(reply);
  }

 private:
  template <class... Words>
  static frame request(const Words&... words) {
    std::vector<frame> parts;
    (parts.push_back(frame{kyoto::bytes::copy_from_slice(std::string_view(words))}), ...);
    return frame{std::move(parts)};
  }

  kyoto::task<frame> read_response() {
    std::optional<frame> reply = co_await connection_.read_frame();
    if (!reply) throw std::runtime_error("connection reset by server");
    if (auto* e = std::get_if<frame::error>(&reply->value)) throw std::runtime_error(e->text);
    co_return std::move(*reply);
  }

  static std::runtime_error unexpected(const frame& f) {
    std::ostringstream text;
    text << "unexpected frame: " << f;
    return std::runtime_error(text.str());
  }

  connection connection_;
};

/// client::connect: a client connected to the server at `addr`
/// ("host:port"). Throws std::system_error when it cannot connect.
inline kyoto::task<client> connect(std::string addr) {
  kyoto::net::tcp_stream socket = co_await kyoto::net::tcp_stream::connect(addr);
  co_return client(connection(std::move(socket)));
}

}  // namespace client

}  // namespace mini_redis
