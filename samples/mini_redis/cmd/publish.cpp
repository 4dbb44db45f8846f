// mini-redis's PUBLISH (upstream src/cmd/publish.rs).
#include "publish.hpp"

namespace mini_redis::cmd {

publish publish::parse_frames(parse& p) {
  std::string channel = value_or_throw(p.next_string());
  kyoto::bytes message = value_or_throw(p.next_bytes());
  return publish(std::move(channel), std::move(message));
}

kyoto::task<> publish::apply(db& store, connection& dst) {
  apply_now(store, dst);
  co_await dst.write_out_if_full();
}

void publish::apply_now(db& store, connection& dst) {
  const std::size_t num_subscribers = store.publish(channel_, std::move(message_));
  dst.buffer_frame(frame::integer{num_subscribers});
}

frame publish::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("publish"));
  f.push_bulk(kyoto::bytes::copy_from_slice(channel_));
  f.push_bulk(message_);
  return f;
}

}  // namespace mini_redis::cmd
