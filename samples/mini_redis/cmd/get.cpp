// mini-redis's GET (upstream src/cmd/get.rs).
#include "get.hpp"

namespace mini_redis::cmd {

get get::parse_frames(parse& p) {
  return get(value_or_throw(p.next_string()));
}

kyoto::task<> get::apply(const db& store, connection& dst) const {
  apply_now(store, dst);
  co_await dst.write_out_if_full();
}

void get::apply_now(const db& store, connection& dst) const {
  if (std::optional<kyoto::bytes> value = store.get(key_)) {
    dst.buffer_frame(frame::bulk{std::move(*value)});
  } else {
    dst.buffer_frame(frame::null{});
  }
}

frame get::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("get"));
  f.push_bulk(kyoto::bytes::copy_from_slice(key_));
  return f;
}

}  // namespace mini_redis::cmd
