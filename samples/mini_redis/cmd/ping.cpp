// mini-redis's PING (upstream src/cmd/ping.rs).
#include "ping.hpp"

namespace mini_redis::cmd {

ping ping::parse_frames(parse& p) {
  auto msg = p.next_bytes();
  if (msg) return ping(std::move(*msg));
  if (msg.error().end_of_stream) return ping();
  throw_parse_error(msg.error());
}

kyoto::task<> ping::apply(connection& dst) {
  apply_now(dst);
  co_await dst.write_out_if_full();
}

void ping::apply_now(connection& dst) {
  dst.buffer_frame(msg_ ? frame(frame::bulk{std::move(*msg_)}) : frame(frame::simple{"PONG"}));
}

frame ping::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("ping"));
  if (msg_) f.push_bulk(*msg_);
  return f;
}

}  // namespace mini_redis::cmd
