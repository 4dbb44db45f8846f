// mini-redis's connection module (upstream src/connection.rs).
#include "connection.hpp"

#include "error.hpp"

#include <kyoto/io/read_buf.hpp>

#include <charconv>
#include <iostream>
#include <span>
#include <system_error>
#include <utility>

namespace mini_redis {
namespace {

// What read_frame() reserves when the read buffer has little room left.
constexpr std::size_t read_chunk = std::size_t{4} * 1024;

}  // namespace

connection::connection(kyoto::net::tcp_stream socket)
    : stream_(std::move(socket)), buffer_(kyoto::bytes_mut::with_capacity(read_chunk)) {
  try {
    stream_.get_mut().set_nodelay(true);
  } catch (const std::system_error& e) {
    // A peer already gone: its first read or write reports it; a missing
    // TCP_NODELAY only costs latency.
    std::cerr << "mini-redis: TCP_NODELAY: " << e.what() << '\n';
  }
}

std::optional<frame> connection::parse_frame() {
  cursor buf(buffer_.as_span());
  // check() first: cheap, allocation-free, and tells incomplete from invalid.
  auto checked = frame::check(buf);
  if (!checked) {
    if (checked.error().incomplete) {
      // Beyond upstream: a frame may not grow past the limit.
      if (buffer_.size() >= max_frame_size) throw error("protocol error; frame too large");
      return std::nullopt;
    }
    throw error(checked.error().message);
  }
  const std::size_t len = buf.position();
  buf.set_position(0);
  auto parsed = frame::parse(buf);
  if (!parsed) throw error(parsed.error().message);
  buffer_.advance(len);
  // A large frame grew the buffer: give the memory back once it is read.
  if (buffer_.empty() && buffer_.capacity() > 16 * read_chunk) {
    buffer_ = kyoto::bytes_mut::with_capacity(read_chunk);
  }
  return std::move(*parsed);
}

kyoto::task<std::optional<frame>> connection::read_frame() {
  for (;;) {
    if (std::optional<frame> f = parse_frame()) co_return f;
    if (buffer_.capacity() - buffer_.size() < read_chunk / 4) buffer_.reserve(read_chunk);
    if (co_await kyoto::io::read_buf(stream_, buffer_) == 0) {
      // A clean close leaves nothing half-read.
      if (buffer_.empty()) co_return std::nullopt;
      throw error("connection reset by peer");
    }
  }
}

void connection::put(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  scratch_.insert(scratch_.end(), b.begin(), b.end());
}

void connection::encode_decimal(std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  put("\r\n");
}

void connection::encode_value(const frame& f) {
  std::visit(
      [this](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, frame::simple>) {
          put("+");
          put(v.value);
          put("\r\n");
        } else if constexpr (std::is_same_v<T, frame::error>) {
          put("-");
          put(v.value);
          put("\r\n");
        } else if constexpr (std::is_same_v<T, frame::integer>) {
          put(":");
          encode_decimal(v.value);
        } else if constexpr (std::is_same_v<T, frame::null>) {
          put("$-1\r\n");
        } else if constexpr (std::is_same_v<T, frame::bulk>) {
          put("$");
          encode_decimal(v.value.size());
          put(v.value.as_string_view());
          put("\r\n");
        } else {
          // Upstream cannot encode a nested array (unreachable!()); this
          // port can.
          encode(frame(v));
        }
      },
      f.get());
}

void connection::encode(const frame& f) {
  if (const auto* a = std::get_if<frame::array>(&f.get())) {
    put("*");
    encode_decimal(a->value.size());
    for (const frame& entry : a->value)
      encode_value(entry);
  } else {
    encode_value(f);
  }
}

kyoto::task<> connection::write_frame(const frame& f) {
  scratch_.clear();
  encode(f);
  co_await stream_.write_all(std::span<const std::byte>(scratch_));
  // Keep a large frame's scratch from pinning memory for the connection's
  // lifetime.
  if (scratch_.capacity() > std::size_t{64} * 1024) scratch_ = {};
}

kyoto::task<> connection::flush() {
  co_await stream_.flush();
}

}  // namespace mini_redis
