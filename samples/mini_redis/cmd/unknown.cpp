// mini-redis's answer to an unknown command (upstream src/cmd/unknown.rs).
#include "unknown.hpp"

namespace mini_redis::cmd {

kyoto::task<> unknown::apply(connection& dst) const {
  apply_now(dst);
  co_await dst.write_out_if_full();
}

void unknown::apply_now(connection& dst) const {
  dst.buffer_frame(frame::error{std::string("ERR unknown command '") + command_name_ + "'"});
}

}  // namespace mini_redis::cmd
