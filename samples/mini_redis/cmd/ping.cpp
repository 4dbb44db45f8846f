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
  const frame response = msg_ ? frame(frame::bulk{std::move(*msg_)}) : frame(frame::simple{"PONG"});
  co_await dst.write_frame(response);
}

frame ping::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("ping"));
  if (msg_) f.push_bulk(*msg_);
  return f;
}

}  // namespace mini_redis::cmd
