// mini-redis's connection module (upstream src/connection.rs).
#include "connection.hpp"

#include "error.hpp"

#include <charconv>
#include <iostream>
#include <span>
#include <system_error>
#include <utility>

namespace mini_redis {
namespace {

// The first read's room: a request of redis-benchmark's or redis-cli's fits
// (so does a pipeline of ten), and an idle connection holds no more.
constexpr std::size_t first_read = 512;
// What later reads reserve once a read has filled its room (upstream's
// 4 KiB buffer).
constexpr std::size_t read_chunk = std::size_t{4} * 1024;
// write_frame() sends what is buffered once it holds this much, so a
// long pipeline of large replies does not pile up.
constexpr std::size_t out_limit = std::size_t{64} * 1024;

}  // namespace

connection::connection(kyoto::net::tcp_stream socket)
    : stream_(std::move(socket)), read_size_(first_read) {
  try {
    stream_.set_nodelay(true);
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
  // Beyond upstream: the frame is copied out whole, once, and its bulk
  // strings are slices of that copy (upstream copies each bulk string: two
  // allocations apiece here). A value SET keeps its command's few header
  // bytes alive with it.
  const kyoto::bytes whole = kyoto::bytes::copy_from_slice(buffer_.as_span().first(len));
  cursor frame_buf(whole.as_span());
  auto parsed = frame::parse(frame_buf, whole);
  if (!parsed) throw error(parsed.error().message);
  consume(len);
  return std::move(*parsed);
}

void connection::consume(std::size_t n) noexcept {
  buffer_.advance(n);
  // A large frame grew the buffer: give the memory back once it is read.
  if (buffer_.empty() && buffer_.capacity() > 16 * read_chunk) buffer_ = kyoto::bytes_mut();
}

bool connection::out_full() const noexcept {
  return out_.size() >= out_limit;
}

kyoto::task<std::optional<frame>> connection::read_frame() {
  for (;;) {
    if (std::optional<frame> f = parse_frame()) co_return f;
    if (!co_await read_more()) co_return std::nullopt;
  }
}

kyoto::task<bool> connection::read_more() {
  if (buffer_.capacity() - buffer_.size() < read_size_ / 4) buffer_.reserve(read_size_);
  // The socket's read, not kyoto::io::read_buf: no coroutine frame.
  const std::span<std::byte> room = buffer_.chunk_mut();
  const std::size_t n = co_await stream_.read(room);
  buffer_.advance_mut(n);
  // A read that filled its room: more is coming, read more at a time.
  if (n == room.size()) read_size_ = read_chunk;
  if (n == 0) {
    // A clean close leaves nothing half-read.
    if (buffer_.empty()) co_return false;
    throw error("connection reset by peer");
  }
  co_return true;
}

void connection::put(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  out_.insert(out_.end(), b.begin(), b.end());
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

void connection::buffer_frame(const frame& f) {
  encode(f);
}

kyoto::task<> connection::write_frame(const frame& f) {
  encode(f);
  if (out_.size() >= out_limit) co_await flush();
}

kyoto::task<> connection::write_out_if_full() {
  if (out_.size() >= out_limit) co_await flush();
}

kyoto::task<> connection::flush() {
  // The socket's write, not write_all: one coroutine frame per flush.
  std::span<const std::byte> rest(out_);
  while (!rest.empty()) {
    const std::size_t n = co_await stream_.write(rest);
    if (n == 0) throw error("failed to write whole buffer");
    rest = rest.subspan(n);
  }
  out_.clear();
  // Keep a large reply's buffer from pinning memory for the connection's
  // lifetime.
  if (out_.capacity() > out_limit) out_ = {};
}

}  // namespace mini_redis
