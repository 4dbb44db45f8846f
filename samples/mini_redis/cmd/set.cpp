// mini-redis's SET (upstream src/cmd/set.rs).
#include "set.hpp"

#include "../error.hpp"

#include <kyoto/time/sleep.hpp>

#include <cstdint>
#include <limits>

namespace mini_redis::cmd {
namespace {

bool equals_ignore_case(std::string_view a, std::string_view upper) noexcept {
  if (a.size() != upper.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

constexpr auto max_ms = std::numeric_limits<std::chrono::milliseconds::rep>::max();

std::chrono::milliseconds from_secs(std::uint64_t secs) {
  // Upstream computes `Instant::now() + Duration::from_secs(secs)`, which
  // panics (closing the connection) past the clock's i64 seconds.
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(kyoto::time::clock::now().time_since_epoch())
          .count();
  if (secs > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - uptime)) {
    throw error("overflow when adding duration to instant");
  }
  if (secs > static_cast<std::uint64_t>(max_ms / 1000)) return std::chrono::milliseconds(max_ms);
  return std::chrono::milliseconds(static_cast<std::int64_t>(secs) * 1000);
}

std::chrono::milliseconds from_millis(std::uint64_t ms) {
  if (ms > static_cast<std::uint64_t>(max_ms)) return std::chrono::milliseconds(max_ms);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace

set set::parse_frames(parse& p) {
  std::string key = value_or_throw(p.next_string());
  kyoto::bytes value = value_or_throw(p.next_bytes());
  std::optional<std::chrono::milliseconds> expire;
  auto option = p.next_string();
  if (option) {
    if (equals_ignore_case(*option, "EX")) {
      expire = from_secs(value_or_throw(p.next_int()));
    } else if (equals_ignore_case(*option, "PX")) {
      expire = from_millis(value_or_throw(p.next_int()));
    } else {
      throw error("currently `SET` only supports the expiration option");
    }
  } else if (!option.error().end_of_stream) {
    throw_parse_error(option.error());
  }
  return set(std::move(key), std::move(value), expire);
}

kyoto::task<> set::apply(db& store, connection& dst) {
  apply_now(store, dst);
  co_await dst.write_out_if_full();
}

void set::apply_now(db& store, connection& dst) {
  store.set(std::move(key_), std::move(value_), expire_);
  dst.buffer_frame(frame::simple{"OK"});
}

frame set::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("set"));
  f.push_bulk(kyoto::bytes::copy_from_slice(key_));
  f.push_bulk(value_);
  if (expire_) {
    f.push_bulk(kyoto::bytes::from_static("px"));
    f.push_bulk(kyoto::bytes(std::to_string(expire_->count())));
  }
  return f;
}

}  // namespace mini_redis::cmd
