// mini-redis's frame module (upstream src/frame.rs): check and parse.
#include "frame.hpp"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace mini_redis {
namespace {

using read_error = frame::read_error;

kyoto::unexpected<read_error> incomplete() {
  return kyoto::unexpected(read_error{true, {}});
}
kyoto::unexpected<read_error> invalid(std::string message) {
  return kyoto::unexpected(read_error{false, std::move(message)});
}
kyoto::unexpected<read_error> invalid_format() {
  return invalid("protocol error; invalid frame format");
}

std::byte at(const cursor& src, std::size_t i) noexcept {
  return src.get_ref()[i];
}

bool crlf_at(const cursor& src, std::size_t i) noexcept {
  return at(src, i) == std::byte{'\r'} && at(src, i + 1) == std::byte{'\n'};
}

kyoto::result<std::uint8_t, read_error> peek_u8(const cursor& src) {
  if (src.remaining() == 0) return incomplete();
  return static_cast<std::uint8_t>(at(src, src.position()));
}

kyoto::result<std::uint8_t, read_error> get_u8(cursor& src) {
  if (src.remaining() == 0) return incomplete();
  const auto b = static_cast<std::uint8_t>(at(src, src.position()));
  src.set_position(src.position() + 1);
  return b;
}

kyoto::result<void, read_error> skip(cursor& src, std::size_t n) {
  if (src.remaining() < n) return incomplete();
  src.set_position(src.position() + n);
  return {};
}

// Finds a line: the bytes up to the first CRLF; the cursor moves past it.
kyoto::result<std::span<const std::byte>, read_error> get_line(cursor& src) {
  const std::span<const std::byte> buf = src.get_ref();
  const std::size_t start = src.position();
  // memchr for each '\r' (vectorised), then a look at the byte after it.
  std::size_t i = start;
  while (i + 1 < buf.size()) {
    const void* cr = std::memchr(buf.data() + i, '\r', buf.size() - 1 - i);
    if (cr == nullptr) break;
    i = static_cast<std::size_t>(static_cast<const std::byte*>(cr) - buf.data());
    if (buf[i + 1] == std::byte{'\n'}) {
      src.set_position(i + 2);
      return buf.subspan(start, i - start);
    }
    ++i;
  }
  return incomplete();
}

// Reads a CRLF-terminated decimal.
kyoto::result<std::uint64_t, read_error> get_decimal(cursor& src) {
  auto line = get_line(src);
  if (!line) return kyoto::unexpected(std::move(line).error());
  const std::optional<std::uint64_t> n = atoi_u64(*line);
  if (!n) return invalid_format();
  return *n;
}

std::string type_byte_error(std::uint8_t actual) {
  // Rust's `{actual}` of a u8 prints its decimal value.
  return std::string("protocol error; invalid frame type byte `") + std::to_string(actual) + "`";
}

bool line_is_minus_one(std::span<const std::byte> line) noexcept {
  return line.size() == 2 && line[0] == std::byte{'-'} && line[1] == std::byte{'1'};
}

std::string line_string(std::span<const std::byte> line) {
  return {reinterpret_cast<const char*>(line.data()), line.size()};
}

/// After a '$': the length of the bulk string at `src` once its data and
/// CRLF are all buffered (the cursor left on the data), or std::nullopt for
/// the null bulk string "$-1" (the cursor past it). Shared by check() and
/// parse(). Beyond upstream: a length past max_frame_size is invalid at
/// once (so `len + 2` cannot overflow), and the data must end in CRLF
/// (upstream skips any two bytes).
kyoto::result<std::optional<std::size_t>, read_error> bulk_header(cursor& src) {
  auto next = peek_u8(src);
  if (!next) return kyoto::unexpected(std::move(next).error());
  if (*next == '-') {
    auto line = get_line(src);
    if (!line) return kyoto::unexpected(std::move(line).error());
    if (!line_is_minus_one(*line)) return invalid_format();
    return std::optional<std::size_t>();
  }
  auto len = get_decimal(src);
  if (!len) return kyoto::unexpected(std::move(len).error());
  if (*len > max_frame_size) return invalid("protocol error; frame too large");
  const auto n = static_cast<std::size_t>(*len);
  if (src.remaining() < n + 2) return incomplete();
  if (!crlf_at(src, src.position() + n)) return invalid_format();
  return std::optional<std::size_t>(n);
}

}  // namespace

std::optional<std::uint64_t> atoi_u64(std::span<const std::byte> text) noexcept {
  std::uint64_t n = 0;
  std::size_t digits = 0;
  for (const std::byte b : text) {
    const auto c = static_cast<unsigned char>(b);
    if (c < '0' || c > '9') break;
    const std::uint64_t d = c - '0';
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;  // overflow
    n = n * 10 + d;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return n;
}

bool is_utf8(std::span<const std::byte> b) noexcept {
  std::size_t i = 0;
  const std::size_t n = b.size();
  // ASCII, 8 bytes at a time: what keys and command names are.
  while (i + 8 <= n) {
    std::uint64_t word;
    std::memcpy(&word, b.data() + i, sizeof word);
    if ((word & 0x8080808080808080) != 0) break;
    i += 8;
  }
  auto cont = [&](std::size_t k) {
    return k < n && (static_cast<unsigned char>(b[k]) & 0xC0) == 0x80;
  };
  while (i < n) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return false;
      const auto c1 = static_cast<unsigned char>(b[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) return false;   // overlong
      if (c == 0xED && c1 >= 0xA0) return false;  // surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return false;
      const auto c1 = static_cast<unsigned char>(b[i + 1]);
      if (c == 0xF0 && c1 < 0x90) return false;   // overlong
      if (c == 0xF4 && c1 >= 0x90) return false;  // past U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

void frame::push_bulk(kyoto::bytes b) {
  auto* a = std::get_if<array>(&v_);
  if (a == nullptr) throw std::logic_error("mini_redis::frame::push_bulk: not an array frame");
  a->value.emplace_back(bulk{std::move(b)});
}

void frame::push_int(std::uint64_t value) {
  auto* a = std::get_if<array>(&v_);
  if (a == nullptr) throw std::logic_error("mini_redis::frame::push_int: not an array frame");
  a->value.emplace_back(integer{value});
}

kyoto::result<void, read_error> frame::check(cursor& src, std::size_t depth) {
  auto type = get_u8(src);
  if (!type) return kyoto::unexpected(std::move(type).error());
  switch (*type) {
    case '+':
    case '-': {
      auto line = get_line(src);
      if (!line) return kyoto::unexpected(std::move(line).error());
      return {};
    }
    case ':': {
      auto n = get_decimal(src);
      if (!n) return kyoto::unexpected(std::move(n).error());
      return {};
    }
    case '$': {
      auto header = bulk_header(src);
      if (!header) return kyoto::unexpected(std::move(header).error());
      const std::optional<std::size_t> len = *header;
      if (!len.has_value()) return {};
      return skip(src, *len + 2);
    }
    case '*': {
      if (depth >= max_depth) return invalid("protocol error; frame nested too deeply");
      auto len = get_decimal(src);
      if (!len) return kyoto::unexpected(std::move(len).error());
      for (std::uint64_t i = 0; i < *len; ++i) {
        auto r = check(src, depth + 1);
        if (!r) return r;
      }
      return {};
    }
    default:
      return invalid(type_byte_error(*type));
  }
}

kyoto::result<frame, read_error> frame::parse(cursor& src, const kyoto::bytes* backing,
                                              std::size_t depth) {
  auto type = get_u8(src);
  if (!type) return kyoto::unexpected(std::move(type).error());
  switch (*type) {
    case '+':
    case '-': {
      auto line = get_line(src);
      if (!line) return kyoto::unexpected(std::move(line).error());
      if (!is_utf8(*line)) return invalid_format();
      if (*type == '+') return frame(simple{line_string(*line)});
      return frame(error{line_string(*line)});
    }
    case ':': {
      auto n = get_decimal(src);
      if (!n) return kyoto::unexpected(std::move(n).error());
      return frame(integer{*n});
    }
    case '$': {
      auto header = bulk_header(src);
      if (!header) return kyoto::unexpected(std::move(header).error());
      const std::optional<std::size_t> len = *header;
      if (!len.has_value()) return frame(null{});
      const std::size_t n = *len;
      kyoto::bytes data =
          backing != nullptr
              ? backing->slice(src.position(), src.position() + n)
              : kyoto::bytes::copy_from_slice(src.get_ref().subspan(src.position(), n));
      src.set_position(src.position() + n + 2);
      return frame(bulk{std::move(data)});
    }
    case '*': {
      if (depth >= max_depth) return invalid("protocol error; frame nested too deeply");
      auto len = get_decimal(src);
      if (!len) return kyoto::unexpected(std::move(len).error());
      // Each element takes at least 3 bytes, so a checked frame's count is
      // bounded by what is buffered: reserving it is safe.
      if (*len > src.remaining() / 3) return incomplete();
      std::vector<frame> out;
      out.reserve(static_cast<std::size_t>(*len));
      for (std::uint64_t i = 0; i < *len; ++i) {
        auto f = parse(src, backing, depth + 1);
        if (!f) return kyoto::unexpected(std::move(f).error());
        out.push_back(std::move(*f));
      }
      return frame(array{std::move(out)});
    }
    default:
      // Upstream: unimplemented!() (check() has refused it already).
      return invalid(type_byte_error(*type));
  }
}

bool frame::operator==(std::string_view s) const noexcept {
  if (const auto* p = std::get_if<simple>(&v_)) return p->value == s;
  if (const auto* p = std::get_if<bulk>(&v_)) return p->value.as_string_view() == s;
  return false;
}

std::string debug_bytes(std::span<const std::byte> b) {
  std::string out = "b\"";
  for (const std::byte x : b) {
    const auto c = static_cast<unsigned char>(x);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        }
    }
  }
  out += '"';
  return out;
}

std::string frame::to_string() const {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, simple>) {
          return v.value;
        } else if constexpr (std::is_same_v<T, error>) {
          return std::string("error: ") + v.value;
        } else if constexpr (std::is_same_v<T, integer>) {
          return std::to_string(v.value);
        } else if constexpr (std::is_same_v<T, bulk>) {
          if (is_utf8(v.value.as_span())) return std::string(v.value.as_string_view());
          return debug_bytes(v.value.as_span());
        } else if constexpr (std::is_same_v<T, null>) {
          return "(nil)";
        } else {
          std::string out;
          for (std::size_t i = 0; i < v.value.size(); ++i) {
            if (i > 0) out += ' ';
            out += v.value[i].to_string();
          }
          return out;
        }
      },
      v_);
}

std::string frame::debug_string() const {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, simple>) {
          return std::string("Simple(\"") + v.value + "\")";
        } else if constexpr (std::is_same_v<T, error>) {
          return std::string("Error(\"") + v.value + "\")";
        } else if constexpr (std::is_same_v<T, integer>) {
          return std::string("Integer(") + std::to_string(v.value) + ")";
        } else if constexpr (std::is_same_v<T, bulk>) {
          return std::string("Bulk(") + debug_bytes(v.value.as_span()) + ")";
        } else if constexpr (std::is_same_v<T, null>) {
          return std::string("Null");
        } else {
          std::string out = "Array([";
          for (std::size_t i = 0; i < v.value.size(); ++i) {
            if (i > 0) out += ", ";
            out += v.value[i].debug_string();
          }
          return out + "])";
        }
      },
      v_);
}

}  // namespace mini_redis
