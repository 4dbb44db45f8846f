// mini-redis's parse module (upstream src/parse.rs).
#include "parse.hpp"

#include "error.hpp"

#include <utility>

namespace mini_redis {
namespace {

kyoto::unexpected<parse_error> other(std::string message) {
  return kyoto::unexpected(parse_error{false, std::move(message)});
}

}  // namespace

parse::parse(frame f) {
  auto* a = std::get_if<frame::array>(&f.get());
  if (a == nullptr)
    throw error(std::string("protocol error; expected array, got ") + f.debug_string());
  parts_ = std::move(a->value);
}

kyoto::result<std::string, parse_error> parse::next_string() {
  if (next_ == parts_.size()) {
    return kyoto::unexpected(parse_error{true, {}});
  }
  frame& f = parts_[next_++];
  if (auto* s = std::get_if<frame::simple>(&f.get())) return std::move(s->value);
  if (auto* b = std::get_if<frame::bulk>(&f.get())) {
    if (!is_utf8(b->value.as_span())) return other("protocol error; invalid string");
    return std::string(b->value.as_string_view());
  }
  return other(std::string("protocol error; expected simple frame or bulk frame, got ") +
               f.debug_string());
}

kyoto::result<kyoto::bytes, parse_error> parse::next_bytes() {
  if (next_ == parts_.size()) {
    return kyoto::unexpected(parse_error{true, {}});
  }
  frame& f = parts_[next_++];
  if (auto* s = std::get_if<frame::simple>(&f.get())) return kyoto::bytes(std::move(s->value));
  if (auto* b = std::get_if<frame::bulk>(&f.get())) return std::move(b->value);
  return other(std::string("protocol error; expected simple frame or bulk frame, got ") +
               f.debug_string());
}

kyoto::result<std::uint64_t, parse_error> parse::next_int() {
  static constexpr const char* msg = "protocol error; invalid number";
  if (next_ == parts_.size()) {
    return kyoto::unexpected(parse_error{true, {}});
  }
  frame& f = parts_[next_++];
  std::optional<std::uint64_t> n;
  if (auto* i = std::get_if<frame::integer>(&f.get())) return i->value;
  if (auto* s = std::get_if<frame::simple>(&f.get())) {
    n = atoi_u64(std::as_bytes(std::span(s->value.data(), s->value.size())));
  } else if (auto* b = std::get_if<frame::bulk>(&f.get())) {
    n = atoi_u64(b->value.as_span());
  } else {
    return other(std::string("protocol error; expected int frame but got ") + f.debug_string());
  }
  if (!n) return other(msg);
  return *n;
}

kyoto::result<void, parse_error> parse::finish() {
  if (next_ == parts_.size()) return {};
  return other("protocol error; expected end of frame, but there was more");
}

void throw_parse_error(const parse_error& e) {
  if (e.end_of_stream) throw error("protocol error; unexpected end of stream");
  throw error(e.message);
}

}  // namespace mini_redis
