// GET and SET straight from the read buffer (see fast_path.hpp).
#include "fast_path.hpp"

#include <kyoto/bytes.hpp>

#include <optional>
#include <string_view>

namespace mini_redis {
namespace {

// A reader of the request's bytes; every miss gives false and the caller
// leaves the request to the general path.
struct reader {
  const char* p;
  const char* end;

  bool literal(std::string_view s) noexcept {
    if (static_cast<std::size_t>(end - p) < s.size() || std::string_view(p, s.size()) != s)
      return false;
    p += s.size();
    return true;
  }

  // `$<n>\r\n`, n without sign or leading zero, at most 9 digits (what a
  // request this path takes can hold).
  bool bulk_length(std::size_t& n) noexcept {
    if (end - p < 4 || *p != '$') return false;
    ++p;
    const char* digits = p;
    n = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      n = n * 10 + static_cast<std::size_t>(*p - '0');
      ++p;
    }
    const auto count = p - digits;
    if (count == 0 || count > 9 || (count > 1 && *digits == '0')) return false;
    return literal("\r\n");
  }

  // `$<n>\r\n<n bytes>\r\n`.
  bool bulk(std::string_view& out) noexcept {
    std::size_t n;
    if (!bulk_length(n)) return false;
    if (static_cast<std::size_t>(end - p) < n + 2 || p[n] != '\r' || p[n + 1] != '\n') return false;
    out = std::string_view(p, n);
    p += n + 2;
    return true;
  }

  // `$3\r\n<name>\r\n`, the name in any case (upstream lowercases it).
  bool name(std::string_view lower) noexcept {
    if (!literal("$3\r\n") || end - p < 5) return false;
    for (std::size_t i = 0; i < 3; ++i)
      if ((p[i] | 0x20) != lower[i]) return false;
    if (p[3] != '\r' || p[4] != '\n') return false;
    p += 5;
    return true;
  }
};

// Upstream's keys are UTF-8 strings; plain ASCII needs no further check
// (anything else goes the general way, which checks it).
bool is_ascii(std::string_view s) noexcept {
  unsigned char any = 0;
  for (const char c : s)
    any |= static_cast<unsigned char>(c);
  return any < 0x80;
}

}  // namespace

std::size_t apply_fast(std::span<const std::byte> buf, db& store, connection& dst) {
  const char* begin = reinterpret_cast<const char*>(buf.data());
  reader r{begin, begin + buf.size()};
  std::string_view key;
  if (r.literal("*2\r\n")) {
    if (!r.name("get") || !r.bulk(key) || !is_ascii(key)) return 0;
    if (std::optional<kyoto::bytes> value = store.get(key)) {
      dst.buffer_frame(frame::bulk{std::move(*value)});
    } else {
      dst.buffer_frame(frame::null{});
    }
  } else if (r.literal("*3\r\n")) {
    std::string_view value;
    if (!r.name("set") || !r.bulk(key) || !is_ascii(key) || !r.bulk(value)) return 0;
    store.set(key, kyoto::bytes::copy_from_slice(value));
    dst.buffer_frame(frame::simple{"OK"});
  } else {
    return 0;
  }
  return static_cast<std::size_t>(r.p - begin);
}

}  // namespace mini_redis
