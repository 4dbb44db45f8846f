// mini-redis's commands (upstream src/cmd/mod.rs).
#include "command.hpp"

#include "../error.hpp"
#include "../parse.hpp"

namespace mini_redis {
namespace {

// Rust's str::to_lowercase for the ASCII letters (other characters are
// kept; see docs/mini_redis.md).
std::string to_lowercase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

command command::from_frame(frame f) {
  parse p(std::move(f));
  const std::string command_name = to_lowercase(value_or_throw(p.next_string()));
  variant_type v = [&]() -> variant_type {
    if (command_name == "get") return cmd::get::parse_frames(p);
    if (command_name == "publish") return cmd::publish::parse_frames(p);
    if (command_name == "set") return cmd::set::parse_frames(p);
    if (command_name == "subscribe") return cmd::subscribe::parse_frames(p);
    if (command_name == "unsubscribe") return cmd::unsubscribe::parse_frames(p);
    if (command_name == "ping") return cmd::ping::parse_frames(p);
    return cmd::unknown(command_name);
  }();
  // An unknown command's arguments are not looked at.
  if (!std::holds_alternative<cmd::unknown>(v)) value_or_throw(p.finish());
  return command(std::move(v));
}

kyoto::task<> command::apply(db& store, connection& dst, shutdown& sd) {
  if (auto* c = std::get_if<cmd::get>(&v_)) co_return co_await c->apply(store, dst);
  if (auto* c = std::get_if<cmd::publish>(&v_)) co_return co_await c->apply(store, dst);
  if (auto* c = std::get_if<cmd::set>(&v_)) co_return co_await c->apply(store, dst);
  if (auto* c = std::get_if<cmd::subscribe>(&v_)) co_return co_await c->apply(store, dst, sd);
  if (auto* c = std::get_if<cmd::ping>(&v_)) co_return co_await c->apply(dst);
  if (auto* c = std::get_if<cmd::unknown>(&v_)) co_return co_await c->apply(dst);
  throw error("`Unsubscribe` is unsupported in this context");
}

bool command::apply_now(db& store, connection& dst) {
  if (auto* c = std::get_if<cmd::get>(&v_)) {
    c->apply_now(store, dst);
    return true;
  }
  if (auto* c = std::get_if<cmd::set>(&v_)) {
    c->apply_now(store, dst);
    return true;
  }
  if (auto* c = std::get_if<cmd::publish>(&v_)) {
    c->apply_now(store, dst);
    return true;
  }
  if (auto* c = std::get_if<cmd::ping>(&v_)) {
    c->apply_now(dst);
    return true;
  }
  if (auto* c = std::get_if<cmd::unknown>(&v_)) {
    c->apply_now(dst);
    return true;
  }
  return false;
}

std::string_view command::get_name() const noexcept {
  return std::visit(
      [](const auto& c) -> std::string_view {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, cmd::get>) return "get";
        if constexpr (std::is_same_v<T, cmd::publish>) return "publish";
        if constexpr (std::is_same_v<T, cmd::set>) return "set";
        if constexpr (std::is_same_v<T, cmd::subscribe>) return "subscribe";
        if constexpr (std::is_same_v<T, cmd::unsubscribe>) return "unsubscribe";
        if constexpr (std::is_same_v<T, cmd::ping>) return "ping";
        if constexpr (std::is_same_v<T, cmd::unknown>) return c.get_name();
      },
      v_);
}

}  // namespace mini_redis
